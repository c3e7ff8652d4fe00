/* A C11 thread (thrd_create, which glibc implements past the pthread_create hook) makes an HTTP
 * request: its CLIENT span must continue the context the creating thread holds (TRACEPARENT).
 *   thrd_connect PORT     exit 0 when the request got an answer */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <threads.h>
#include <unistd.h>

static int port;

static int get(void *arg)
{
	(void)arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		return 1;
	static const char req[] = "GET /index.html HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1))
		return 1;
	char buf[4096], first[8] = "";
	ssize_t n, total = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (total == 0)
			memcpy(first, buf, (size_t)(n < 7 ? n : 7));
		total += n;
	}
	close(fd);
	return total > 0 && !strncmp(first, "HTTP/1.", 7) ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	port = atoi(argv[1]);
	thrd_t t;
	int res = 1;
	if (thrd_create(&t, get, NULL) != thrd_success || thrd_join(t, &res) != thrd_success)
		return 1;
	return res;
}
