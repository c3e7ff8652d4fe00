/* Adding trace context to the HTTP requests a program sends, without the program noticing.
 *
 * Each send is pre-scanned on a copy of the request parser: after every request line in it goes
 * an insert (the traceparent/tracestate/sw8 lines of that request's span), and a propagation
 * header the program sends itself (a proxy forwarding its client's) is renamed by one byte so the
 * next hop sees one context, ours. The program's bytes are sent with the edits through one
 * sendmsg; the result is mapped back to how many of the program's own bytes went out, which is
 * what its call returns. Injected bytes a partial write left behind go out first on the next
 * send. When only injected bytes moved, the send is tried again: a blocking socket blocks as it
 * would have, a non-blocking one reports EAGAIN with none of the program's bytes sent. */
#include "conn.h"
#include "http.h"
#include "real.h"
#include "../preload/config.h"
#include "../preload/propagation.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#define MAX_EDITS 16
#define MAX_INSERTS 3

enum { SEG_APP, SEG_OURS, SEG_REPLACED };

struct edit {
	size_t off;	  /* program byte offset in this send */
	bool insert;	  /* insert before off, or replace the byte at off */
	const char *data; /* insert: the lines; replace: the byte */
	size_t len;
};

struct scan {
	struct rs_conn *c;
	struct rs_http *h;
	size_t base;	 /* program offset of the segment being scanned */
	const char *seg; /* that segment */
	struct edit e[MAX_EDITS];
	int n;
	uint8_t prop;	     /* what the request being scanned carries */
	bool ts_injected;    /* ... including our own tracestate */
	char inj[MAX_INSERTS][RS_HTTP_INJECT_MAX];
	int inserts;
};

/* The pre-scan's callback: the last byte of a propagation header's name the program sends. */
static void scan_name(void *arg, enum rs_hp_field f, const char *b, size_t n, bool end)
{
	struct scan *sc = arg;
	(void)n, (void)end;
	bool ours = (f == RS_HPF_NAME_TRACEPARENT && (sc->prop & RS_PROP_TRACECONTEXT)) ||
		    (f == RS_HPF_NAME_TRACESTATE && sc->ts_injected) ||
		    (f == RS_HPF_NAME_SW8 && (sc->prop & RS_PROP_SW8));
	if (!ours || sc->n == MAX_EDITS)
		return;
	sc->e[sc->n++] = (struct edit){.off = sc->base + (size_t)(b - sc->seg), .data = "x", .len = 1};
}

static void scan_line_end(struct scan *sc, size_t off)
{
	struct rs_http *h = sc->h;
	sc->prop = 0;
	sc->ts_injected = false;
	if (sc->inserts == MAX_INSERTS || sc->n == MAX_EDITS || h->prep_n == RS_ARRAY_LEN(h->prep))
		return; /* more pipelined requests in one send than followed: sent as they are */
	struct rs_http_prep *p = &h->prep[h->prep_n];
	rs_http_prepare_client(sc->c, p);
	char *text = sc->inj[sc->inserts];
	size_t len = rs_http_inject_text(sc->c, p, text, RS_HTTP_INJECT_MAX);
	if (!len) {
		p->prop = 0;
		h->prep_n++;
		return;
	}
	h->prep_n++;
	sc->inserts++;
	sc->prop = p->prop;
	/* rs_http_inject_text writes our tracestate line, when there is one, right after the
	 * traceparent line: looked for there, not searched for. */
	const size_t tp_line = 13 + RS_TRACEPARENT_LEN + 2;
	sc->ts_injected = (p->prop & RS_PROP_TRACECONTEXT) && len >= tp_line + 12 &&
			  memcmp(text + tp_line, "tracestate: ", 12) == 0;
	sc->e[sc->n++] = (struct edit){.off = off, .insert = true, .data = text, .len = len};
}

