/* Drives the HTTP parser over a message split into chunks and writes down everything it reports
 * (events, captured fields, body sizes) as text, so two runs over different splits of the same
 * bytes can be compared. Shared by the unit test and the fuzz target. */
#ifndef RS_TEST_HP_DRIVER_H
#define RS_TEST_HP_DRIVER_H

#include "../../preload/http_parse.h"

#include <stdio.h>
#include <string.h>

struct hp_log {
	char text[16384];
	size_t len;
	uint64_t offset; /* bytes fed so far */
	bool open;	 /* a captured value is being written */
	bool names;	 /* log where propagation header names end too */
	bool in_body;	 /* body bytes are being written, inside {} */
};

static void hp_log_put(struct hp_log *l, const char *s, size_t n)
{
	size_t k = n < sizeof(l->text) - 1 - l->len ? n : sizeof(l->text) - 1 - l->len;
	memcpy(l->text + l->len, s, k);
	l->len += k;
	l->text[l->len] = 0;
}

static void hp_log_capture(void *arg, enum rs_hp_field f, const char *b, size_t n, bool end)
{
	struct hp_log *l = arg;
	if (f == RS_HPF_BODY) {
		/* However the body is split, its bytes read as one run, closed by the next event. */
		if (!l->in_body)
			hp_log_put(l, "{", 1);
		l->in_body = true;
		hp_log_put(l, b, n);
		return;
	}
	/* Where a propagation header's name ends is reported only when its colon is in the same
	 * buffer: it depends on the split by design, and has its own checks. */
	if (f >= RS_HPF_NAME_TRACEPARENT && !l->names)
		return;
	char head[16];
	if (!l->open) {
		snprintf(head, sizeof(head), "[%d:", (int)f);
		hp_log_put(l, head, strlen(head));
		l->open = true;
	}
	hp_log_put(l, b, n);
	if (end) {
		hp_log_put(l, "]", 1);
		l->open = false;
	}
}

/* Feeds one chunk, logging each event with the stream offset it happened at. Returns false once
 * the parser reported an error. */
static bool hp_feed_chunk(struct rs_hp *p, struct hp_log *l, const char *b, size_t n)
{
	for (;;) {
		enum rs_hp_event ev;
		size_t used = rs_hp_feed(p, b, n, &ev);
		b += used;
		n -= used;
		l->offset += used;
		if (ev == RS_HP_MORE)
			return true;
		if (l->in_body)
			hp_log_put(l, "}", 1);
		l->in_body = false;
		char e[96];
		/* Where within a chunk a bound is found depends on the chunks; that it is found,
		 * and everything before it, does not. */
		if (ev == RS_HP_ERROR) {
			if (l->open)
				hp_log_put(l, "]", 1); /* a value cut off by the error */
			hp_log_put(l, "<error>", 7);
			return false;
		}
		snprintf(e, sizeof(e), "<%d@%llu s=%u f=%x b=%llu>", (int)ev,
			 (unsigned long long)l->offset, p->status, p->flags & ~RS_HPM_NO_BODY,
			 (unsigned long long)p->last_body);
		hp_log_put(l, e, strlen(e));
	}
}

/* Parses msg split at the given cut points (sorted), with all captures on; then the close. */
static void hp_run(enum rs_hp_mode mode, const char *msg, size_t len, const size_t *cuts,
		   size_t ncuts, bool no_body, struct hp_log *l)
{
	struct rs_hp p;
	bool names = l->names;
	memset(l, 0, sizeof(*l));
	l->names = names;
	rs_hp_init(&p, mode, ~0u, hp_log_capture, l);
	if (no_body)
		rs_hp_expect_no_body(&p);
	size_t at = 0;
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		if (end < at)
			end = at;
		if (!hp_feed_chunk(&p, l, msg + at, end - at))
			return;
		at = end;
	}
	if (l->in_body)
		hp_log_put(l, "}", 1);
	char e[32];
	snprintf(e, sizeof(e), "<close %d>", (int)rs_hp_close(&p));
	hp_log_put(l, e, strlen(e));
}

#endif
