/* vfork then execve with an environment of the caller's own that lacks LD_PRELOAD and every
 * RINGSIDE_ setting; the shim must put them back. Usage: vfork_exec CMD ARGS... */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	char *env[] = {"PATH=/usr/bin:/bin", "VFORK_TEST=1", NULL};
	pid_t pid = vfork();
	if (pid == 0) {
		execve(argv[1], argv + 1, env);
		_exit(127);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