/* Finds the edits for the program's bytes in msg, on a copy of the request parser. */
static void prescan(struct scan *sc, const struct msghdr *msg)
{
	struct rs_http *h = sc->h;
	struct rs_hp p = h->req;
	p.capture = 1u << RS_HPF_NAME_TRACEPARENT | 1u << RS_HPF_NAME_TRACESTATE |
		    1u << RS_HPF_NAME_SW8;
	p.on_capture = scan_name;
	p.arg = sc;
	/* A request whose line went out in an earlier send carries what was injected then. */
	sc->prop = h->cur_valid ? h->cur.prop : 0;
	sc->ts_injected = h->cur_valid && (h->cur.prop & RS_PROP_TRACECONTEXT);
	h->prep_n = h->prep_used = 0;
	for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++) {
		const char *b = msg->msg_iov[i].iov_base;
		size_t len = msg->msg_iov[i].iov_len, at = 0;
		sc->seg = b;
		while (at < len) {
			enum rs_hp_event ev;
			at += rs_hp_feed(&p, b + at, len - at, &ev);
			if (ev == RS_HP_LINE_END)
				scan_line_end(sc, sc->base + at);
			else if (ev == RS_HP_ERROR)
				return;
		}
		sc->base += len;
	}
}

struct seg {
	const char *p;
	size_t len;
	uint8_t kind;
};

/* Lays the program's iovecs and the edits out as one list of segments. */
static int layout(const struct msghdr *msg, const struct scan *sc, const struct rs_http *h,
		  struct seg *out, int cap)
{
	int k = 0, e = 0;
	if (h->inj_pending_len)
		out[k++] = (struct seg){h->inj_pending, h->inj_pending_len, SEG_OURS};
	size_t off = 0;
	for (size_t i = 0; i < (size_t)msg->msg_iovlen && k < cap - 2; i++) {
		const char *b = msg->msg_iov[i].iov_base;
		size_t len = msg->msg_iov[i].iov_len, at = 0;
		while (at < len && k < cap - 2) {
			/* Edits at this point come first (an insert at off goes before byte off). */
			if (e < sc->n && sc->e[e].off == off + at) {
				const struct edit *x = &sc->e[e++];
				if (x->insert) {
					out[k++] = (struct seg){x->data, x->len, SEG_OURS};
				} else {
					out[k++] = (struct seg){x->data, 1, SEG_REPLACED};
					at++;
				}
				continue;
			}
			size_t next = e < sc->n ? sc->e[e].off - off : len;
			size_t run = RS_MIN(len, next) - at;
			out[k++] = (struct seg){b + at, run, SEG_APP};
			at += run;
		}
		off += len;
	}
	/* An insert right after the last program byte (a request line ending the send). */
	if (e < sc->n && sc->e[e].insert && sc->e[e].off == off && k < cap)
		out[k++] = (struct seg){sc->e[e].data, sc->e[e].len, SEG_OURS};
	return k;
}

/* Copies the unsent remainder of the injected segments at position (i, at) into the pending
 * buffer: they must go out before the program's next byte. */
static void keep_pending(struct rs_http *h, const struct seg *s, int n, int i, size_t at)
{
	char tmp[RS_HTTP_INJECT_MAX];
	size_t len = 0;
	for (; i < n && s[i].kind == SEG_OURS; i++, at = 0) {
		size_t k = RS_MIN(s[i].len - at, sizeof(tmp) - len);
		memcpy(tmp + len, s[i].p + at, k);
		len += k;
	}
	memcpy(h->inj_pending, tmp, len);
	h->inj_pending_len = (uint16_t)len;
}

