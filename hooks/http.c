/* HTTP/1.x spans. A request's head is captured into a record as it passes (method, target, Host,
 * User-Agent, and on a server the inbound trace context); when the head ends the span's ids are
 * fixed and its first half is emitted (RS_REC_SPAN_BEGIN); when its response ends, or cannot,
 * the second half (RS_REC_SPAN_END). The reporter joins them. Pipelined requests wait in order.
 *
 * Span ids follow SkyWalking's segments so that sw8 alone links a trace: each thread keeps a
 * segment per trace (a server span opens one and is its span 0), and a span's OpenTelemetry id is
 * derived from (segment, index) — see rs_sw_span_id — by way of the hash of the segment id's hex
 * when sw8 or SkyWalking's segments may carry it (sw_ids), of its bits otherwise. */
#include "http.h"
#include "../preload/clock.h"
#include "../preload/config.h"
#include "../preload/http_route.h"
#include "../preload/sw_identity.h"
#include "../preload/log.h"
#include "../preload/pool.h"
#include "../preload/process.h"
#include "../preload/propagation.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct rs_pool pool;

/* Whether a peer may derive span ids from segment ids (sw8 propagated, or SkyWalking segments
 * exported): then the segment's hash must be the one sw8's readers compute. Fixed at start. */
static bool sw_ids;

/* The segment this thread is building, and what a client span under it propagates. */
static RS_TLS struct {
	bool valid;
	bool has_entry; /* opened by a server span (span 0) */
	uint8_t trace_id[16];
	uint8_t seg_id[8];
	uint8_t entry_span[8];
	uint64_t hash;
	int32_t next;
	bool named;	    /* an entry span's method and target are below: sw8's endpoint */
	uint8_t method;	    /* enum rs_http_method */
	uint16_t target_len;
	uint16_t tracestate_len;
	uint8_t sw_trace_len; /* another agent's trace id, as its sw8 carried it; 0: ours */
	char sw_trace[128];
	char target[448]; /* the entry span's, as captured (tlv_for's bound) */
	char tracestate[RS_TRACESTATE_MAX];
} seg;

/* SkyWalking's service and host names for sw8, fixed at start. */

/* What the capture callback does with each field: the TLV it goes to and its bound. */
static const struct {
	uint8_t key;
	uint16_t cap;
	bool first_only;
} tlv_for[RS_HPF_COUNT] = {
	[RS_HPF_METHOD] = {RS_T_METHOD, 16, true},
	[RS_HPF_TARGET] = {RS_T_TARGET, 448, true},
	[RS_HPF_HOST] = {RS_T_HOST, 96, true},
	[RS_HPF_USER_AGENT] = {RS_T_USER_AGENT, 160, true},
	[RS_HPF_TRACESTATE] = {RS_T_TRACESTATE, RS_TRACESTATE_MAX, false},
	[RS_HPF_SW8] = {RS_T_SW8, 320, true},
};

#define TLV_SKIP 0xff

