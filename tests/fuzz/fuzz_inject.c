/* libFuzzer target for header injection (hooks/http_inject.c): arbitrary request bytes, written
 * in arbitrary pieces and iovecs through a transport that takes arbitrary amounts (EAGAIN too).
 * Checks that the peer receives the program's bytes plus only whole injected blocks, each right
 * after a request line, and one-byte renames of the program's own propagation header names; that
 * each call returns at most what it was given and the returns add up to what the program wrote. */
#include "../../hooks/conn.h"
#include "../../hooks/http.h"
#include "../../preload/config.h"
#include "../../preload/process.h"
#include "fuzz_require.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- what the shim's process layer and interposition provide, reduced to this test --- */
_Atomic int64_t rs_clock_offset_ns;
void rs_process_need_reporter(void) {}
void rs_process_wake_reporter(void) {}
void rs_process_at_exit(void (*fn)(void)) { (void)fn; }
void rs_process_at_fork_child(void (*fn)(void)) { (void)fn; }
pid_t rs_process_pid(void) { return 1; }
const char *rs_process_instance(void) { return "fuzz"; }
static ssize_t transport(int fd, const struct msghdr *m, int flags);
ssize_t (*rs_real_sendmsg)(int, const struct msghdr *, int) = transport;
ssize_t rs_fallback_sendmsg(int fd, const struct msghdr *m, int flags)
{
	return transport(fd, m, flags);
}
void *rs_real_resolve(const char *name, void *self, void *fallback, void **slot)
{
	(void)name, (void)self, (void)slot;
	return fallback;
}
void rs_thread_init_process(void);

__attribute__((constructor(101))) static void setup(void)
{
	static char *env[] = {"OTEL_PROPAGATORS=tracecontext,sw8", "RINGSIDE_RING_KB=16", NULL};
	rs_config_parse(&rs_cfg, env, NULL, NULL);
	rs_active = true;
	rs_thread_init_process();
}

/* --- every injected block rs_http_inject_text made (a superset of those sent) --- */
/* A send that fails with EAGAIN is scanned again on its retry, with new spans: many per request. */
#define MAX_BLOCKS 4096
static char blocks[MAX_BLOCKS][RS_HTTP_INJECT_MAX];
static size_t block_len[MAX_BLOCKS], nblocks;
static bool blocks_lost; /* more than MAX_BLOCKS: the wire cannot be checked */

size_t __real_rs_http_inject_text(const struct rs_conn *c, const struct rs_http_prep *p, char *out,
				  size_t cap);
size_t __wrap_rs_http_inject_text(const struct rs_conn *c, const struct rs_http_prep *p, char *out,
				  size_t cap)
{
	size_t n = __real_rs_http_inject_text(c, p, out, cap);
	REQUIRE(n <= cap);
	if (n && nblocks == MAX_BLOCKS)
		blocks_lost = true;
	if (n && nblocks < MAX_BLOCKS) {
		memcpy(blocks[nblocks], out, n);
		block_len[nblocks++] = n;
	}
	return n;
}

/* --- the transport: takes a scripted number of bytes per call --- */
static char wire[1 << 18];
static size_t wire_len;
static const uint8_t *plan;
static size_t nplan, pcall;
static bool last_eagain;

static ssize_t transport(int fd, const struct msghdr *m, int flags)
{
	(void)fd, (void)flags;
	uint8_t b = plan[pcall++ % nplan];
	if (b == 0 && !last_eagain) {
		last_eagain = true; /* never twice in a row: the program would spin for ever */
		errno = EAGAIN;
		return -1;
	}
	last_eagain = false;
	size_t take = b == 255 || b == 0 ? SIZE_MAX : (size_t)b * 3, got = 0;
	for (size_t i = 0; i < (size_t)m->msg_iovlen && got < take; i++) {
		size_t k = m->msg_iov[i].iov_len < take - got ? m->msg_iov[i].iov_len : take - got;
		REQUIRE(wire_len + k <= sizeof(wire));
		memcpy(wire + wire_len, m->msg_iov[i].iov_base, k);
		wire_len += k;
		got += k;
	}
	return (ssize_t)got;
}

/* True when app[p] is the last byte of a propagation header's name at a line start. */
static bool renamable(const char *app, size_t p)
{
	static const char *const names[] = {"traceparent", "tracestate", "sw8"};
	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(names[i]);
		if (p + 1 >= l + 2 && strncasecmp(app + p + 1 - l, names[i], l) == 0 &&
		    app[p - l] == '\n')
			return true;
	}
	return false;
}

