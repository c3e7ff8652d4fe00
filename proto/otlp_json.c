/* OTLP/JSON encoder: the resource and span records as the OpenTelemetry Collector's file exporter
 * writes them. What a span says comes from span_view.c. */
#include "otlp_json.h"
#include "span_view.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* JSON for the attribute list: each call appends one {"key":..,"value":{..}} with a comma
 * before all but the first. */
struct attrs {
	struct rs_buf *b;
	bool any;
};

/* Attribute keys are nearly always the same few dozen string constants: each one's JSON
 * ({"key":"...","value":{) is made once and copied after, found by the key's address and checked
 * against its text (an address may be reused for another key). Reporter thread only. */
struct key_json {
	const char *key;
	uint8_t key_len, json_len;
	char text[64]; /* the key as it was, NUL-terminated */
	char json[96];
};
static struct key_json key_cache[64];

static void attr_key(struct attrs *a, const char *key)
{
	if (a->any)
		rs_buf_putc(a->b, ',');
	a->any = true;
	struct key_json *k = &key_cache[((uintptr_t)key >> 3) & 63];
	/* strncmp stops at key's end: a shorter key at the same address is never read past. */
	if (k->key == key && strncmp(k->text, key, (size_t)k->key_len + 1) == 0) {
		rs_buf_put(a->b, k->json, k->json_len);
		return;
	}
	size_t start = a->b->len, n = strlen(key);
	rs_buf_lit(a->b, "{\"key\":");
	rs_buf_json_str(a->b, key, n);
	rs_buf_lit(a->b, ",\"value\":{");
	size_t len = a->b->len - start;
	k->key = NULL;
	if (!rs_buf_failed(a->b) && n < sizeof(k->text) && len <= sizeof(k->json)) {
		memcpy(k->text, key, n + 1); /* with its NUL */
		memcpy(k->json, a->b->p + start, len);
		k->key_len = (uint8_t)n;
		k->json_len = (uint8_t)len;
		k->key = key;
	}
}

static void attr_str(struct attrs *a, const char *key, const char *v, size_t len)
{
	attr_key(a, key);
	rs_buf_lit(a->b, "\"stringValue\":");
	rs_buf_json_str(a->b, v, len);
	rs_buf_lit(a->b, "}}");
}

static void attr_cstr(struct attrs *a, const char *key, const char *v)
{
	attr_str(a, key, v, strlen(v));
}

static void attr_int(struct attrs *a, const char *key, int64_t v)
{
	attr_key(a, key);
	rs_buf_lit(a->b, "\"intValue\":\"");
	rs_buf_i64(a->b, v);
	rs_buf_lit(a->b, "\"}}");
}

static void attr_bool(struct attrs *a, const char *key, bool v)
{
	attr_key(a, key);
	rs_buf_puts(a->b, v ? "\"boolValue\":true}}" : "\"boolValue\":false}}");
}

static void attr_strs(struct attrs *a, const char *key, const char *vals, size_t count)
{
	attr_key(a, key);
	rs_buf_lit(a->b, "\"arrayValue\":{\"values\":[");
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(vals);
		rs_buf_puts(a->b, i ? ",{\"stringValue\":" : "{\"stringValue\":");
		rs_buf_json_str(a->b, vals, len);
		rs_buf_putc(a->b, '}');
		vals += len + 1;
	}
	rs_buf_lit(a->b, "]}}}");
}

void rs_otlp_json_resource(struct rs_buf *b, const struct rs_resource *r)
{
	struct attrs a = {b, false};
	rs_buf_lit(b, "{\"attributes\":[");
	for (size_t i = 0; i < r->n; i++) {
		const struct rs_attr *x = &r->attr[i];
		if (x->type == RS_ATTR_STR)
			attr_str(&a, x->key, x->str, x->len);
		else if (x->type == RS_ATTR_INT)
			attr_int(&a, x->key, x->num);
		else
			attr_strs(&a, x->key, x->str, x->len);
	}
	rs_buf_lit(b, "]}");
}

/* A sink that writes each attribute as OTLP/JSON. */
static void sink_str(void *ctx, const char *key, const char *v, size_t n)
{
	attr_str(ctx, key, v, n);
}