static void capture(void *arg, enum rs_hp_field f, const char *b, size_t n, bool end)
{
	struct rs_http *h = arg;
	if (f == RS_HPF_TRACEPARENT) {
		size_t room = sizeof(h->traceparent) - 1 - h->traceparent_len;
		size_t k = RS_MIN(n, room);
		memcpy(h->traceparent + h->traceparent_len, b, k);
		h->traceparent_len = (uint8_t)(h->traceparent_len + k);
		return;
	}
	if (f >= RS_HPF_COUNT || !tlv_for[f].key)
		return;
	uint8_t key = tlv_for[f].key;
	union rs_rec *rec = h->rec;
	uint8_t *base = (uint8_t *)rec;
	if (end && h->tlv_key == 0 && n <= tlv_for[f].cap &&
	    rec->hdr.len + RS_TLV_HDR + n <= RS_REC_MAX &&
	    !(tlv_for[f].first_only && (h->tlv_seen & (1u << key)))) {
		/* The usual case, a value whole in one call that fits: trimmed, then put, with no
		 * state kept for a continuation (the same bytes as putting it and trimming). */
		while (n && (b[n - 1] == ' ' || b[n - 1] == '\t'))
			n--;
		rs_tlv_put(rec, key, b, n);
		h->tlv_seen |= (uint16_t)(1u << key);
		return;
	}
	if (h->tlv_key == 0) {
		if (tlv_for[f].first_only && (h->tlv_seen & (1u << key))) {
			h->tlv_key = TLV_SKIP;
		} else {
			uint16_t off = rec->hdr.len;
			rs_tlv_put(rec, key, b, RS_MIN(n, (size_t)tlv_for[f].cap));
			h->tlv_key = rec->hdr.len > off ? key : TLV_SKIP;
			h->tlv_off = off;
			h->tlv_seen |= (uint16_t)(1u << key);
		}
	} else if (h->tlv_key == key) {
		/* The value continues: it is the last TLV, so it can grow in place. */
		size_t cur = (size_t)base[h->tlv_off + 1] | ((size_t)base[h->tlv_off + 2] << 8);
		size_t add = RS_MIN(n, (size_t)tlv_for[f].cap - RS_MIN(cur, (size_t)tlv_for[f].cap));
		add = RS_MIN(add, (size_t)RS_REC_MAX - rec->hdr.len);
		memcpy(base + rec->hdr.len, b, add);
		cur += add;
		base[h->tlv_off + 1] = (uint8_t)(cur & 0xff);
		base[h->tlv_off + 2] = (uint8_t)(cur >> 8);
		rec->hdr.len = (uint16_t)(rec->hdr.len + add);
	}
	if (end) {
		if (h->tlv_key != 0 && h->tlv_key != TLV_SKIP) {
			/* Header values end in optional white space: not part of the value. */
			size_t cur = (size_t)base[h->tlv_off + 1] | ((size_t)base[h->tlv_off + 2] << 8);
			while (cur && (base[rec->hdr.len - 1] == ' ' || base[rec->hdr.len - 1] == '\t')) {
				cur--;
				rec->hdr.len--;
			}
			base[h->tlv_off + 1] = (uint8_t)(cur & 0xff);
			base[h->tlv_off + 2] = (uint8_t)(cur >> 8);
		}
		h->tlv_key = 0;
	}
}

/* The first TLV with key in h's record. tlv_seen has the bit of every key the record holds, so
 * a key never met (sw8, tracestate: most requests) costs no walk. */
static bool tlv_find(const struct rs_http *h, uint8_t key, const char **data, size_t *len)
{
	if (!(h->tlv_seen & (1u << key)))
		return false;
	size_t off = RS_HTTP_TLV_START;
	uint8_t k;
	while (rs_tlv_next(h->rec, &off, &k, data, len))
		if (k == key)
			return true;
	return false;
}

struct rs_http *rs_http_open(struct rs_conn *c, bool server)
{
	uint32_t index;
	struct rs_http *h = rs_pool_alloc(&pool, &index);
	if (!h) {
		RS_LOG_ONCE(RS_LOG_WARN, "more than RINGSIDE_HTTP_CONNS=%u HTTP connections at once; "
					 "the excess is followed as plain TCP",
			    rs_cfg.http_conns);
		return NULL;
	}
	(void)c;
	h->pool_index = index;
	h->server = server;
	uint32_t want = 1u << RS_HPF_METHOD | 1u << RS_HPF_TARGET | 1u << RS_HPF_HOST |
			1u << RS_HPF_USER_AGENT;
	if (server)
		want |= 1u << RS_HPF_TRACEPARENT | 1u << RS_HPF_TRACESTATE | 1u << RS_HPF_SW8;
	rs_hp_init(&h->req, RS_HP_REQUEST, want, capture, h);
	if (server)
		rs_hp_no_line_end(&h->req); /* the injection point matters to a client only */
	rs_hp_init(&h->resp, RS_HP_RESPONSE, 0, NULL, NULL);
	return h;
}

