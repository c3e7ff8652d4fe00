/* SkyWalking segments from span records, and their JSON and protobuf forms (see sw_segment.h).
 * One reading (rs_sw_span_read) feeds both encoders, so they cannot disagree. */
#include "sw_segment.h"
#include "span_view.h"

#include "skywalking/management.pb-c.h"
#include "skywalking/tracing.pb-c.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

bool rs_sw_entry_sw8(const struct rs_rec_span *s, struct rs_sw8 *out)
{
	const char *v;
	size_t n;
	if (s->what != RS_SPAN_HTTP || s->kind != RS_KIND_SERVER ||
	    !rs_span_tlv(s, RS_T_SW8, &v, &n) || !rs_sw8_parse(v, n, out))
		return false;
	uint8_t t[16];
	rs_trace_id_from_text(out->trace_id, out->trace_id_len, t);
	return memcmp(t, s->trace_id, 16) == 0; /* else the span continued another context */
}

static void copy_text(char *dst, size_t cap, const char *src, size_t n)
{
	n = RS_MIN(n, cap - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* snprintf's "%s" and "%u" without its format machinery (one tag or reference at a time, per
 * span): cut to cap - 1 bytes the same way. */
static void copy_str(char *dst, size_t cap, const char *src)
{
	copy_text(dst, cap, src, strlen(src));
}

static void uint_text(char *dst, size_t cap, uint64_t v)
{
	char digits[20];
	size_t n = 0;
	do
		digits[n++] = (char)('0' + v % 10);
	while (v /= 10);
	size_t k = 0;
	while (n && k + 1 < cap)
		dst[k++] = digits[--n];
	dst[k] = 0;
}

/* "ip:port", IPv6 in brackets: the form the hooks write into sw8's address field. */
static void peer_text(const struct rs_addr *a, char *out, size_t cap)
{
	char text[INET6_ADDRSTRLEN + 16]; /* "[", the address, "]:", the port */
	out[0] = 0;
	bool v6 = a->family == AF_INET6;
	if (!rs_addr_text(a, text + v6, INET6_ADDRSTRLEN)[0])
		return;
	size_t n = v6 + strlen(text + v6);
	if (v6) {
		text[0] = '[';
		text[n++] = ']';
	}
	text[n++] = ':';
	uint_text(text + n, sizeof(text) - n, a->port);
	copy_str(out, cap, text);
}

/* The attributes the tags are made of. */
struct http_bits {
	char method[32], full[1024], path[512], query[512], host[256];
	int64_t port;
};

static void bits_str(void *ctx, const char *key, const char *v, size_t n)
{
	struct http_bits *b = ctx;
	if (key[0] != 'h' && key[0] != 'u' && key[0] != 's')
		return; /* none of the keys below: most attributes, without a compare */
	if (!strcmp(key, "http.request.method") && !b->method[0])
		copy_text(b->method, sizeof(b->method), v, n);
	else if (!strcmp(key, "http.request.method_original"))
		copy_text(b->method, sizeof(b->method), v, n);
	else if (!strcmp(key, "url.full"))
		copy_text(b->full, sizeof(b->full), v, n);
	else if (!strcmp(key, "url.path"))
		copy_text(b->path, sizeof(b->path), v, n);
	else if (!strcmp(key, "url.query"))
		copy_text(b->query, sizeof(b->query), v, n);
	else if (!strcmp(key, "server.address"))
		copy_text(b->host, sizeof(b->host), v, n);
}

static void bits_num(void *ctx, const char *key, int64_t v)
{
	if (!strcmp(key, "server.port"))
		((struct http_bits *)ctx)->port = v;
}

static void bits_flag(void *ctx, const char *key, bool v)
{
	(void)ctx, (void)key, (void)v;
}

/* The tags SkyWalking's agents put on HTTP spans: http.method, url and http.status_code (the
 * OAP reads the status from that key; `status_code` is its deprecated spelling). */
static void http_tags(const struct rs_rec_span *s, struct rs_sw_span *o)
{
	struct http_bits b = {0};
	struct rs_attr_sink sink = {bits_str, bits_num, bits_flag, &b};
	rs_span_attrs(s, &sink);
	/* http.method is the method as sent (the semantic conventions' _OTHER is theirs). */
	if (b.method[0] && strcmp(b.method, "_OTHER") != 0) {
		o->tag[o->ntags].key = "http.method";
		copy_str(o->tag[o->ntags++].value, sizeof(o->tag[0].value), b.method);
	}
	o->tag[o->ntags].key = "url";
	char *u = o->tag[o->ntags++].value;
	size_t cap = sizeof(o->tag[0].value);
	if (b.full[0]) {
		copy_str(u, cap, b.full);
	} else {
		/* url.full's shape from the server's side: the Host header (else the address), path
		 * and the query with its values redacted. */
		char port[16] = "";
		if (b.port > 0 && b.port != 80) { /* a port number, from a 16-bit field */
			port[0] = ':';
			uint_text(port + 1, sizeof(port) - 1, (uint64_t)b.port);
		}
		bool v6 = strchr(b.host, ':') != NULL;
		size_t at = 0;
		const char *parts[] = {
		    "http://", v6 ? "[" : "",	      b.host, v6 ? "]" : "", port,
		    b.path,    b.query[0] ? "?" : "", b.query};
		for (size_t k = 0; k < RS_ARRAY_LEN(parts); k++) {
			size_t n = RS_MIN(strlen(parts[k]), cap - 1 - at);
			memcpy(u + at, parts[k], n);
			at += n;
		}
		u[at] = 0;
	}
	if (s->u.http.status) {
		o->tag[o->ntags].key = "http.status_code";
		uint_text(o->tag[o->ntags++].value, sizeof(o->tag[0].value), s->u.http.status);
	}
}

static bool index_present(const struct rs_sw_seg *seg, int32_t idx)
{
	for (size_t i = 0; i < seg->n; i++)
		if (seg->spans[i]->u.http.seg_index == idx)
			return true;
	return false;
}

static void ref_from_sw8(struct rs_sw_ref *r, const struct rs_sw8 *w)
{
	r->type = RS_SW_CROSS_PROCESS;
	copy_text(r->trace_id, sizeof(r->trace_id), w->trace_id, w->trace_id_len);
	copy_text(r->segment, sizeof(r->segment), w->segment, w->segment_len);
	r->span = w->span_index;
	copy_text(r->service, sizeof(r->service), w->service, w->service_len);
	copy_text(r->instance, sizeof(r->instance), w->instance, w->instance_len);
	copy_text(r->endpoint, sizeof(r->endpoint), w->endpoint, w->endpoint_len);
	copy_text(r->address, sizeof(r->address), w->address, w->address_len);
}

static void cross_thread(struct rs_sw_span *o, const struct rs_sw_seg *seg, const char *segment,
			 int32_t index, const char *endpoint)
{
	struct rs_sw_ref *r = &o->ref;
	memset(r, 0, sizeof(*r));
	o->has_ref = true;
	r->type = RS_SW_CROSS_THREAD;
	copy_str(r->trace_id, sizeof(r->trace_id), seg->trace_id);
	copy_str(r->segment, sizeof(r->segment), segment);
	r->span = index;
	copy_str(r->service, sizeof(r->service), seg->service);
	copy_str(r->instance, sizeof(r->instance), seg->instance);
	copy_str(r->endpoint, sizeof(r->endpoint), endpoint);
}

void rs_sw_span_read(const struct rs_sw_seg *seg, size_t i, struct rs_sw_span *o)
{
	const struct rs_rec_span *s = seg->spans[i];
	const struct rs_http_info *h = &s->u.http;
	memset(o, 0, offsetof(struct rs_sw_span, tag));
	o->ntags = 0;
	o->has_ref = false;
	o->id = h->seg_index;
	o->parent = h->seg_parent_index;
	o->start_ms = (int64_t)(s->start_ns / 1000000u);
	o->end_ms = (int64_t)(RS_MAX(s->end_ns, s->start_ns) / 1000000u);
	o->type = s->kind == RS_KIND_SERVER   ? RS_SW_ENTRY
		  : s->kind == RS_KIND_CLIENT ? RS_SW_EXIT
					      : RS_SW_LOCAL;
	o->layer = RS_SW_LAYER_HTTP;
	o->component = RS_SW_COMPONENT_HTTP;
	o->error = s->status == RS_STATUS_ERROR;
	rs_span_name(s, o->op, sizeof(o->op));
	if (o->type == RS_SW_EXIT)
		peer_text(&h->peer, o->peer, sizeof(o->peer));
	http_tags(s, o);

	struct rs_sw8 w;
	if (o->parent >= 0 && !index_present(seg, o->parent)) {
		/* Its parent went out in an earlier part: continue it across "threads". */
		int32_t p = o->parent;
		o->parent = -1;
		if (seg->part) {
			/* The endpoint of the first part: its Entry span's name, when known. */
			uint8_t entry[8];
			struct rs_sw_parent e = {.endpoint = ""};
			rs_sw_span_id(rs_hash64(seg->base_id, strlen(seg->base_id)), 0, entry);
			if (!seg->parent || !seg->parent(seg->ctx, entry, &e))
				e.endpoint[0] = 0;
			cross_thread(o, seg, seg->base_id, p, e.endpoint);
		}
	} else if (o->type == RS_SW_ENTRY && rs_sw_entry_sw8(s, &w)) {
		o->has_ref = true;
		ref_from_sw8(&o->ref, &w);
	} else if (o->parent < 0 && !(s->flags & RS_SPAN_PARENT_REMOTE) && seg->parent) {
		/* A root with a parent in this process: a span another thread served. */
		static const uint8_t zero[8];
		struct rs_sw_parent p;
		if (memcmp(s->parent_id, zero, 8) != 0 && seg->parent(seg->ctx, s->parent_id, &p))
			cross_thread(o, seg, p.segment, p.index, p.endpoint);
	}
	/* A parent known only by traceparent has no SkyWalking segment to point at: the span keeps
	 * the trace id and no ref. */
}

/* --- JSON ------------------------------------------------------------------------------------ */

static void jkey(struct rs_buf *b, const char *k, bool first)
{
	if (!first)
		rs_buf_putc(b, ',');
	rs_buf_putc(b, '"');
	rs_buf_puts(b, k);
	rs_buf_puts(b, "\":");
}

static void jstr(struct rs_buf *b, const char *k, const char *v, bool first)
{
	jkey(b, k, first);
	rs_buf_json_str(b, v, strlen(v));
}

static void jnum(struct rs_buf *b, const char *k, int64_t v)
{
	jkey(b, k, false);
	rs_buf_i64(b, v);
}

static const char *const span_types[] = {"Entry", "Exit", "Local"};

static void json_span(struct rs_buf *b, const struct rs_sw_span *o)
{
	rs_buf_putc(b, '{');
	jkey(b, "spanId", true);
	rs_buf_i64(b, o->id);
	jnum(b, "parentSpanId", o->parent);
	jnum(b, "startTime", o->start_ms);
	jnum(b, "endTime", o->end_ms);
	if (o->has_ref) {
		const struct rs_sw_ref *r = &o->ref;
		jkey(b, "refs", false);
		rs_buf_puts(b, "[{");
		jstr(b, "refType", r->type == RS_SW_CROSS_THREAD ? "CrossThread" : "CrossProcess",
		     true);
		jstr(b, "traceId", r->trace_id, false);
		jstr(b, "parentTraceSegmentId", r->segment, false);
		jnum(b, "parentSpanId", r->span);
		jstr(b, "parentService", r->service, false);
		jstr(b, "parentServiceInstance", r->instance, false);
		jstr(b, "parentEndpoint", r->endpoint, false);
		jstr(b, "networkAddressUsedAtPeer", r->address, false);
		rs_buf_puts(b, "}]");
	}
	jstr(b, "operationName", o->op, false);
	if (o->peer[0])
		jstr(b, "peer", o->peer, false);
	jstr(b, "spanType", span_types[o->type], false);
	jstr(b, "spanLayer", "Http", false);
	jnum(b, "componentId", o->component);
	jkey(b, "isError", false);
	rs_buf_puts(b, o->error ? "true" : "false");
	jkey(b, "tags", false);
	rs_buf_putc(b, '[');
	for (unsigned t = 0; t < o->ntags; t++) {
		if (t)
			rs_buf_putc(b, ',');
		rs_buf_putc(b, '{');
		jstr(b, "key", o->tag[t].key, true);
		jstr(b, "value", o->tag[t].value, false);
		rs_buf_putc(b, '}');
	}
	rs_buf_puts(b, "]}");
}

void rs_sw_json_segment(struct rs_buf *b, const struct rs_sw_seg *seg)
{
	static struct rs_sw_span o; /* 3 KiB: reporter thread only */
	rs_buf_putc(b, '{');
	jstr(b, "traceId", seg->trace_id, true);
	jstr(b, "traceSegmentId", seg->id, false);
	jstr(b, "service", seg->service, false);
	jstr(b, "serviceInstance", seg->instance, false);
	if (seg->size_limited) {
		jkey(b, "isSizeLimited", false);
		rs_buf_puts(b, "true");
	}
	jkey(b, "spans", false);
	rs_buf_putc(b, '[');
	for (size_t i = 0; i < seg->n; i++) {
		if (i)
			rs_buf_putc(b, ',');
		rs_sw_span_read(seg, i, &o);
		json_span(b, &o);
	}
	rs_buf_puts(b, "]}");
}

static void json_identity(struct rs_buf *b, const char *service, const char *instance)
{
	rs_buf_putc(b, '{');
	jstr(b, "service", service, true);
	jstr(b, "serviceInstance", instance, false);
}

void rs_sw_json_properties(struct rs_buf *b, const char *service, const char *instance,
			   const struct rs_sw_kv *props, size_t n)
{
	json_identity(b, service, instance);
	jkey(b, "properties", false);
	rs_buf_putc(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			rs_buf_putc(b, ',');
		rs_buf_putc(b, '{');
		jstr(b, "key", props[i].key, true);
		jstr(b, "value", props[i].value, false);
		rs_buf_putc(b, '}');
	}
	rs_buf_puts(b, "]}");
}

void rs_sw_json_ping(struct rs_buf *b, const char *service, const char *instance)
{
	json_identity(b, service, instance);
	rs_buf_putc(b, '}');
}

/* --- protobuf -------------------------------------------------------------------------------- */

/* An arena copy of s as valid UTF-8 (names and tags come from the wire, sw8 fields are any bytes
 * a peer put into base64). */
static char *dup(struct rs_arena *a, const char *s)
{
	size_t n = strlen(s);
	const char *clean = rs_utf8_clean(s, &n);
	return clean ? rs_arena_strndup(a, clean, n) : NULL;
}

static Skywalking__V3__KeyStringValuePair *pb_kv(struct rs_arena *a, const char *k, const char *v)
{
	Skywalking__V3__KeyStringValuePair *kv = rs_arena_alloc(a, sizeof(*kv));
	if (!kv)
		return NULL;
	*kv = (Skywalking__V3__KeyStringValuePair)SKYWALKING__V3__KEY_STRING_VALUE_PAIR__INIT;
	kv->key = dup(a, k);
	kv->value = dup(a, v);
	return kv->key && kv->value ? kv : NULL;
}

static Skywalking__V3__SpanObject *pb_span(struct rs_arena *a, const struct rs_sw_span *o)
{
	Skywalking__V3__SpanObject *s = rs_arena_alloc(a, sizeof(*s));
	if (!s)
		return NULL;
	*s = (Skywalking__V3__SpanObject)SKYWALKING__V3__SPAN_OBJECT__INIT;
	s->spanid = o->id;
	s->parentspanid = o->parent;
	s->starttime = o->start_ms;
	s->endtime = o->end_ms;
	s->operationname = dup(a, o->op);
	s->peer = dup(a, o->peer);
	s->spantype = o->type;
	s->spanlayer = o->layer;
	s->componentid = o->component;
	s->iserror = o->error;
	s->tags = rs_arena_alloc(a, RS_SW_TAGS * sizeof(*s->tags));
	if (!s->operationname || !s->peer || !s->tags)
		return NULL;
	for (unsigned t = 0; t < o->ntags; t++)
		if (!(s->tags[s->n_tags++] = pb_kv(a, o->tag[t].key, o->tag[t].value)))
			return NULL;
	if (o->has_ref) {
		const struct rs_sw_ref *r = &o->ref;
		Skywalking__V3__SegmentReference *ref = rs_arena_alloc(a, sizeof(*ref));
		s->refs = rs_arena_alloc(a, sizeof(*s->refs));
		if (!ref || !s->refs)
			return NULL;
		*ref = (Skywalking__V3__SegmentReference)SKYWALKING__V3__SEGMENT_REFERENCE__INIT;
		ref->reftype = r->type;
		ref->traceid = dup(a, r->trace_id);
		ref->parenttracesegmentid = dup(a, r->segment);
		ref->parentspanid = r->span;
		ref->parentservice = dup(a, r->service);
		ref->parentserviceinstance = dup(a, r->instance);
		ref->parentendpoint = dup(a, r->endpoint);
		ref->networkaddressusedatpeer = dup(a, r->address);
		s->refs[0] = ref;
		s->n_refs = 1;
	}
	return rs_arena_failed(a) ? NULL : s;
}

static bool pack(struct rs_buf *out, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	if (!rs_buf_reserve(out, n))
		return false;
	out->len += protobuf_c_message_pack(m, (uint8_t *)out->p + out->len);
	return true;
}

bool rs_sw_pb_segment(struct rs_buf *out, const struct rs_sw_seg *seg, struct rs_arena *a)
{
	static struct rs_sw_span o;
	Skywalking__V3__SegmentObject m = SKYWALKING__V3__SEGMENT_OBJECT__INIT;
	m.traceid = dup(a, seg->trace_id);
	m.tracesegmentid = dup(a, seg->id);
	m.service = dup(a, seg->service);
	m.serviceinstance = dup(a, seg->instance);
	m.issizelimited = seg->size_limited;
	m.spans = rs_arena_alloc(a, (seg->n ? seg->n : 1) * sizeof(*m.spans));
	if (!m.spans || rs_arena_failed(a))
		return false;
	for (size_t i = 0; i < seg->n; i++) {
		rs_sw_span_read(seg, i, &o);
		if (!(m.spans[m.n_spans++] = pb_span(a, &o)))
			return false;
	}
	return pack(out, &m.base);
}

bool rs_sw_pb_properties(struct rs_buf *out, const char *service, const char *instance,
			 const struct rs_sw_kv *props, size_t n)
{
	struct rs_arena a = {0};
	Skywalking__V3__InstanceProperties m = SKYWALKING__V3__INSTANCE_PROPERTIES__INIT;
	m.service = dup(&a, service);
	m.serviceinstance = dup(&a, instance);
	m.properties = rs_arena_alloc(&a, (n ? n : 1) * sizeof(*m.properties));
	for (size_t i = 0; m.properties && i < n; i++)
		m.properties[m.n_properties++] = pb_kv(&a, props[i].key, props[i].value);
	bool ok = !rs_arena_failed(&a) && pack(out, &m.base);
	rs_arena_free(&a);
	return ok;
}

bool rs_sw_pb_ping(struct rs_buf *out, const char *service, const char *instance)
{
	struct rs_arena a = {0};
	Skywalking__V3__InstancePingPkg m = SKYWALKING__V3__INSTANCE_PING_PKG__INIT;
	m.service = dup(&a, service);
	m.serviceinstance = dup(&a, instance);
	bool ok = !rs_arena_failed(&a) && pack(out, &m.base);
	rs_arena_free(&a);
	return ok;
}
