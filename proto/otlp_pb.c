/* OTLP protobuf encoding. Spans (the hot path) are written directly with pb_writer.h: one pass
 * over each span, each byte written once. The resource as a protobuf-c message (for the metrics,
 * a few per minute) and the collector's answers use protobuf-c. */
#include "otlp_pb.h"
#include "otlp_json.h"
#include "pb_writer.h"
#include "span_view.h"

#include "otlp/status.pb-c.h"
#include "otlp/trace.pb-c.h"

#include <stdio.h>
#include <string.h>

#define MAX_ATTRS 64

struct attr_list {
	struct rs_arena *a;
	Otlp__KeyValue **kv;
	size_t n;
};

static Otlp__KeyValue *new_kv(struct attr_list *l, const char *key)
{
	if (l->n == MAX_ATTRS)
		return NULL;
	Otlp__KeyValue *kv = rs_arena_alloc(l->a, sizeof(*kv));
	Otlp__AnyValue *v = rs_arena_alloc(l->a, sizeof(*v));
	if (!kv || !v)
		return NULL;
	*kv = (Otlp__KeyValue)OTLP__KEY_VALUE__INIT;
	*v = (Otlp__AnyValue)OTLP__ANY_VALUE__INIT;
	kv->key = (char *)key; /* keys are string literals or arena strings */
	kv->value = v;
	l->kv[l->n++] = kv;
	return kv;
}

static void put_str(void *ctx, const char *key, const char *s, size_t n)
{
	struct attr_list *l = ctx;
	Otlp__KeyValue *kv = new_kv(l, key);
	char *copy = rs_arena_strndup(l->a, s, n);
	if (!kv || !copy)
		return;
	kv->value->value_case = OTLP__ANY_VALUE__VALUE_STRING_VALUE;
	kv->value->string_value = copy;
}

static void put_num(void *ctx, const char *key, int64_t v)
{
	Otlp__KeyValue *kv = new_kv(ctx, key);
	if (!kv)
		return;
	kv->value->value_case = OTLP__ANY_VALUE__VALUE_INT_VALUE;
	kv->value->int_value = v;
}

Otlp__Resource *rs_otlp_pb_resource(const struct rs_resource *r, struct rs_arena *a)
{
	Otlp__Resource *res = rs_arena_alloc(a, sizeof(*res));
	struct attr_list l = {a, rs_arena_alloc(a, MAX_ATTRS * sizeof(Otlp__KeyValue *)), 0};
	if (!res || !l.kv)
		return NULL;
	*res = (Otlp__Resource)OTLP__RESOURCE__INIT;
	for (size_t i = 0; i < r->n; i++) {
		const struct rs_attr *x = &r->attr[i];
		char *key = rs_arena_strndup(a, x->key, strlen(x->key));
		if (!key)
			return NULL;
		if (x->type == RS_ATTR_STR) {
			put_str(&l, key, x->str, x->len);
		} else if (x->type == RS_ATTR_INT) {
			put_num(&l, key, x->num);
		} else {
			Otlp__KeyValue *kv = new_kv(&l, key);
			Otlp__ArrayValue *arr = rs_arena_alloc(a, sizeof(*arr));
			Otlp__AnyValue **vals = rs_arena_alloc(a, x->len * sizeof(*vals) + 1);
			if (!kv || !arr || !vals)
				return NULL;
			*arr = (Otlp__ArrayValue)OTLP__ARRAY_VALUE__INIT;
			const char *s = x->str;
			for (size_t k = 0; k < x->len; k++) {
				vals[k] = rs_arena_alloc(a, sizeof(Otlp__AnyValue));
				if (!vals[k])
					return NULL;
				*vals[k] = (Otlp__AnyValue)OTLP__ANY_VALUE__INIT;
				vals[k]->value_case = OTLP__ANY_VALUE__VALUE_STRING_VALUE;
				vals[k]->string_value = (char *)s;
				s += strlen(s) + 1;
			}
			arr->n_values = x->len;
			arr->values = vals;
			kv->value->value_case = OTLP__ANY_VALUE__VALUE_ARRAY_VALUE;
			kv->value->array_value = arr;
		}
	}
	res->n_attributes = l.n;
	res->attributes = l.kv;
	return rs_arena_failed(a) ? NULL : res;
}

