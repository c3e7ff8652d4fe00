/* A preloaded library whose constructor makes a TCP connection: with it before or after ringside
 * in LD_PRELOAD, the hooks may run before ringside's constructor, and must pass through safely. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void early(void) {
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(getenv("EARLY_PORT")))};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int r = connect(fd, (void *)&a, sizeof a);
	write(fd, "GET / HTTP/1.0\r\n\r\n", 18);
	char b[256]; ssize_t n = read(fd, b, sizeof b);
	close(fd);
	if (r != 0 || n <= 0)
		fprintf(stderr, "early: connect=%d read=%zd\n", r, n);
	else
		fprintf(stderr, "early: ok\n");
}