ssize_t rs_conn_send(struct rs_conn *c, int fd, const struct msghdr *msg, int flags,
		     ssize_t (*plain)(int fd, const struct msghdr *msg, int flags))
{
	int saved = errno;
	size_t total = 0;
	for (size_t i = 0; i < (size_t)msg->msg_iovlen; i++)
		total += msg->msg_iov[i].iov_len;
	if (rs_conn_proto(c) == RS_PROTO_UNKNOWN && total && msg->msg_iov[0].iov_len) {
		/* Enough of the first bytes to tell: the first iovec's, as HTTP clients send. */
		rs_conn_sniff_out(c, msg->msg_iov[0].iov_base, msg->msg_iov[0].iov_len);
	}
	struct rs_http *h = rs_conn_proto(c) == RS_PROTO_HTTP ? rs_conn_http(c) : NULL;
	if (!h || h->dead || !rs_cfg.propagators || total == 0) {
		errno = saved;
		ssize_t r = plain(fd, msg, flags);
		if (r > 0)
			rs_conn_out_iov(c, msg->msg_iov, (size_t)msg->msg_iovlen, (size_t)r);
		return r;
	}

	static RS_TLS struct scan sc; /* 4 KiB of lines: kept off the program's stack */
	sc.c = c;
	sc.h = h;
	sc.base = 0;
	sc.n = 0;
	sc.inserts = 0;
	prescan(&sc, msg);
	if (!sc.n && !h->inj_pending_len) {
		errno = saved;
		ssize_t r = plain(fd, msg, flags);
		if (r > 0)
			rs_conn_out_iov(c, msg->msg_iov, (size_t)msg->msg_iovlen, (size_t)r);
		return r;
	}

	/* Up to 64 of the program's iovecs per call (the rest is a partial write, which the
	 * program must handle anyway), so this stays small on the program's stack. */
	int cap = RS_MIN(IOV_MAX, (int)RS_MIN((size_t)msg->msg_iovlen, (size_t)64) + 2 * MAX_EDITS + 2);
	struct seg s[cap];
	struct iovec v[cap];
	int n = layout(msg, &sc, h, s, cap);
	int i = 0;	   /* the segment the next byte on the wire comes from */
	size_t at = 0;	   /* and the offset in it */
	size_t app = 0;	   /* program bytes sent */
	uint64_t wire = 0; /* all bytes sent */
	ssize_t result;
	for (;;) {
		int k = 0;
		for (int j = i; j < n; j++, k++) {
			v[k].iov_base = (void *)(s[j].p + (j == i ? at : 0));
			v[k].iov_len = s[j].len - (j == i ? at : 0);
		}
		struct msghdr m = *msg;
		m.msg_iov = v;
		m.msg_iovlen = (size_t)k;
		errno = saved;
		ssize_t r = plain(fd, &m, flags);
		if (r < 0) {
			result = app ? (ssize_t)app : -1;
			break;
		}
		wire += (uint64_t)r;
		size_t left = (size_t)r;
		while (left && i < n) {
			size_t take = RS_MIN(left, s[i].len - at);
			if (s[i].kind != SEG_OURS)
				app += take;
			left -= take;
			at += take;
			if (at == s[i].len) {
				i++;
				at = 0;
			}
		}
		if (app || i == n) {
			result = (ssize_t)app;
			break;
		}
		/* Only injected bytes moved: the program's call has not sent anything yet. */
	}
	int err = errno;
	keep_pending(h, s, n, i, at);
	rs_add_relaxed(&c->bytes_out, wire - app); /* rs_conn_out_iov counts the program's */
	if (app)
		rs_conn_out_iov(c, msg->msg_iov, (size_t)msg->msg_iovlen, app);
	h->prep_n = h->prep_used = 0;
	errno = result < 0 ? err : saved;
	return result;
}

bool rs_conn_flush_injected(struct rs_conn *c, int fd)
{
	struct rs_http *h = rs_conn_proto(c) == RS_PROTO_HTTP ? rs_conn_http(c) : NULL;
	while (h && h->inj_pending_len) {
		struct iovec v = {h->inj_pending, h->inj_pending_len};
		struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
		ssize_t r = REAL(sendmsg)(fd, &m, 0);
		if (r < 0)
			return false;
		rs_add_relaxed(&c->bytes_out, (uint64_t)r);
		memmove(h->inj_pending, h->inj_pending + r, h->inj_pending_len - (size_t)r);
		h->inj_pending_len = (uint16_t)(h->inj_pending_len - (size_t)r);
	}
	return true;
}
