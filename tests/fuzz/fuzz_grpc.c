/* libFuzzer target for the gRPC client's receive path: arbitrary server bytes, cut into arbitrary
 * reads, reach nghttp2 and the client's callbacks while one to four calls are open (some gzipped,
 * some already past their deadline). The loop is a stand-in that completes connects and sends at
 * once and hands out the input as receives. Every call must end exactly once, with a status or
 * -errno, a bounded message and a reply within 4 MiB, and nothing may stay open once the input
 * has ended.
 * Input: byte 0 picks the calls (bits 0-1: how many, less one; bits 2-4: gzip for calls 0-2 (call
 * 3 as call 0); bit 5: call 1 is past its deadline; bits 6-7: calls done callbacks start again),
 * then [n][n bytes] chunks: n = 0 makes the armed timers fire; a 255 where a send completes makes
 * that send short. */
#include "../../io/grpc_client.h"
#include "fuzz_require.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { POST = 100, TIMER };

struct pending {
	struct rs_loop_op *op;
	int kind, handle;
	void *buf;
	size_t len;
};

static struct {
	struct pending q[64];
	unsigned n;
	bool closed[RS_LOOP_FILES];
	int next_handle;
	const uint8_t *in;
	size_t left;
} F;

static void push(struct rs_loop_op *op, int kind, int handle, void *buf, size_t len)
{
	REQUIRE(F.n < 64);
	F.q[F.n++] = (struct pending){op, kind, handle, buf, len};
}

/* --- the loop's stand-in --- */

int rs_loop_socket(struct rs_loop *l, int domain)
{
	(void)l;
	(void)domain;
	if (F.next_handle == RS_LOOP_FILES)
		return -EMFILE;
	F.closed[F.next_handle] = false;
	return F.next_handle++;
}

int rs_loop_connect(struct rs_loop *l, int h, const struct sockaddr *a, socklen_t len, uint64_t t,
		    struct rs_loop_op *op)
{
	(void)l, (void)a, (void)len, (void)t;
	push(op, RS_SOCKOP_CONNECT, h, NULL, 0);
	return 0;
}

int rs_loop_send(struct rs_loop *l, int h, const void *buf, size_t len, uint64_t t,
		 struct rs_loop_op *op)
{
	(void)l, (void)t;
	REQUIRE(len > 0);
	push(op, RS_SOCKOP_SEND, h, (void *)buf, len);
	return 0;
}

int rs_loop_recv(struct rs_loop *l, int h, void *buf, size_t len, uint64_t t, struct rs_loop_op *op)
{
	(void)l, (void)t;
	for (unsigned i = 0; i < F.n; i++) /* one receive armed per connection */
		REQUIRE(!(F.q[i].kind == RS_SOCKOP_RECV && F.q[i].handle == h));
	push(op, RS_SOCKOP_RECV, h, buf, len);
	return 0;
}

int rs_loop_post(struct rs_loop *l, struct rs_loop_op *op)
{
	(void)l;
	push(op, POST, 0, NULL, 0);
	return 0;
}

/* Timers wait at the end of the queue, behind the I/O that is pending, unless the input makes
 * them fire early (below). */
int rs_loop_timer(struct rs_loop *l, uint64_t timeout_ns, struct rs_loop_op *op)
{
	(void)l, (void)timeout_ns;
	push(op, TIMER, 0, NULL, 0);
	return 0;
}

void rs_loop_close(struct rs_loop *l, int h)
{
	(void)l;
	REQUIRE(h > 0 && h < RS_LOOP_FILES && !F.closed[h]);
	F.closed[h] = true;
}

int rs_resolve(const char *host, uint16_t port, struct sockaddr_storage *addr, socklen_t *len)
{
	(void)host;
	struct sockaddr_in *a = (struct sockaddr_in *)addr;
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	*len = sizeof(*a);
	return 0;
}

static struct pending take(unsigned i)
{
	struct pending p = F.q[i];
	memmove(F.q + i, F.q + i + 1, (--F.n - i) * sizeof(F.q[0]));
	return p;
}

/* Completes the oldest operation that is not a timer (a timer when only timers are left); false
 * when none is left. */