/* --- the direct writer ---------------------------------------------------------------------- */

/* Field numbers (opentelemetry-proto; docs: wire-formats.md section 3). */
enum {
	KV_KEY = 1, KV_VALUE = 2,
	ANY_STRING = 1, ANY_BOOL = 2, ANY_INT = 3, ANY_ARRAY = 5,
	ARRAY_VALUES = 1, RESOURCE_ATTRS = 1,
	REQ_RESOURCE_SPANS = 1, RS_RESOURCE = 1, RS_SCOPE_SPANS = 2,
	SS_SCOPE = 1, SS_SPANS = 2, SCOPE_NAME = 1, SCOPE_VERSION = 2,
	SPAN_TRACE_ID = 1, SPAN_SPAN_ID = 2, SPAN_TRACE_STATE = 3, SPAN_PARENT_ID = 4,
	SPAN_NAME = 5, SPAN_KIND = 6, SPAN_START = 7, SPAN_END = 8, SPAN_ATTRS = 9,
	SPAN_EVENTS = 11, SPAN_STATUS = 15, SPAN_FLAGS = 16,
	EVENT_TIME = 1, EVENT_NAME = 2, EVENT_ATTRS = 3,
	STATUS_MESSAGE = 2, STATUS_CODE = 3,
};

#define TAG(field, wire) ((char)((field) << 3 | (wire)))

/* Where attributes go: the buffer and the repeated KeyValue field of the message being written. */
struct kv_out {
	struct rs_buf *b;
	unsigned field;
};

/* Makes room for a KeyValue whose AnyValue body is any_len bytes and writes all of it but that
 * body, whose place it returns (the caller writes the body and sets b->len); NULL when memory
 * ran out. Lengths are known up front, so nothing is patched. The key is left out when empty,
 * as proto3 encoders do. */
static char *kv_head(struct rs_buf *b, unsigned field, const char *key, size_t any_len)
{
	size_t kl = strlen(key);
	size_t kv_len = (kl ? 1 + rs_pb_varint_size(kl) + kl : 0) + 1 +
			rs_pb_varint_size(any_len) + any_len;
	size_t total = 2 + rs_pb_varint_size(kv_len) + kv_len;
	if (rs_unlikely(b->len + total > b->cap) && !rs_buf_reserve(b, total))
		return NULL;
	char *p = b->p + b->len;
	p += rs_pb_varint_at(p, (uint64_t)field << 3 | RS_PB_LEN);
	p += rs_pb_varint_at(p, kv_len);
	if (kl) {
		*p++ = TAG(KV_KEY, RS_PB_LEN);
		p += rs_pb_varint_at(p, kl);
		memcpy(p, key, kl);
		p += kl;
	}
	*p++ = TAG(KV_VALUE, RS_PB_LEN);
	p += rs_pb_varint_at(p, any_len);
	return p;
}

/* s as valid UTF-8 (rs_utf8_clean; "" when memory ran out). A protobuf `string` must be valid
 * UTF-8, and Go and Java receivers refuse the whole batch otherwise. */
static const char *utf8(const char *s, size_t *n)
{
	const char *clean = rs_utf8_clean(s, n);
	if (!clean) {
		*n = 0;
		return "";
	}
	return clean;
}

static void kv_str(void *ctx, const char *key, const char *v, size_t n)
{
	struct kv_out *o = ctx;
	v = utf8(v, &n);
	char *p = kv_head(o->b, o->field, key, 1 + rs_pb_varint_size(n) + n);
	if (!p)
		return;
	*p++ = TAG(ANY_STRING, RS_PB_LEN);
	p += rs_pb_varint_at(p, n);
	memcpy(p, v, n);
	o->b->len = (size_t)(p + n - o->b->p);
}

static void kv_num(void *ctx, const char *key, int64_t v)
{
	struct kv_out *o = ctx;
	char *p = kv_head(o->b, o->field, key, 1 + rs_pb_varint_size((uint64_t)v));
	if (!p)
		return;
	*p++ = TAG(ANY_INT, RS_PB_VARINT);
	p += rs_pb_varint_at(p, (uint64_t)v); /* int64: negative values take 10 bytes */
	o->b->len = (size_t)(p - o->b->p);
}