static void sink_num(void *ctx, const char *key, int64_t v)
{
	attr_int(ctx, key, v);
}

static void sink_flag(void *ctx, const char *key, bool v)
{
	attr_bool(ctx, key, v);
}

static void span_json(struct rs_buf *b, const struct rs_rec_span *s)
{
	static const uint8_t zero[8];
	char name[256];
	size_t nlen = rs_span_name(s, name, sizeof(name));

	rs_buf_lit(b, "{\"traceId\":\"");
	rs_buf_hex(b, s->trace_id, 16);
	rs_buf_lit(b, "\",\"spanId\":\"");
	rs_buf_hex(b, s->span_id, 8);
	rs_buf_putc(b, '"');
	char ts[1024];
	size_t tsl = rs_span_tracestate(s, ts, sizeof(ts));
	if (tsl) {
		/* Valid tracestate is printable ASCII without quotes or backslashes, but a peer's
		 * bytes are not trusted: escape as any string. */
		rs_buf_lit(b, ",\"traceState\":");
		rs_buf_json_str(b, ts, tsl);
	}
	if (memcmp(s->parent_id, zero, 8) != 0) {
		rs_buf_lit(b, ",\"parentSpanId\":\"");
		rs_buf_hex(b, s->parent_id, 8);
		rs_buf_putc(b, '"');
	}
	rs_buf_lit(b, ",\"flags\":");
	rs_buf_u64(b, rs_span_flags(s));
	rs_buf_lit(b, ",\"name\":");
	rs_buf_json_str(b, name, nlen);
	rs_buf_lit(b, ",\"kind\":");
	rs_buf_u64(b, s->kind);
	rs_buf_lit(b, ",\"startTimeUnixNano\":\"");
	rs_buf_u64(b, s->start_ns);
	rs_buf_lit(b, "\",\"endTimeUnixNano\":\"");
	rs_buf_u64(b, RS_MAX(s->end_ns, s->start_ns));
	rs_buf_lit(b, "\",\"attributes\":[");
	struct attrs a = {b, false};
	struct rs_attr_sink sink = {sink_str, sink_num, sink_flag, &a};
	rs_span_attrs(s, &sink);
	rs_buf_putc(b, ']');

	struct rs_span_event ev;
	if (rs_span_event(s, &ev)) {
		rs_buf_lit(b, ",\"events\":[{\"timeUnixNano\":\"");
		rs_buf_u64(b, ev.time_ns);
		rs_buf_lit(b, "\",\"name\":");
		rs_buf_json_str(b, ev.name, strlen(ev.name));
		rs_buf_lit(b, ",\"attributes\":[");
		struct attrs e = {b, false};
		attr_cstr(&e, ev.attr_key, ev.attr_value);
		rs_buf_lit(b, "]}]");
	}
	rs_buf_lit(b, ",\"status\":{");
	if (s->status == RS_STATUS_ERROR) {
		rs_buf_lit(b, "\"code\":2");
		const char *msg = rs_span_status_message(s);
		if (msg) {
			rs_buf_lit(b, ",\"message\":");
			rs_buf_json_str(b, msg, strlen(msg));
		}
	} else if (s->status == RS_STATUS_OK) {
		rs_buf_lit(b, "\"code\":1");
	}
	rs_buf_lit(b, "}}");
}

void rs_otlp_json_begin(struct rs_buf *b, const char *resource_json, size_t resource_len)
{
	rs_buf_lit(b, "{\"resourceSpans\":[{\"resource\":");
	rs_buf_put(b, resource_json, resource_len);
	rs_buf_puts(b, ",\"scopeSpans\":[{\"scope\":{\"name\":\"" RS_SCOPE_NAME
		       "\",\"version\":\"" RS_VERSION "\"},\"spans\":[");
}

void rs_otlp_json_span(struct rs_buf *b, const struct rs_rec_span *s, bool first)
{
	if (!first)
		rs_buf_putc(b, ',');
	span_json(b, s);
}

void rs_otlp_json_end(struct rs_buf *b)
{
	rs_buf_lit(b, "]}]}]}\n");
}