static bool step(void)
{
	if (!F.n)
		return false;
	unsigned i = 0;
	while (i < F.n && F.q[i].kind == TIMER)
		i++;
	struct pending p = take(i < F.n ? i : 0);
	int res = 0;
	if (p.kind == RS_SOCKOP_RECV && F.left && F.in[0] == 0) {
		/* A read of 0 bytes: the timers fire now, the receive stays armed. */
		F.in++, F.left--;
		F.q[F.n++] = p;
		unsigned due = 0; /* those armed now; what they arm waits */
		for (unsigned t = 0; t < F.n; t++)
			due += F.q[t].kind == TIMER;
		for (unsigned t = 0; due && t < F.n;) {
			if (F.q[t].kind != TIMER) {
				t++;
				continue;
			}
			struct pending tp = take(t);
			due--;
			tp.op->cb(tp.op, -ETIMEDOUT);
		}
		return true;
	}
	bool closed = p.kind != POST && p.kind != TIMER && F.closed[p.handle];
	if (closed) {
		res = -ECANCELED;
	} else if (p.kind == RS_SOCKOP_SEND) {
		res = (int)p.len;
		if (F.left && F.in[0] == 255) { /* a short send */
			F.in++, F.left--;
			res = (int)(p.len + 1) / 2;
		}
	} else if (p.kind == TIMER) {
		res = -ETIMEDOUT;
	} else if (p.kind == RS_SOCKOP_RECV) {
		if (!F.left) {
			res = 0; /* the server closed */
		} else {
			size_t n = F.in[0];
			F.in++, F.left--;
			n = RS_MIN(RS_MIN(n, F.left), p.len);
			memcpy(p.buf, F.in, n);
			F.in += n, F.left -= n;
			res = (int)n;
		}
	}
	p.op->cb(p.op, res);
	return true;
}

/* --- the calls --- */

static struct rs_grpc_client *C;
static struct rs_loop L;
static struct rs_buf bodies[4];
static unsigned started, ended, restarts;
static long ids[16];
static unsigned char done_count[16];
static volatile uint8_t sink;
static bool trace;

static void start_call(unsigned i, bool gzip, bool expired);

static void done(void *arg, int status, const char *message, const void *reply, size_t len)
{
	unsigned k = (unsigned)(uintptr_t)arg;
	REQUIRE(k < started && done_count[k]++ == 0);
	REQUIRE((status >= 0 && status <= 16) || (status < 0 && status > -4096));
	REQUIRE(strnlen(message, 256) < 256);
	REQUIRE(len <= (4u << 20) && (reply || !len));
	for (size_t i = 0; i < len; i++) /* every byte readable (ASan) */
		sink += ((const uint8_t *)reply)[i];
	ended++;
	if (trace) /* FUZZ_GRPC_TRACE=1: how each call of a seed ended */
		fprintf(stderr, "call %u: status %d, message \"%s\", reply of %zu bytes\n", k,
			status, message, len);
	if (restarts) { /* a callback may start the next call at once */
		restarts--;
		start_call(k % 4, k & 1, false);
	}
}

static void start_call(unsigned i, bool gzip, bool expired)
{
	REQUIRE(started < 16);
	unsigned k = started++;
	long id =
	    rs_grpc_call(C,
			 i & 1 ? "/skywalking.v3.TraceSegmentReportService/collect"
			       : "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
			 bodies[i].p, bodies[i].len, gzip, expired ? 1 : 10000000000ull, done,
			 (void *)(uintptr_t)k);
	REQUIRE(id > 0);
	ids[k] = id;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!C) {
		trace = getenv("FUZZ_GRPC_TRACE") != NULL;
		struct rs_endpoint ep = {.host = "127.0.0.1", .port = 4317};
		C = rs_grpc_client_new(&L, &ep, "x-tenant: blue\r\nauthentication: t0k\r\n");
		REQUIRE(C);
		for (unsigned i = 0; i < 4; i++) {
			char msg[64];
			snprintf(msg, sizeof(msg), "message %u", i);
			REQUIRE(rs_grpc_frame(&bodies[i], msg, strlen(msg), i & 1) == 0);
			if (i == 3) /* a client stream: two messages */
				REQUIRE(rs_grpc_frame(&bodies[i], msg, 5, false) == 0);
		}
	}
	memset(&F, 0, sizeof(F));
	F.next_handle = 1;
	started = ended = 0;
	memset(done_count, 0, sizeof(done_count));
	uint8_t ctl = size ? data[0] : 0;
	F.in = size ? data + 1 : data;
	F.left = size ? size - 1 : 0;
	restarts = ctl >> 6;
	unsigned ncalls = (ctl & 3) + 1;
	for (unsigned i = 0; i < ncalls; i++)
		start_call(i, ctl >> (2 + i % 3) & 1, i == 1 && (ctl & 0x20));
	for (unsigned guard = 0; step(); guard++)
		REQUIRE(guard < 1000000);
	REQUIRE(ended == started);
	REQUIRE(rs_grpc_open_calls(C) == 0);
	return 0;
}