static void begin_request(struct rs_conn *c, struct rs_http *h)
{
	h->building = true;
	memset(h->rec, 0, RS_HTTP_TLV_START);
	h->rec[0].hdr.len = RS_HTTP_TLV_START;
	h->tlv_key = 0;
	h->tlv_seen = 0;
	h->traceparent_len = 0;
	uint64_t first = rs_conn_first_byte(c);
	h->req_start_ns = first ? first : rs_epoch_ns();
	if (first)
		rs_conn_set_first_byte(c, 0);
}

/* A new segment on this thread for trace_id. */
static void new_segment(const uint8_t trace_id[16], bool entry)
{
	seg.valid = true;
	seg.has_entry = entry;
	memcpy(seg.trace_id, trace_id, 16);
	rs_new_span_id(seg.seg_id);
	if (sw_ids) {
		seg.hash = rs_hash64_hex(seg.seg_id, 8); /* = rs_hash64 of the id's hex, as sw8 has it */
	} else {
		/* No one derives ids from it: its random bits will do (a hash costs 130 instructions
		 * a request). */
		memcpy(&seg.hash, seg.seg_id, sizeof(seg.hash));
	}
	seg.next = 0;
	seg.named = false;
	seg.tracestate_len = 0;
	seg.sw_trace_len = 0;
}

/* The server span of the request whose head h holds: its parent comes from the request. */
static void server_span(struct rs_http *h, struct rs_http_prep *p)
{
	struct rs_ctx parent = {0};
	memset(p, 0, sizeof(*p));
	if ((rs_cfg.propagators & RS_PROPAGATE_TRACECONTEXT) && h->traceparent_len &&
	    !(h->req.flags & RS_HPM_DUP_TRACEPARENT) &&
	    rs_traceparent_parse(h->traceparent, h->traceparent_len, &parent))
		p->prop |= RS_PROP_TRACECONTEXT;
	const char *v;
	size_t vl;
	struct rs_sw8 sw;
	if (!parent.valid && (rs_cfg.propagators & RS_PROPAGATE_SW8) && tlv_find(h, RS_T_SW8, &v, &vl) &&
	    rs_sw8_parse(v, vl, &sw)) {
		rs_trace_id_from_text(sw.trace_id, sw.trace_id_len, parent.trace_id);
		rs_sw_span_id(rs_hash64(sw.segment, sw.segment_len), sw.span_index, parent.span_id);
		parent.flags = sw.sampled ? 1 : 0;
		parent.valid = true;
		p->prop |= RS_PROP_SW8;
	}
	if (parent.valid)
		memcpy(p->ctx.trace_id, parent.trace_id, 16);
	else
		rs_new_trace_id(p->ctx.trace_id);
	new_segment(p->ctx.trace_id, true);
	if (p->prop & RS_PROP_SW8) {
		/* Another agent's trace id (not 32 hex digits) goes on downstream as it came, or
		 * SkyWalking would see a new trace at the next hop. */
		char hex[32];
		rs_hex(parent.trace_id, 16, hex);
		if (sw.trace_id_len != 32 || memcmp(hex, sw.trace_id, 32) != 0) {
			seg.sw_trace_len = (uint8_t)RS_MIN(sw.trace_id_len, sizeof(seg.sw_trace));
			memcpy(seg.sw_trace, sw.trace_id, seg.sw_trace_len);
		}
	}
	p->seg_index = seg.next++;
	p->seg_parent = -1;
	memcpy(p->seg_id, seg.seg_id, 8);
	rs_sw_span_id(seg.hash, p->seg_index, p->ctx.span_id);
	memcpy(seg.entry_span, p->ctx.span_id, 8);
	p->ctx.flags = parent.valid ? parent.flags : 0x01;
	p->ctx.valid = true;
	if (parent.valid)
		memcpy(p->parent_id, parent.span_id, 8);
	p->parent_remote = parent.valid;
}

