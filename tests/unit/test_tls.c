/* The TLS layer (io/tls.c) against servers that do not speak TLS, on both loop backends: each
 * connection's ClientHello is answered with random bytes, a record header with junk after it, an
 * oversized record, a fatal alert, an HTTP answer, or a hang-up, whole or a few bytes at a time
 * (seeded, so a failure can be replayed), and once with silence. Every operation must end with an
 * error, from the loop, never inside the call that started it; a session freed with operations
 * outstanding must still end them. Run under ASan in scripts/test; the real handshakes, with a
 * test CA, are in tests/integration/t_export_tls.sh. */
#include "../../io/tls.h"
#include "../../preload/thread.h"
#include "check.h"
#include "loopback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { RANDOM, RECORD_JUNK, HUGE_RECORD, ALERT, HTTP, HANGUP, KINDS, STALL = KINDS };

static struct {
	int ls;
	uint16_t port;
	_Atomic bool stop;
	_Atomic int kind;
	_Atomic uint32_t seed;
	_Atomic int conns;
} S;

static uint32_t next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void answer(int fd, int kind, uint32_t seed)
{
	uint8_t b[8192];
	size_t n = 0;
	uint32_t r = seed | 1;
	switch (kind) {
	case RANDOM:
		n = 1 + next_rand(&r) % sizeof(b);
		for (size_t i = 0; i < n; i++)
			b[i] = (uint8_t)next_rand(&r);
		break;
	case RECORD_JUNK: /* a handshake record of plausible length, junk inside */
	case HUGE_RECORD: /* a record longer than TLS allows */
		n = 5 + next_rand(&r) % 512;
		b[0] = 0x16, b[1] = 3, b[2] = 3;
		b[3] = kind == HUGE_RECORD ? 0xff : (uint8_t)((n - 5) >> 8);
		b[4] = kind == HUGE_RECORD ? 0xff : (uint8_t)(n - 5);
		for (size_t i = 5; i < n; i++)
			b[i] = (uint8_t)next_rand(&r);
		break;
	case ALERT:
		memcpy(b, "\x15\x03\x03\x00\x02\x02\x28", 7);
		n = 7;
		break;
	case HTTP:
		n = (size_t)snprintf((char *)b, sizeof(b), "HTTP/1.1 400 Bad Request\r\n\r\n");
		break;
	}
	bool drip = next_rand(&r) % 2;
	for (size_t off = 0; off < n;) {
		size_t k = drip ? 1 + next_rand(&r) % 7 : n - off;
		k = k < n - off ? k : n - off;
		if (send(fd, b + off, k, MSG_NOSIGNAL) <= 0)
			break;
		off += k;
		if (drip)
			nanosleep(&(struct timespec){0, 200000}, NULL);
	}
}

