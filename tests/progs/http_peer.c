/* Both ends of HTTP/1.x exchanges that real clients and servers rarely produce together, to check
 * every framing the shim follows.
 *   http_peer serve PORT [bytewise]   answers until killed; bytewise reads and writes one byte per
 *                                     call. Paths: /cl (Content-Length), /chunked (extensions and
 *                                     a trailer), /close (HTTP/1.0, body up to the close), /404,
 *                                     /500, /head-me (answers HEAD with a length and no body).
 *   http_peer client PORT MODE        MODE pipelined: three requests in one write, then reads to
 *                                     the close; bytewise: writes its request and reads the reply
 *                                     one byte per call; http10: an HTTP/1.0 request answered
 *                                     up to the close; head: a HEAD request then a GET on the
 *                                     same connection.
 * The client checks the replies it gets; exit 0 when they are right. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static bool bytewise;

static void on_signal(int sig)
{
	(void)sig;
}

static int write_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t r = write(fd, b, bytewise ? 1 : n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static int answer(int fd, const char *req, size_t len, bool *close_after)
{
	char path[256] = "";
	char method[16] = "";
	sscanf(req, "%15s %255s", method, path);
	*close_after = memmem(req, len, "Connection: close", 17) != NULL;
	if (strcmp(path, "/cl") == 0) {
		const char *r = "HTTP/1.1 200 OK\r\nSet-Cookie: session=SECRET-SET-COOKIE\r\n"
				"Content-Length: 5\r\n\r\nhello";
		return write_all(fd, r, strlen(r));
	}
	if (strcmp(path, "/chunked") == 0) {
		const char *r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				"4;name=value\r\nabcd\r\n6\r\nefghij\r\n0\r\nX-Checksum: 10\r\n\r\n";
		return write_all(fd, r, strlen(r));
	}
	if (strcmp(path, "/close") == 0) {
		const char *r = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nup to the close";
		*close_after = true;
		return write_all(fd, r, strlen(r));
	}
	if (strcmp(path, "/404") == 0)
		return write_all(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno", 47);
	if (strcmp(path, "/500") == 0)
		return write_all(fd, "HTTP/1.1 500 Oops\r\nContent-Length: 3\r\n\r\nbad", 43);
	if (strcmp(path, "/head-me") == 0) {
		if (strcmp(method, "HEAD") == 0)
			return write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", 41);
		return write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nget", 41);
	}
	return write_all(fd, "HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n", 39);
}

static void serve_conn(int fd)
{
	char buf[65536];
	size_t have = 0;
	for (;;) {
		ssize_t r = read(fd, buf + have, bytewise ? 1 : sizeof(buf) - have);
		if (r <= 0)
			break;
		have += (size_t)r;
		/* Answer every complete request in the buffer, in order (pipelining). */
		char *end;
		while ((end = memmem(buf, have, "\r\n\r\n", 4))) {
			size_t len = (size_t)(end + 4 - buf);
			bool close_after;
			if (answer(fd, buf, len, &close_after) < 0 || close_after) {
				close(fd);
				return;
			}
			memmove(buf, buf + len, have - len);
			have -= len;
		}
		if (have == sizeof(buf))
			break;
	}
	close(fd);
}

static int serve(int port)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 16)) {
		perror("listen");
		return 1;
	}
	for (;;) {
		int fd = accept(l, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				break;
			continue;
		}
		serve_conn(fd);
	}
	return 0;
}

static int connect_to(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

/* Reads to the close; returns the bytes read. */
static size_t read_all(int fd, char *buf, size_t cap)
{
	size_t have = 0;
	ssize_t r;
	while (have < cap - 1 && (r = read(fd, buf + have, bytewise ? 1 : cap - 1 - have)) > 0)
		have += (size_t)r;
	buf[have] = 0;
	return have;
}

static int expect(const char *got, const char *want)
{
	if (strstr(got, want))
		return 0;
	fprintf(stderr, "reply lacks \"%s\":\n%s\n", want, got);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int port = atoi(argv[2]);
	if (strcmp(argv[1], "serve") == 0) {
		bytewise = argc > 3 && strcmp(argv[3], "bytewise") == 0;
		signal(SIGPIPE, SIG_IGN);
		/* SIGINT interrupts accept (no SA_RESTART): main returns, exit flushes the shim. */
		struct sigaction sa = {.sa_handler = on_signal};
		sigaction(SIGINT, &sa, NULL);
		return serve(port);
	}
	if (argc < 4)
		return 2;
	const char *mode = argv[3];
	static char buf[65536];
	int fd = connect_to(port), bad = 0;
	if (strcmp(mode, "pipelined") == 0) {
		const char *reqs = "GET /cl HTTP/1.1\r\nHost: peer\r\nAuthorization: Bearer "
				   "SECRET-AUTHORIZATION\r\nCookie: c=SECRET-COOKIE\r\n\r\n"
				   "GET /chunked HTTP/1.1\r\nHost: peer\r\n\r\n"
				   "GET /404 HTTP/1.1\r\nHost: peer\r\nConnection: close\r\n\r\n";
		if (write_all(fd, reqs, strlen(reqs)))
			return 1;
		read_all(fd, buf, sizeof(buf));
		bad += expect(buf, "hello") + expect(buf, "efghij") + expect(buf, "404 Not Found");
	} else if (strcmp(mode, "bytewise") == 0) {
		bytewise = true;
		const char *req = "GET /chunked HTTP/1.1\r\nHost: peer\r\nConnection: close\r\n\r\n";
		if (write_all(fd, req, strlen(req)))
			return 1;
		read_all(fd, buf, sizeof(buf));
		bad += expect(buf, "abcd\r\n6\r\nefghij") + expect(buf, "X-Checksum: 10");
	} else if (strcmp(mode, "http10") == 0) {
		const char *req = "GET /close HTTP/1.0\r\n\r\n";
		if (write_all(fd, req, strlen(req)))
			return 1;
		read_all(fd, buf, sizeof(buf));
		bad += expect(buf, "up to the close");
	} else if (strcmp(mode, "head") == 0) {
		const char *reqs = "HEAD /head-me HTTP/1.1\r\nHost: peer\r\n\r\n"
				   "GET /head-me HTTP/1.1\r\nHost: peer\r\nConnection: close\r\n\r\n";
		if (write_all(fd, reqs, strlen(reqs)))
			return 1;
		read_all(fd, buf, sizeof(buf));
		bad += expect(buf, "Content-Length: 1000\r\n\r\nHTTP/1.1 200") + expect(buf, "get");
	} else if (strcmp(mode, "errors") == 0) {
		const char *reqs = "GET /500 HTTP/1.1\r\nHost: peer\r\nConnection: close\r\n\r\n";
		if (write_all(fd, reqs, strlen(reqs)))
			return 1;
		read_all(fd, buf, sizeof(buf));
		bad += expect(buf, "500 Oops");
	} else {
		return 2;
	}
	close(fd);
	return bad ? 1 : 0;
}
