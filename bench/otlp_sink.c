/* The collector the benchmarks export to: a single-threaded epoll HTTP/1.1 server that reads each
 * request's body, throws it away and answers 200 with an empty OTLP response, so what is measured
 * is the exporter, not a collector's decoding. Counts requests and body bytes; prints them on
 * SIGTERM/SIGINT to stdout as one JSON line. Usage: otlp_sink PORT (0: any; the port is printed
 * on stdout first). Bodies are never parsed: any request target gets the same answer. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX 16384
#define MAX_FD	 65536

struct conn {
	char head[HEAD_MAX];
	size_t head_len;
	unsigned long long body_left;
	int json;    /* the request's body is JSON: answer "{}" */
	int chunked; /* 1: reading a chunk-size line, 2: a chunk's data, 3: its CRLF, 4: trailers */
	char line[64];
	size_t line_len;
};

static struct conn *conns[MAX_FD];
static volatile sig_atomic_t stop;
static unsigned long long n_req, n_body, n_conn;

static void on_signal(int s)
{
	(void)s;
	stop = 1;
}

/* Finds a header's value in a request head (NUL-terminated); NULL when absent. */
static const char *header(const char *head, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':')
			return p + 3 + n;
	}
	return NULL;
}

static int answer(int fd, int json)
{
	static const char pb[] = "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
				 "Content-Length: 0\r\n\r\n";
	static const char js[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				 "Content-Length: 2\r\n\r\n{}";
	const char *a = json ? js : pb;
	size_t len = json ? sizeof(js) - 1 : sizeof(pb) - 1;
	/* Answers are tiny: a short write on a fresh socket buffer does not happen in practice, and
	 * if it did the client would time out, which the benchmark would show. */
	return write(fd, a, len) == (ssize_t)len ? 0 : -1;
}

/* Consumes buf; returns -1 to close the connection. */
static int feed(int fd, struct conn *c, const char *buf, size_t len)
{
	while (len) {
		if (c->chunked) {
			if (c->chunked == 2) {
				size_t k = len < c->body_left ? len : (size_t)c->body_left;
				c->body_left -= k, n_body += k, buf += k, len -= k;
				if (!c->body_left)
					c->chunked = 3, c->line_len = 0;
				continue;
			}
			/* A line: the chunk's size, the CRLF after its data, or a trailer. */
			char ch = *buf++;
			len--;
			if (ch != '\n') {
				if (c->line_len < sizeof(c->line) - 1)
					c->line[c->line_len++] = ch;
				continue;
			}
			c->line[c->line_len] = 0;
			size_t ll = c->line_len;
			c->line_len = 0;
			if (c->chunked == 3) {
				c->chunked = 1;
			} else if (c->chunked == 1) {
				c->body_left = strtoull(c->line, NULL, 16);
				c->chunked = c->body_left ? 2 : 4;
			} else if (ll <= 1) { /* the empty line after the trailers */
				c->chunked = 0;
				if (answer(fd, c->json))
					return -1;
			}
			continue;
		}
		if (c->body_left) {
			size_t k = len < c->body_left ? len : (size_t)c->body_left;
			c->body_left -= k;
			n_body += k;
			buf += k;
			len -= k;
			if (!c->body_left && answer(fd, c->json))
				return -1;
			continue;
		}
		size_t k = len < HEAD_MAX - 1 - c->head_len ? len : HEAD_MAX - 1 - c->head_len;
		memcpy(c->head + c->head_len, buf, k);
		c->head_len += k;
		c->head[c->head_len] = 0;
		char *end = strstr(c->head, "\r\n\r\n");
		if (!end) {
			if (c->head_len >= HEAD_MAX - 1)
				return -1;
			buf += k;
			len -= k;
			continue;
		}
		size_t used = (size_t)(end + 4 - c->head) - (c->head_len - k);
		*end = 0;
		const char *cl = header(c->head, "content-length");
		const char *ct = header(c->head, "content-type");
		c->body_left = cl ? strtoull(cl, NULL, 10) : 0;
		const char *te = header(c->head, "transfer-encoding");
		c->json = ct && strstr(ct, "json") != NULL;
		c->chunked = te && strstr(te, "chunked") ? 1 : 0;
		if (c->chunked)
			c->body_left = 0;
		c->head_len = 0;
		n_req++;
		buf += used;
		len -= used;
		if (!c->chunked && !c->body_left && answer(fd, c->json))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: otlp_sink PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)atoi(argv[1])),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 512) ||
	    getsockname(ls, (struct sockaddr *)&a, &al)) {
		perror("otlp_sink: listen");
		return 1;
	}
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	static char buf[1 << 16];
	struct epoll_event evs[64];
	while (!stop) {
		int n = epoll_wait(ep, evs, 64, 200);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == ls) {
				int c;
				while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					if (c >= MAX_FD) {
						close(c);
						continue;
					}
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					conns[c] = calloc(1, sizeof(struct conn));
					struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
					n_conn++;
				}
				continue;
			}
			for (;;) {
				ssize_t r = read(fd, buf, sizeof(buf));
				if (r > 0 && feed(fd, conns[fd], buf, (size_t)r) == 0)
					continue;
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
				free(conns[fd]);
				conns[fd] = NULL;
				break;
			}
		}
	}
	printf("{\"requests\": %llu, \"body_bytes\": %llu, \"connections\": %llu}\n", n_req, n_body,
	       n_conn);
	return 0;
}
