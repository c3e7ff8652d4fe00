/* The per-call cost of the shim's data-path hooks: one thread sends and receives small messages
 * through a pair of connected sockets, so each iteration is four calls (send, recv, send, recv)
 * and nothing but the calls and the kernel's copy is timed. Run bare and under the shim, the
 * difference is what a hook adds. Modes: "unix" (a socketpair: an fd the shim never follows),
 * "tcp" (loopback TCP, not HTTP: a followed connection, counted bytes), "http" (loopback TCP
 * carrying one HTTP/1.1 request and its response per iteration: parsed, two spans each).
 * Usage: hook_bench MODE ITERATIONS [ab]. Prints one JSON line. bench_loop is what callgrind
 * counts. With "ab" (unix and tcp only), one process alternates short blocks through send/recv as
 * the program links them (the shim's hooks when preloaded) and through libc's own, found with dlsym
 * in libc itself, and prints the median of the blocks' differences: two paths measured side by side
 * under the same load, which resolves a few nanoseconds where separate processes cannot. */
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char req[] = "GET /items/42 HTTP/1.1\r\nHost: bench\r\n\r\n";
static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
static char msg[64];

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Receives exactly len bytes (loopback delivers a small send whole, so this is one call). */
static void recv_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = recv(fd, buf + got, len - got, 0);
		if (r <= 0)
			die("recv");
		got += (size_t)r;
	}
}

static void send_all(int fd, const void *buf, size_t len)
{
	if (send(fd, buf, len, 0) != (ssize_t)len)
		die("send");
}

__attribute__((noinline)) void bench_loop(int a, int b, long iters, const char *m1, size_t l1,
					  const char *m2, size_t l2)
{
	char buf[256];
	for (long i = 0; i < iters; i++) {
		send_all(a, m1, l1);
		recv_all(b, buf, l1);
		send_all(b, m2, l2);
		recv_all(a, buf, l2);
	}
}

typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);

/* One block of iterations through the given functions; returns ns per call. */
static double block(send_fn sf, recv_fn rf, int a, int b, long iters)
{
	char buf[sizeof(msg)];
	uint64_t t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		if (sf(a, msg, sizeof(msg), 0) != (ssize_t)sizeof(msg) ||
		    rf(b, buf, sizeof(buf), 0) != (ssize_t)sizeof(msg) ||
		    sf(b, msg, sizeof(msg), 0) != (ssize_t)sizeof(msg) ||
		    rf(a, buf, sizeof(buf), 0) != (ssize_t)sizeof(msg))
			die("block");
	}
	return (double)(now_ns() - t0) / (double)(iters * 4);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Alternates blocks through the linked send/recv and through libc's; iters in total per path. */
static int ab(const char *mode, int a, int b, long iters)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	send_fn lsend = libc ? (send_fn)dlsym(libc, "send") : NULL;
	recv_fn lrecv = libc ? (recv_fn)dlsym(libc, "recv") : NULL;
	if (!lsend || !lrecv) {
		fprintf(stderr, "hook_bench: libc's send/recv not found\n");
		return 1;
	}
	enum { BLOCKS = 200 };
	static double hooked[BLOCKS], direct[BLOCKS], diff[BLOCKS];
	long per = iters / BLOCKS > 0 ? iters / BLOCKS : 1;
	block(send, recv, a, b, per); /* warm both paths */
	block(lsend, lrecv, a, b, per);
	for (int i = 0; i < BLOCKS; i++) {
		/* The order flips every block, so neither path always runs first. */
		if (i % 2) {
			direct[i] = block(lsend, lrecv, a, b, per);
			hooked[i] = block(send, recv, a, b, per);
		} else {
			hooked[i] = block(send, recv, a, b, per);
			direct[i] = block(lsend, lrecv, a, b, per);
		}
		diff[i] = hooked[i] - direct[i];
	}
	double d = median(diff, BLOCKS), h = median(hooked, BLOCKS), l = median(direct, BLOCKS);
	printf("{\"mode\": \"%s\", \"blocks\": %d, \"iterations_per_block\": %ld, "
	       "\"ns_hooked\": %.2f, \"ns_libc\": %.2f, \"added_ns\": %.2f}\n",
	       mode, BLOCKS, per, h, l, d);
	return 0;
}

static void tcp_pair(int *a, int *b)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 1) ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl))
		die("listen");
	*a = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*a, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");
	*b = accept(ls, NULL, NULL);
	if (*b < 0)
		die("accept");
	setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(ls);
}

int main(int argc, char **argv)
{
	if (argc != 3 && !(argc == 4 && strcmp(argv[3], "ab") == 0)) {
		fprintf(stderr, "usage: hook_bench unix|tcp|http ITERATIONS [ab]\n");
		return 2;
	}
	const char *mode = argv[1];
	long iters = atol(argv[2]);
	int s[2];
	const char *m1 = msg, *m2 = msg;
	size_t l1 = sizeof(msg), l2 = sizeof(msg);
	memset(msg, 'x', sizeof(msg));
	if (strcmp(mode, "unix") == 0) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, s))
			die("socketpair");
	} else if (strcmp(mode, "tcp") == 0) {
		tcp_pair(&s[0], &s[1]);
	} else if (strcmp(mode, "http") == 0) {
		tcp_pair(&s[0], &s[1]);
		m1 = req, l1 = sizeof(req) - 1, m2 = resp, l2 = sizeof(resp) - 1;
	} else {
		fprintf(stderr, "hook_bench: unknown mode %s\n", mode);
		return 2;
	}
	if (argc == 4) {
		if (m1 != msg) {
			fprintf(stderr, "hook_bench: ab needs unix or tcp (an HTTP stream must go "
					"through one path)\n");
			return 2;
		}
		return ab(mode, s[0], s[1], iters);
	}
	bench_loop(s[0], s[1], iters / 10 + 1, m1, l1, m2,
		   l2); /* warm caches and the shim's state */
	uint64_t t0 = now_ns();
	bench_loop(s[0], s[1], iters, m1, l1, m2, l2);
	uint64_t t1 = now_ns();
	printf("{\"mode\": \"%s\", \"iterations\": %ld, \"calls\": %ld, \"ns_per_call\": %.2f}\n",
	       mode, iters, iters * 4, (double)(t1 - t0) / (double)(iters * 4));
	close(s[0]);
	close(s[1]);
	return 0;
}
