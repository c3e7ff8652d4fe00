/* fork without exec: parent and children all connect. A second thread keeps connecting and
 * closing the whole time, so forks happen while it is inside the shim's hooks; no child may hang.
 * Usage: fork_connect PORT CHILDREN. Prints "parent PID" first. Exit 0 when every child exited 0
 * in time. */
#include "common.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

static int port;
static atomic_bool stop;

static void *busy(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		http_get(port);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	port = atoi(argv[1]);
	int children = atoi(argv[2]);
	/* Which process is the parent (pids wrap: the lowest is not always it); flushed before any
	 * fork, so no child prints it again. */
	printf("parent %d\n", (int)getpid());
	fflush(stdout);
	pthread_t t;
	pthread_create(&t, NULL, busy, NULL);
	int failed = 0;
	for (int i = 0; i < children; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			alarm(20); /* a deadlocked child dies of SIGALRM and fails the test */
			exit(http_get(port) > 0 ? 0 : 1); /* exit(), not _exit(): flushes */
		}
		/* Wait up to 20 s for this child. */
		int status = 0;
		for (int ms = 0; ms < 20000; ms += 10) {
			if (waitpid(pid, &status, WNOHANG) == pid)
				break;
			struct timespec ts = {0, 10000000};
			nanosleep(&ts, NULL);
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "child %d failed (status 0x%x)\n", pid, status);
			kill(pid, SIGKILL);
			failed++;
		}
	}
	atomic_store(&stop, true);
	pthread_join(t, NULL);
	if (http_get(port) <= 0)
		failed++;
	return failed ? 1 : 0;
}