static void *server(void *arg)
{
	(void)arg;
	rs_thread_set_internal();
	while (!S.stop) {
		struct pollfd p = {.fd = S.ls, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept(S.ls, NULL, NULL);
		if (fd < 0)
			continue;
		S.conns++;
		struct pollfd q = {.fd = fd, .events = POLLIN};
		char hello[4096];
		if (poll(&q, 1, 2000) > 0 && recv(fd, hello, sizeof(hello), 0) > 0) {
			if (S.kind == STALL) { /* until the client gives up */
				while (poll(&q, 1, 3000) > 0 &&
				       recv(fd, hello, sizeof(hello), 0) > 0)
					;
			} else if (S.kind != HANGUP) {
				answer(fd, S.kind, S.seed);
			}
		}
		close(fd);
	}
	return NULL;
}

/* --- the client --- */

static struct rs_loop L;
static bool in_client; /* callbacks must never run inside rs_tls_send/recv/free */

struct op {
	struct rs_loop_op op;
	bool done;
	int res;
};

static void on_op(struct rs_loop_op *o, int res)
{
	struct op *p = (struct op *)o;
	CHECK(!in_client);
	CHECK(!p->done);
	p->done = true;
	p->res = res;
}

static void wait_for(bool *a, bool *b)
{
	for (int i = 0; i < 500 && !(*a && (!b || *b)); i++)
		rs_loop_run(&L, 10000000);
}

/* One connection answered with kind; free_early: let go of the session with both operations
 * outstanding. */
static void attempt(struct rs_tls_ctx *x, int kind, uint32_t seed, bool free_early)
{
	S.kind = kind;
	S.seed = seed;
	int sock = rs_loop_socket(&L, AF_INET);
	CHECK(sock >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(S.port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct op c = {.op.cb = on_op}, s = {.op.cb = on_op}, r = {.op.cb = on_op};
	CHECK(rs_loop_connect(&L, sock, (struct sockaddr *)&a, sizeof(a), 2000000000ull, &c.op) ==
	      0);
	wait_for(&c.done, NULL);
	CHECK(c.done && c.res == 0);
	int err = 1;
	struct rs_tls *t = rs_tls_new(x, &L, sock, "127.0.0.1", &err);
	CHECK(t != NULL && err == 0);
	if (!t)
		return;
	char buf[256];
	in_client = true;
	CHECK(rs_tls_send(t, "hello", 5, 1000000000ull, &s.op) == 0);
	CHECK(rs_tls_recv(t, buf, sizeof(buf), 0, &r.op) == 0);
	CHECK(rs_tls_send(t, "again", 5, 0, &s.op) == -EBUSY); /* one at a time */
	if (free_early) {
		rs_tls_free(t);
		rs_loop_close(&L, sock);
	}
	in_client = false;
	wait_for(&s.done, &r.done);
	CHECK(s.done && r.done);
	if (!(s.done && r.done) || s.res >= 0 || r.res > 0)
		fprintf(stderr, "kind %d seed %u: send %d recv %d\n", kind, seed, s.res, r.res);
	CHECK(s.res < 0); /* the handshake never completes, so nothing can be sent */
	CHECK(r.res < 0);
	if (!free_early) {
		in_client = true;
		rs_tls_free(t);
		in_client = false;
		rs_loop_close(&L, sock);
	}
	for (int i = 0; i < 3; i++) /* let the closed socket's operations complete */
		rs_loop_run(&L, 1000000);
}

static void run(enum rs_io_mode mode)
{
	CHECK_EQ_U(rs_loop_prepare(&L), 0);
	CHECK_EQ_U(rs_loop_init(&L, mode), 0);
	struct rs_tls_ctx *x = rs_tls_ctx_new(NULL, NULL, NULL, NULL, "test");
	struct rs_tls_ctx *h2 = rs_tls_ctx_new(NULL, NULL, NULL, "h2", "test h2");
	CHECK(x && h2);
	if (!x || !h2)
		return;
	uint32_t seed = mode == RS_IO_POLL ? 12345 : 67890;
	for (int i = 0; i < 120; i++)
		attempt(i % 2 ? h2 : x, i % KINDS, seed + (uint32_t)i, i % 5 == 4);
	attempt(x, STALL, seed, false); /* ends at the send's deadline */
	attempt(x, STALL, seed, true);
	rs_tls_ctx_free(x);
	rs_tls_ctx_free(h2);
}

int main(void)
{
	rs_thread_set_internal();
	struct sockaddr_in a;
	S.ls = loopback_listen(8, &a);
	if (S.ls < 0)
		return 1;
	S.port = ntohs(a.sin_port);
	pthread_t t;
	pthread_create(&t, NULL, server, NULL);
	run(RS_IO_POLL);
	run(RS_IO_URING);
	for (int i = 0; i < 200 && S.conns < 2 * 122;
	     i++) /* the last one may wait in the backlog */
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	S.stop = true;
	pthread_join(t, NULL);
	close(S.ls);
	CHECK(S.conns == 2 * 122);
	return check_result();
}