void rs_http_prepare_client(struct rs_conn *c, struct rs_http_prep *p)
{
	(void)c;
	memset(p, 0, sizeof(*p));
	const struct rs_ctx *parent = rs_t.active.valid ? &rs_t.active : &rs_t.inherited;
	if (parent->valid)
		memcpy(p->ctx.trace_id, parent->trace_id, 16);
	else
		rs_new_trace_id(p->ctx.trace_id);
	if (!seg.valid || memcmp(seg.trace_id, p->ctx.trace_id, 16) != 0)
		new_segment(p->ctx.trace_id, false);
	p->seg_index = seg.next++;
	p->seg_parent = seg.has_entry ? 0 : -1;
	memcpy(p->seg_id, seg.seg_id, 8);
	rs_sw_span_id(seg.hash, p->seg_index, p->ctx.span_id);
	p->ctx.flags = parent->valid ? parent->flags : 0x01;
	p->ctx.valid = true;
	if (parent->valid)
		memcpy(p->parent_id, parent->span_id, 8);
	p->parent_remote = parent->valid && parent->remote;
	p->prop = (uint8_t)((rs_cfg.propagators & RS_PROPAGATE_TRACECONTEXT ? RS_PROP_TRACECONTEXT : 0) |
			    (rs_cfg.propagators & RS_PROPAGATE_SW8 ? RS_PROP_SW8 : 0));
}

static size_t put(char *out, size_t o, size_t cap, const char *s, size_t n)
{
	if (o + n > cap)
		return cap + 1; /* marks overflow */
	memcpy(out + o, s, n);
	return o + n;
}