static void kv_flag(void *ctx, const char *key, bool v)
{
	struct kv_out *o = ctx;
	char *p = kv_head(o->b, o->field, key, 2);
	if (!p)
		return;
	*p++ = TAG(ANY_BOOL, RS_PB_VARINT);
	*p++ = v ? 1 : 0;
	o->b->len = (size_t)(p - o->b->p);
}

/* A proto3 string field: left out when empty. */
static void opt_str(struct rs_buf *b, unsigned field, const char *s, size_t n)
{
	if (n) {
		s = utf8(s, &n);
		rs_pb_bytes(b, field, s, n);
	}
}

bool rs_otlp_pb_resource_body(struct rs_buf *out, const struct rs_resource *r)
{
	struct kv_out o = {out, RESOURCE_ATTRS};
	for (size_t i = 0; i < r->n; i++) {
		const struct rs_attr *x = &r->attr[i];
		if (x->type == RS_ATTR_STR) {
			kv_str(&o, x->key, x->str, x->len);
		} else if (x->type == RS_ATTR_INT) {
			kv_num(&o, x->key, x->num);
		} else {
			/* KeyValue{key, AnyValue{array_value: ArrayValue{values: AnyValue{string}...}}} */
			size_t kv = rs_pb_open(out, RESOURCE_ATTRS, 1);
			opt_str(out, KV_KEY, x->key, strlen(x->key));
			size_t any = rs_pb_open(out, KV_VALUE, 1);
			size_t arr = rs_pb_open(out, ANY_ARRAY, 1);
			const char *s = x->str;
			for (size_t k = 0; k < x->len; k++) {
				size_t sl = strlen(s);
				size_t v = rs_pb_open(out, ARRAY_VALUES, 1);
				rs_pb_bytes(out, ANY_STRING, s, sl);
				rs_pb_close(out, v, 1);
				s += sl + 1;
			}
			rs_pb_close(out, arr, 1);
			rs_pb_close(out, any, 1);
			rs_pb_close(out, kv, 1);
		}
	}
	return !rs_buf_failed(out);
}

static void put_span(struct rs_buf *b, const struct rs_rec_span *s)
{
	static const uint8_t zero[8];
	char name[256], ts[1024];
	/* Most spans are 128 bytes to 16 KiB: a two-byte length, patched once written. */
	size_t body = rs_pb_open(b, SS_SPANS, 2);
	rs_pb_bytes(b, SPAN_TRACE_ID, s->trace_id, 16);
	rs_pb_bytes(b, SPAN_SPAN_ID, s->span_id, 8);
	opt_str(b, SPAN_TRACE_STATE, ts, rs_span_tracestate(s, ts, sizeof(ts)));
	if (memcmp(s->parent_id, zero, 8) != 0)
		rs_pb_bytes(b, SPAN_PARENT_ID, s->parent_id, 8);
	opt_str(b, SPAN_NAME, name, rs_span_name(s, name, sizeof(name)));
	if (s->kind)
		rs_pb_uint(b, SPAN_KIND, s->kind);
	uint64_t end = RS_MAX(s->end_ns, s->start_ns);
	if (s->start_ns)
		rs_pb_fixed64(b, SPAN_START, s->start_ns);
	if (end)
		rs_pb_fixed64(b, SPAN_END, end);
	struct kv_out attrs = {b, SPAN_ATTRS};
	struct rs_attr_sink sink = {kv_str, kv_num, kv_flag, &attrs};
	rs_span_attrs(s, &sink);

	struct rs_span_event ev;
	if (rs_span_event(s, &ev)) {
		size_t e = rs_pb_open(b, SPAN_EVENTS, 1);
		if (ev.time_ns)
			rs_pb_fixed64(b, EVENT_TIME, ev.time_ns);
		opt_str(b, EVENT_NAME, ev.name, strlen(ev.name));
		struct kv_out eattrs = {b, EVENT_ATTRS};
		kv_str(&eattrs, ev.attr_key, ev.attr_value, strlen(ev.attr_value));
		rs_pb_close(b, e, 1);
	}
	if (s->status != RS_STATUS_UNSET) {
		size_t st = rs_pb_open(b, SPAN_STATUS, 1);
		const char *msg = rs_span_status_message(s);
		if (msg)
			opt_str(b, STATUS_MESSAGE, msg, strlen(msg));
		rs_pb_uint(b, STATUS_CODE, s->status);
		rs_pb_close(b, st, 1);
	}
	uint32_t flags = rs_span_flags(s);
	if (flags)
		rs_pb_fixed32(b, SPAN_FLAGS, flags);
	rs_pb_close(b, body, 2);
}

