/* libFuzzer target for the exporters' HTTP/1.1 client (io/http_client.c) reading what a collector
 * answers: arbitrary bytes, delivered in arbitrary pieces, with the connection closing at the
 * end, for two requests in a row (the second on the kept connection when the first allowed it).
 * The loop is replaced by a script. Each request must finish exactly once, with an HTTP status
 * or a negative errno, a bounded body and Retry-After, and never be left waiting for bytes that
 * will not come. */
#include "../../io/http_client.h"
#include "fuzz_require.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the loop, scripted: one operation outstanding at a time --- */
enum { OP_NONE, OP_CONNECT, OP_SEND, OP_RECV };
static struct rs_loop_op *pending;
static int pending_kind;
static void *recv_buf;
static size_t recv_len, send_len;
static int open_socks;

int rs_loop_socket(struct rs_loop *l, int domain)
{
	(void)l, (void)domain;
	open_socks++;
	return 7;
}

void rs_loop_close(struct rs_loop *l, int handle)
{
	(void)l;
	REQUIRE(handle == 7 && open_socks == 1);
	open_socks--;
}

/* Only the TLS layer posts, and it is linked unused here (no https:// endpoint). */
int rs_loop_post(struct rs_loop *l, struct rs_loop_op *op)
{
	(void)l, (void)op;
	REQUIRE(0);
	return -EBUSY;
}

static int expect(struct rs_loop_op *op, int kind)
{
	REQUIRE(pending == NULL); /* the client never has two operations in flight */
	pending = op;
	pending_kind = kind;
	return 0;
}

int rs_loop_connect(struct rs_loop *l, int handle, const struct sockaddr *addr, socklen_t len,
		    uint64_t timeout_ns, struct rs_loop_op *op)
{
	(void)l, (void)handle, (void)addr, (void)len, (void)timeout_ns;
	return expect(op, OP_CONNECT);
}

int rs_loop_send(struct rs_loop *l, int handle, const void *buf, size_t len, uint64_t timeout_ns,
		 struct rs_loop_op *op)
{
	(void)l, (void)handle, (void)buf, (void)timeout_ns;
	REQUIRE(len > 0);
	send_len = len;
	return expect(op, OP_SEND);
}

int rs_loop_recv(struct rs_loop *l, int handle, void *buf, size_t len, uint64_t timeout_ns,
		 struct rs_loop_op *op)
{
	(void)l, (void)handle, (void)timeout_ns;
	recv_buf = buf;
	recv_len = len;
	return expect(op, OP_RECV);
}

static void complete(int res)
{
	struct rs_loop_op *op = pending;
	pending = NULL;
	op->cb(op, res);
}

/* --- the requests --- */
static int finished, last_status;

static void done(void *arg, int status, uint32_t retry_after_ms, const char *body, size_t len)
{
	(void)arg, (void)retry_after_ms;
	finished++;
	last_status = status;
	REQUIRE(status < 0 ? status >= -4095 : (status >= 100 && status <= 999));
	REQUIRE(len <= (64u << 10));
	REQUIRE(len == 0 || body != NULL);
	if (len)
		REQUIRE(((volatile const char *)body)[len - 1] || 1); /* readable */
	REQUIRE(retry_after_ms <= 24u * 3600 * 1000 * 366);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* The first byte shapes the pieces: each is 1 + (byte & mask) long, cycling over the input
	 * itself; bit 7 makes the kernel take sends a few bytes at a time. */
	uint8_t shape = data[0];
	size_t mask = (size_t)1 << (shape & 15);
	mask = mask > 1 ? mask - 1 : 0;
	bool trickle = shape & 0x80;
	const uint8_t *in = data + 1;
	size_t n = size - 1, at = 0;

	static struct rs_http_client c;
	struct rs_endpoint ep;
	memset(&ep, 0, sizeof(ep));
	strcpy(ep.host, "127.0.0.1");
	ep.port = 4318;
	strcpy(ep.path, "/v1/traces");
	rs_http_client_init(&c, NULL, &ep);
	pending = NULL;
	open_socks = 0;
	finished = 0;
	static const char body[] = "{\"resourceSpans\":[]}";
	for (int req = 0; req < 2; req++) {
		int before = finished;
		REQUIRE(rs_http_client_post(&c, "/v1/traces", "application/json", NULL,
					    "Authorization: x\r\n", body, sizeof(body) - 1,
					    10000000000ull, done, NULL) == 0);
		for (int guard = 0; finished == before; guard++) {
			REQUIRE(guard < 1000000 && pending != NULL);
			switch (pending_kind) {
			case OP_CONNECT:
				complete(0);
				break;
			case OP_SEND:
				complete((int)(trickle && send_len > 3 ? 3 : send_len));
				break;
			case OP_RECV: {
				/* Bytes left: the next piece; none: the collector closed. */
				size_t k = 0;
				if (at < n) {
					k = 1 + (in[at] & mask);
					k = RS_MIN(k, RS_MIN(n - at, recv_len));
					memcpy(recv_buf, in + at, k);
					at += k;
				}
				complete((int)k);
				break;
			}
			}
		}
		REQUIRE(finished == before + 1);
		REQUIRE(pending == NULL); /* nothing left in flight once it finished */
		REQUIRE(!rs_http_client_busy(&c));
		if (last_status <= 0)
			REQUIRE(open_socks == 0); /* a failed exchange never keeps its connection */
	}
	rs_http_client_close(&c);
	REQUIRE(open_socks == 0);
	rs_buf_free(&c.head);
	rs_buf_free(&c.resp_body);
	return 0;
}
