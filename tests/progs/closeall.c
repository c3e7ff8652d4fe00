/* A program that closes every descriptor from 3 up, as daemons and some launchers do, then
 * connects again. Usage: closeall PORT MODE, MODE one of:
 *   libc  close_range(3, ~0U, 0) through libc, then a close() sweep up to the fd limit
 *   raw   the close_range system call itself, which no hook can see
 * The shim must keep working: the connection made after the sweep is reported. */
#include "common.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int port = atoi(argv[1]);
	/* First connection: the shim's reporter is running (and holds its descriptors) before the
	 * sweep. */
	if (http_get(port) <= 0)
		return 1;
	usleep(200000);
	if (strcmp(argv[2], "raw") == 0) {
		if (syscall(SYS_close_range, 3u, ~0u, 0) != 0) {
			perror("close_range syscall");
			return 1;
		}
	} else {
		if (close_range(3, ~0u, 0) != 0) {
			perror("close_range");
			return 1;
		}
		struct rlimit rl;
		getrlimit(RLIMIT_NOFILE, &rl);
		for (rlim_t fd = 3; fd < rl.rlim_cur && fd < 65536; fd++)
			close((int)fd);
	}
	/* Second connection, after the sweep: give the shim time to notice a raw close. */
	if (http_get(port) <= 0)
		return 1;
	usleep(strcmp(argv[2], "raw") == 0 ? 1500000 : 0);
	if (http_get(port) <= 0)
		return 1;
	return 0;
}