/* True when app[p] starts the line after a request line (which ends in its HTTP version). */
static bool after_request_line(const char *app, size_t p)
{
	if (p == 0 || app[p - 1] != '\n')
		return false;
	size_t start = p - 1;
	while (start > 0 && app[start - 1] != '\n')
		start--;
	return memmem(app + start, p - start, " HTTP/", 6) != NULL;
}

/* Aligns the wire with the program's bytes: equal bytes, whole recorded blocks after a request
 * line, and 'x' in place of a propagation name's last byte. */
static void check_wire(const char *app, size_t n)
{
	size_t w = 0, p = 0, next_block = 0;
	while (w < wire_len) {
		bool taken = false;
		if (after_request_line(app, p)) {
			for (size_t b = next_block; b < nblocks; b++) {
				if (block_len[b] <= wire_len - w &&
				    memcmp(wire + w, blocks[b], block_len[b]) == 0) {
					w += block_len[b];
					next_block = b + 1;
					taken = true;
					break;
				}
			}
		}
		if (taken)
			continue;
		REQUIRE(p < n); /* nothing but injected bytes after the program's last byte */
		if (wire[w] != app[p]) {
			if (wire[w] != 'x' || !renamable(app, p))
				fprintf(stderr, "wire %zu of %zu: \"%.*s\"\napp %zu of %zu: \"%.*s\"\n", w,
					wire_len, (int)RS_MIN(wire_len - w, 200), wire + w, p, n,
					(int)RS_MIN(n - p, 200), app + p);
			if (getenv("FUZZ_DUMP"))
				for (size_t b = 0; b < nblocks; b++)
					fprintf(stderr, "block %zu%s: %.*s\n", b, b < next_block ? " (used)" : "",
						(int)block_len[b], blocks[b]);
			REQUIRE(wire[w] == 'x' && renamable(app, p));
		}
		w++, p++;
	}
	REQUIRE(p == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t nctl = (size_t)(data[0] % 16) + 1;
	if (size < 1 + nctl)
		return 0;
	const uint8_t *ctl = data + 1;
	const char *app = (const char *)data + 1 + nctl;
	size_t n = size - 1 - nctl;
	if (n > 65536)
		return 0;
	plan = ctl;
	nplan = nctl;
	pcall = 0;
	last_eagain = false;
	wire_len = 0;
	nblocks = 0;
	blocks_lost = false;

	struct rs_conn c;
	memset(&c, 0, sizeof(c));
	atomic_store(&c.state, RS_CONN_CLIENT);
	c.family = AF_INET;
	c.peer.family = AF_INET;
	c.peer.port = 80;
	size_t sent = 0, wi = 0;
	for (int guard = 0; sent < n && guard < 100000; guard++) {
		/* The program's write sizes and iovec splits come from the control bytes too. */
		uint8_t k = ctl[(wi++ * 7 + 3) % nctl];
		size_t want = (k & 0x1f) + 1;
		if (k & 0x20)
			want *= 41;
		if (want > n - sent)
			want = n - sent;
		struct iovec v[3];
		size_t cut1 = want * ((k >> 6) & 1) / 3, cut2 = want * (1 + ((k >> 7) & 1)) / 3;
		if (cut2 < cut1)
			cut2 = cut1;
		v[0] = (struct iovec){(char *)app + sent, cut1};
		v[1] = (struct iovec){(char *)app + sent + cut1, cut2 - cut1};
		v[2] = (struct iovec){(char *)app + sent + cut2, want - cut2};
		struct msghdr m = {.msg_iov = v, .msg_iovlen = 3};
		errno = 0;
		ssize_t r = rs_conn_send(&c, -1, &m, 0, transport);
		if (r < 0) {
			REQUIRE(errno == EAGAIN);
			continue;
		}
		REQUIRE((size_t)r <= want);
		sent += (size_t)r;
	}
	REQUIRE(sent == n);
	/* Injected bytes a partial write left after the program's last byte (what sendfile or the
	 * next write would send first). */
	int tries = 0;
	while (!rs_conn_flush_injected(&c, -1)) {
		REQUIRE(errno == EAGAIN && ++tries < 100);
	}
	if (!blocks_lost)
		check_wire(app, n);
	if (c.http) {
		REQUIRE(c.http->inj_pending_len == 0);
		rs_http_close(&c, c.http, RS_HTTP_END_ABORTED);
		c.http = NULL;
	}
	return 0;
}