/* "ip:port" of a peer, IPv6 in brackets. */
static size_t peer_text(const struct rs_addr *a, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	if (!a->family || !inet_ntop(a->family, a->addr, ip, sizeof(ip)))
		return 0;
	int n = snprintf(out, cap, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, a->port);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t rs_http_inject_text(const struct rs_conn *c, const struct rs_http_prep *p, char *out,
			   size_t cap)
{
	size_t o = 0;
	if (p->prop & RS_PROP_TRACECONTEXT) {
		char tp[RS_TRACEPARENT_LEN];
		rs_traceparent_format(&p->ctx, tp);
		o = put(out, o, cap, "traceparent: ", 13);
		o = put(out, o, cap, tp, sizeof(tp));
		o = put(out, o, cap, "\r\n", 2);
		if (seg.has_entry && seg.tracestate_len &&
		    memcmp(seg.trace_id, p->ctx.trace_id, 16) == 0) {
			o = put(out, o, cap, "tracestate: ", 12);
			o = put(out, o, cap, seg.tracestate, seg.tracestate_len);
			o = put(out, o, cap, "\r\n", 2);
		}
	}
	if (p->prop & RS_PROP_SW8) {
		static RS_TLS struct rs_sw8 sw; /* 1 KiB: not on the program's stack */
		sw.sampled = p->ctx.flags & 1;
		if (seg.has_entry && seg.sw_trace_len &&
		    memcmp(seg.trace_id, p->ctx.trace_id, 16) == 0) {
			memcpy(sw.trace_id, seg.sw_trace, seg.sw_trace_len);
			sw.trace_id_len = seg.sw_trace_len;
		} else {
			rs_hex(p->ctx.trace_id, 16, sw.trace_id);
			sw.trace_id_len = 32;
		}
		rs_hex(p->seg_id, 8, sw.segment);
		sw.segment_len = 16;
		sw.span_index = p->seg_index;
		sw.service_len = (uint16_t)strnlen(rs_sw_service(), sizeof(sw.service));
		memcpy(sw.service, rs_sw_service(), sw.service_len);
		sw.instance_len = (uint16_t)rs_sw_instance(sw.instance, sizeof(sw.instance));
		if (seg.has_entry && seg.named) { /* the entry span's name, made only when needed */
			char name[RS_HTTP_NAME_MAX];
			size_t nl = rs_http_span_name(seg.method, seg.target, seg.target_len, name,
						      sizeof(name));
			sw.endpoint_len = (uint16_t)RS_MIN(nl, (size_t)150);
			memcpy(sw.endpoint, name, sw.endpoint_len);
		} else { /* no entry span: the process stands for it */
			sw.endpoint_len = sw.service_len;
			memcpy(sw.endpoint, sw.service, sw.service_len);
		}
		sw.address_len = (uint16_t)peer_text(&c->peer, sw.address, sizeof(sw.address));
		char val[1024];
		size_t vl;
		if (rs_sw8_format(&sw, val, sizeof(val), &vl)) {
			o = put(out, o, cap, "sw8: ", 5);
			o = put(out, o, cap, val, vl);
			o = put(out, o, cap, "\r\n", 2);
		}
	}
	return o > cap ? 0 : o;
}

static void prime_response(struct rs_http *h)
{
	if (!h->pend_n || !rs_hp_idle(&h->resp))
		return;
	uint8_t m = h->pend[h->pend_head].method;
	if (m == RS_M_HEAD || m == RS_M_CONNECT)
		rs_hp_expect_no_body(&h->resp);
}

static void end_span(struct rs_http *h, const struct rs_http_pending *e, uint8_t end,
		     uint64_t resp_body)
{
	union rs_rec *rec = rs_emit_reserve();
	if (rec) {
		struct rs_rec_end *x = &rec->end;
		memset(x, 0, sizeof(*x));
		x->h.type = RS_REC_SPAN_END;
		x->h.nslots = 1;
		x->h.len = sizeof(*x);
		x->h.tid = (uint32_t)rs_thread_tid();
		memcpy(x->trace_id, e->trace_id, 16);
		memcpy(x->span_id, e->span_id, 8);
		x->end_ns = rs_epoch_ns();
		x->resp_start_ns = e->resp_start_ns;
		x->req_body = e->req_body;
		x->resp_body = resp_body;
		x->status = e->status;
		x->end = end;
		rs_emit_commit();
	}
	/* The thread no longer serves this request. */
	if (h->server && rs_t.active.valid && memcmp(rs_t.active.span_id, e->span_id, 8) == 0) {
		rs_thread_set_active(NULL);
		if (seg.has_entry && memcmp(seg.entry_span, e->span_id, 8) == 0)
			seg.valid = false;
	}
}

static struct rs_http_pending *pop(struct rs_http *h)
{
	struct rs_http_pending *e = &h->pend[h->pend_head];
	h->pend_head = (uint8_t)((h->pend_head + 1) % RS_HTTP_PIPELINE);
	h->pend_n--;
	return e;
}

static void head_done(struct rs_conn *c, struct rs_http *h)
{
	h->building = false;
	struct rs_http_prep p;
	if (h->server) {
		server_span(h, &p);
	} else if (h->cur_valid) {
		p = h->cur;
		h->cur_valid = false;
	} else {
		rs_http_prepare_client(c, &p);
		p.prop = 0; /* nothing was injected into this one */
	}
	const char *m = "";
	size_t ml = 0;
	tlv_find(h, RS_T_METHOD, &m, &ml);
	uint8_t method = rs_http_method_code(m, ml);

	struct rs_rec_span *s = &h->rec[0].span;
	s->h.type = RS_REC_SPAN_BEGIN;
	s->kind = h->server ? RS_KIND_SERVER : RS_KIND_CLIENT;
	s->what = RS_SPAN_HTTP;
	s->flags = p.parent_remote ? RS_SPAN_PARENT_REMOTE : 0;
	s->trace_flags = p.ctx.flags;
	memcpy(s->trace_id, p.ctx.trace_id, 16);
	memcpy(s->span_id, p.ctx.span_id, 8);
	memcpy(s->parent_id, p.parent_id, 8);
	s->start_ns = h->req_start_ns;
	struct rs_http_info *hi = &s->u.http;
	memcpy(hi->seg_id, p.seg_id, 8);
	hi->seg_index = p.seg_index;
	hi->seg_parent_index = p.seg_parent;
	hi->peer = c->peer;
	hi->local_port = c->local_port;
	hi->method = method;
	hi->version = h->req.version;
	hi->prop = p.prop;
	rs_emit_copy(h->rec); /* named by the reporter, from the method and target */

	if (h->server) {
		rs_thread_set_active(&p.ctx);
		const char *v;
		size_t vl;
		/* What sw8's endpoint is made of, should this thread call out under the span (with
		 * sw8 propagated only). */
		if (rs_cfg.propagators & RS_PROPAGATE_SW8) {
			const char *target = "";
			size_t target_len = 0;
			tlv_find(h, RS_T_TARGET, &target, &target_len);
			seg.method = method;
			seg.target_len = (uint16_t)RS_MIN(target_len, sizeof(seg.target));
			memcpy(seg.target, target, seg.target_len);
			seg.named = true;
		}
		/* Repeated tracestate headers are one list (none met: nothing to walk). */
		seg.tracestate_len = 0;
		if ((p.prop & RS_PROP_TRACECONTEXT) && (h->tlv_seen & (1u << RS_T_TRACESTATE))) {
			size_t off = RS_HTTP_TLV_START, tl = 0;
			uint8_t k;
			char joined[RS_TRACESTATE_MAX];
			while (rs_tlv_next(h->rec, &off, &k, &v, &vl))
				if (k == RS_T_TRACESTATE && tl + vl + 1 <= sizeof(joined)) {
					if (tl)
						joined[tl++] = ',';
					memcpy(joined + tl, v, vl);
					tl += vl;
				}
			seg.tracestate_len = (uint16_t)rs_tracestate_clean(joined, tl, seg.tracestate,
									   sizeof(seg.tracestate));
		}
	}

	if (h->pend_n == RS_HTTP_PIPELINE) /* deeper pipelining than followed: give up the oldest */
		end_span(h, pop(h), RS_HTTP_END_PARSE, 0);
	struct rs_http_pending *e = &h->pend[(h->pend_head + h->pend_n) % RS_HTTP_PIPELINE];
	memset(e, 0, sizeof(*e));
	memcpy(e->trace_id, p.ctx.trace_id, 16);
	memcpy(e->span_id, p.ctx.span_id, 8);
	e->method = method;
	h->pend_n++;
	prime_response(h);
}

/* The bytes stopped being HTTP: waiting requests end, and the connection is not parsed again. */
static void stop(struct rs_http *h)
{
	h->dead = true;
	while (h->pend_n)
		end_span(h, pop(h), RS_HTTP_END_PARSE, 0);
}

void rs_http_requests(struct rs_conn *c, struct rs_http *h, const char *buf, size_t n)
{
	while (!h->dead) {
		if (n && !h->building && rs_hp_idle(&h->req))
			begin_request(c, h);
		enum rs_hp_event ev;
		size_t used = rs_hp_feed(&h->req, buf, n, &ev);
		buf += used;
		n -= used;
		switch (ev) {
		case RS_HP_MORE:
			return;
		case RS_HP_LINE_END:
			if (!h->server && h->prep_used < h->prep_n) {
				h->cur = h->prep[h->prep_used++];
				h->cur_valid = true;
			}
			break;
		case RS_HP_HEAD_DONE:
			head_done(c, h);
			break;
		case RS_HP_MSG_DONE:
			if (h->pend_n) /* the newest request's body has ended */
				h->pend[(h->pend_head + h->pend_n - 1) % RS_HTTP_PIPELINE].req_body =
					h->req.last_body;
			break;
		case RS_HP_ERROR:
			stop(h);
			return;
		}
	}
}

static void response_done(struct rs_http *h, uint8_t end)
{
	if (!h->pend_n)
		return;
	struct rs_http_pending *e = pop(h);
	bool tunnel = e->status == 101 || (e->method == RS_M_CONNECT && e->status / 100 == 2);
	end_span(h, e, tunnel ? RS_HTTP_END_UPGRADE : end, h->resp.last_body);
	if (tunnel)
		stop(h); /* what follows is another protocol */
	else
		prime_response(h);
}

void rs_http_responses(struct rs_conn *c, struct rs_http *h, const char *buf, size_t n)
{
	(void)c;
	while (!h->dead) {
		if (n && h->pend_n && rs_hp_idle(&h->resp)) {
			struct rs_http_pending *e = &h->pend[h->pend_head];
			if (!e->resp_start_ns)
				e->resp_start_ns = rs_epoch_ns();
		}
		enum rs_hp_event ev;
		size_t used = rs_hp_feed(&h->resp, buf, n, &ev);
		buf += used;
		n -= used;
		switch (ev) {
		case RS_HP_MORE:
		case RS_HP_LINE_END:
			if (ev == RS_HP_MORE)
				return;
			break;
		case RS_HP_HEAD_DONE:
			if (h->pend_n && (h->resp.status >= 200 || h->resp.status == 101))
				h->pend[h->pend_head].status = h->resp.status;
			break;
		case RS_HP_MSG_DONE:
			response_done(h, RS_HTTP_END_LENGTH);
			break;
		case RS_HP_ERROR:
			stop(h);
			return;
		}
	}
}

void rs_http_skip(struct rs_conn *c, struct rs_http *h, bool requests, uint64_t n)
{
	(void)c;
	if (h->dead)
		return;
	struct rs_hp *p = requests ? &h->req : &h->resp;
	enum rs_hp_event ev = rs_hp_skip(p, n);
	if (ev == RS_HP_ERROR)
		stop(h);
	else if (ev == RS_HP_MSG_DONE && !requests)
		response_done(h, RS_HTTP_END_LENGTH);
	else if (ev == RS_HP_MSG_DONE && h->pend_n)
		h->pend[(h->pend_head + h->pend_n - 1) % RS_HTTP_PIPELINE].req_body = p->last_body;
}

void rs_http_close(struct rs_conn *c, struct rs_http *h, uint8_t end)
{
	(void)c;
	if (!h->dead && rs_hp_close(&h->resp) == RS_HP_MSG_DONE)
		response_done(h, RS_HTTP_END_CLOSE);
	while (h->pend_n)
		end_span(h, pop(h), end, 0);
	rs_pool_free(&pool, h->pool_index);
}

uint32_t rs_http_held(void)
{
	return rs_pool_in_use(&pool);
}

void rs_http_after_fork(struct rs_http *h)
{
	h->pend_n = 0;
	h->building = false;
	h->cur_valid = false;
	h->prep_n = h->prep_used = 0;
}

bool rs_http_current_context(struct rs_ctx *out)
{
	if (rs_t.active.valid)
		*out = rs_t.active;
	else if (rs_t.inherited.valid)
		*out = rs_t.inherited;
	else
		return false;
	return true;
}

__attribute__((constructor(104))) static void rs_http_init(void)
{
	if (!rs_load_relaxed(&rs_active))
		return;
	rs_pool_init(&pool, sizeof(struct rs_http), rs_cfg.http_conns);
	/* The context a launcher or a traced parent handed down. */
	const char *tp = getenv("TRACEPARENT");
	struct rs_ctx c;
	if (tp && rs_traceparent_parse(tp, strnlen(tp, 128), &c)) {
		c.remote = true;
		rs_t.inherited = c;
	}
	sw_ids = (rs_cfg.propagators & RS_PROPAGATE_SW8) || rs_cfg.exporter == RS_EXPORTER_SKYWALKING;
	if (sw_ids)
		rs_sw_identity_init(); /* for sw8, and for the reporter's SkyWalking messages */
}
