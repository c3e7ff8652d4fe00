/* Sends one large HTTP request on a non-blocking socket with a tiny send buffer, so most writes
 * are partial and many fail with EAGAIN, and checks the accounting a program relies on: every
 * call returns at most what it was asked to write, and the returns add up to exactly the request.
 * Usage: partial_client PORT write|writev|send BODY_BYTES. Prints the calls and partial writes;
 * exit 0 when the accounting holds and the server answers 200. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	int port = atoi(argv[1]);
	const char *mode = argv[2];
	size_t body = (size_t)atol(argv[3]);
	char head[256];
	int hl = snprintf(head, sizeof(head),
			  "POST /upload HTTP/1.1\r\nHost: peer\r\nContent-Length: %zu\r\n\r\n", body);
	size_t total = (size_t)hl + body;
	char *req = malloc(total);
	memcpy(req, head, (size_t)hl);
	for (size_t i = 0; i < body; i++)
		req[hl + i] = (char)('a' + i % 26);

	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int small = 4096;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		return 1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

	size_t sent = 0;
	long calls = 0, partial = 0, again = 0;
	while (sent < total) {
		size_t want = total - sent;
		ssize_t r;
		if (strcmp(mode, "writev") == 0) {
			/* The head and the body in separate iovecs while the head is not all out. */
			struct iovec v[2];
			int n = 0;
			if (sent < (size_t)hl) {
				v[n++] = (struct iovec){req + sent, (size_t)hl - sent};
				v[n++] = (struct iovec){req + hl, body};
			} else {
				v[n++] = (struct iovec){req + sent, want};
			}
			r = writev(fd, v, n);
		} else if (strcmp(mode, "send") == 0) {
			r = send(fd, req + sent, want, MSG_NOSIGNAL);
		} else {
			r = write(fd, req + sent, want);
		}
		calls++;
		if (r < 0) {
			if (errno != EAGAIN) {
				perror("write");
				return 1;
			}
			again++;
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			poll(&p, 1, 5000);
			continue;
		}
		if ((size_t)r > want) {
			fprintf(stderr, "a write returned %zd for %zu bytes\n", r, want);
			return 1;
		}
		if ((size_t)r < want)
			partial++;
		sent += (size_t)r;
	}
	printf("%s: %ld calls, %ld partial, %ld EAGAIN, %zu bytes\n", mode, calls, partial, again,
	       sent);
	/* The reply: read to the close. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	char reply[4096];
	size_t have = 0;
	ssize_t r;
	while (have < sizeof(reply) - 1 && (r = read(fd, reply + have, sizeof(reply) - 1 - have)) > 0)
		have += (size_t)r;
	reply[have] = 0;
	if (strncmp(reply, "HTTP/1.1 200", 12) != 0) {
		fprintf(stderr, "reply: %s\n", reply);
		return 1;
	}
	return sent == total && partial > 0 ? 0 : 1;
}