bool rs_otlp_pb_traces(struct rs_buf *out, const void *res, size_t res_len,
		       const struct rs_rec_span *const *spans, size_t n)
{
	/* ExportTraceServiceRequest{resource_spans: ResourceSpans{resource, scope_spans:
	 * ScopeSpans{scope, spans...}}}. A batch of 512 spans is under 2 MiB: 3-byte lengths. */
	size_t rsp = rs_pb_open(out, REQ_RESOURCE_SPANS, 3);
	rs_pb_bytes(out, RS_RESOURCE, res_len ? res : "", res_len);
	size_t ss = rs_pb_open(out, RS_SCOPE_SPANS, 3);
	size_t scope = rs_pb_open(out, SS_SCOPE, 1);
	opt_str(out, SCOPE_NAME, RS_SCOPE_NAME, strlen(RS_SCOPE_NAME));
	opt_str(out, SCOPE_VERSION, RS_VERSION, strlen(RS_VERSION));
	rs_pb_close(out, scope, 1);
	for (size_t i = 0; i < n; i++)
		put_span(out, spans[i]);
	rs_pb_close(out, ss, 3);
	rs_pb_close(out, rsp, 3);
	return !rs_buf_failed(out);
}

bool rs_otlp_pb_trace_answer(const void *buf, size_t len, int64_t *rejected, char *msg,
			     size_t cap)
{
	*rejected = 0;
	msg[0] = 0;
	Otlp__ExportTraceServiceResponse *r =
		otlp__export_trace_service_response__unpack(NULL, len, buf);
	if (!r)
		return false;
	if (r->partial_success) {
		*rejected = r->partial_success->rejected_spans;
		if (r->partial_success->error_message)
			snprintf(msg, cap, "%s", r->partial_success->error_message);
	}
	otlp__export_trace_service_response__free_unpacked(r, NULL);
	return true;
}

uint32_t rs_otlp_pb_retry_delay_ms(const void *buf, size_t len)
{
	static const char want[] = "/google.rpc.RetryInfo"; /* after any type URL prefix */
	Otlp__RpcStatus *st = otlp__rpc_status__unpack(NULL, len, buf);
	if (!st)
		return 0;
	uint64_t ms = 0;
	for (size_t i = 0; i < st->n_details && !ms; i++) {
		const Otlp__RpcAny *d = st->details[i];
		size_t tl = d->type_url ? strlen(d->type_url) : 0;
		if (tl < sizeof(want) - 1 || strcmp(d->type_url + tl - (sizeof(want) - 1), want) != 0)
			continue;
		Otlp__RpcRetryInfo *ri =
			otlp__rpc_retry_info__unpack(NULL, d->value.len, d->value.data);
		if (!ri)
			continue;
		const Otlp__RpcDuration *dur = ri->retry_delay;
		if (dur && dur->seconds >= 0 && dur->nanos >= 0) {
			/* Bounded as Retry-After is: an hour at most; a delay under 1 ms counts as 1. */
			uint64_t s = RS_MIN((uint64_t)dur->seconds, 3600ull);
			ms = RS_MIN(s * 1000 + (uint64_t)dur->nanos / 1000000, 3600000ull);
			ms = ms ? ms : 1;
		}
		otlp__rpc_retry_info__free_unpacked(ri, NULL);
	}
	otlp__rpc_status__free_unpacked(st, NULL);
	return (uint32_t)ms;
}

bool rs_otlp_pb_status(const void *buf, size_t len, char *msg, size_t cap)
{
	Otlp__RpcStatus *st = otlp__rpc_status__unpack(NULL, len, buf);
	if (!st)
		return false;
	snprintf(msg, cap, "%s", st->message ? st->message : "");
	otlp__rpc_status__free_unpacked(st, NULL);
	return true;
}
