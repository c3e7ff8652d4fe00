/* Makes N TCP connections to a listener of its own, as fast as it can, on one thread: with a tiny
 * ring (RINGSIDE_RING_KB=16) most of their spans cannot fit, and the shim must say how many it
 * lost. Usage: burst_connect N */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	int n = atoi(argv[1]);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(a);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 4096) ||
	    getsockname(l, (struct sockaddr *)&a, &len)) {
		perror("listen");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
			perror("connect");
			return 1;
		}
		close(fd);
		if (i % 64 == 63) { /* keep the backlog from filling: accept and close */
			int c;
			while ((c = accept(l, NULL, NULL)) >= 0)
				close(c);
		}
	}
	return 0;
}
