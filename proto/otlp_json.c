/* OTLP/JSON encoder for span records. Attribute names follow OpenTelemetry's semantic conventions
 * (network.*, server.*, client.*, error.type); what they do not cover is under ringside.*. */
#include "otlp_json.h"

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

static void attr_key(struct attrs *a, const char *key)
{
	rs_buf_puts(a->b, a->any ? ",{\"key\":" : "{\"key\":");
	a->any = true;
	rs_buf_json_str(a->b, key, strlen(key));
	rs_buf_puts(a->b, ",\"value\":{");
}

static void attr_str(struct attrs *a, const char *key, const char *v, size_t len)
{
	attr_key(a, key);
	rs_buf_puts(a->b, "\"stringValue\":");
	rs_buf_json_str(a->b, v, len);
	rs_buf_puts(a->b, "}}");
}

static void attr_cstr(struct attrs *a, const char *key, const char *v)
{
	attr_str(a, key, v, strlen(v));
}

static void attr_int(struct attrs *a, const char *key, int64_t v)
{
	attr_key(a, key);
	rs_buf_puts(a->b, "\"intValue\":\"");
	rs_buf_i64(a->b, v);
	rs_buf_puts(a->b, "\"}}");
}

static void attr_bool(struct attrs *a, const char *key, bool v)
{
	attr_key(a, key);
	rs_buf_puts(a->b, v ? "\"boolValue\":true}}" : "\"boolValue\":false}}");
}

static void attr_strs(struct attrs *a, const char *key, const char *vals, size_t count)
{
	attr_key(a, key);
	rs_buf_puts(a->b, "\"arrayValue\":{\"values\":[");
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(vals);
		rs_buf_puts(a->b, i ? ",{\"stringValue\":" : "{\"stringValue\":");
		rs_buf_json_str(a->b, vals, len);
		rs_buf_putc(a->b, '}');
		vals += len + 1;
	}
	rs_buf_puts(a->b, "]}}}");
}

void rs_otlp_json_resource(struct rs_buf *b, const struct rs_resource *r)
{
	struct attrs a = {b, false};
	rs_buf_puts(b, "{\"attributes\":[");
	for (size_t i = 0; i < r->n; i++) {
		const struct rs_attr *x = &r->attr[i];
		if (x->type == RS_ATTR_STR)
			attr_str(&a, x->key, x->str, x->len);
		else if (x->type == RS_ATTR_INT)
			attr_int(&a, x->key, x->num);
		else
			attr_strs(&a, x->key, x->str, x->len);
	}
	rs_buf_puts(b, "]}");
}

/* Text form of an address; "" when unknown. */
static const char *addr_text(const struct rs_addr *a, char *out, size_t size)
{
	if (!a->family || !inet_ntop(a->family, a->addr, out, (socklen_t)size))
		out[0] = 0;
	return out;
}

size_t rs_span_name(const struct rs_rec_span *s, char *out, size_t size)
{
	int n = 0;
	if (s->what == RS_SPAN_TCP) {
		char ip[INET6_ADDRSTRLEN];
		const struct rs_tcp_info *t = &s->u.tcp;
		if (s->kind == RS_KIND_CLIENT)
			n = snprintf(out, size, t->peer.family == AF_INET6 ? "connect [%s]:%u"
									    : "connect %s:%u",
				     addr_text(&t->peer, ip, sizeof(ip)), t->peer.port);
		else if (t->local_port)
			n = snprintf(out, size, "accept :%u", t->local_port);
		else
			n = snprintf(out, size, "accept");
	} else {
		n = snprintf(out, size, "span");
	}
	return n < 0 ? 0 : RS_MIN((size_t)n, size - 1);
}

static void tcp_attrs(struct attrs *a, const struct rs_rec_span *s)
{
	const struct rs_tcp_info *t = &s->u.tcp;
	char ip[INET6_ADDRSTRLEN];
	attr_cstr(a, "network.transport", "tcp");
	if (t->peer.family) {
		addr_text(&t->peer, ip, sizeof(ip));
		attr_cstr(a, "network.type", t->peer.family == AF_INET6 ? "ipv6" : "ipv4");
		attr_cstr(a, "network.peer.address", ip);
		attr_int(a, "network.peer.port", t->peer.port);
		if (s->kind == RS_KIND_CLIENT) {
			attr_cstr(a, "server.address", ip);
			attr_int(a, "server.port", t->peer.port);
		} else {
			attr_cstr(a, "client.address", ip);
			attr_int(a, "client.port", t->peer.port);
		}
	}
	if (t->local_port) {
		attr_int(a, "network.local.port", t->local_port);
		if (s->kind == RS_KIND_SERVER)
			attr_int(a, "server.port", t->local_port);
	}
	attr_int(a, "ringside.net.bytes_sent", (int64_t)t->bytes_out);
	attr_int(a, "ringside.net.bytes_received", (int64_t)t->bytes_in);
}

static void span_json(struct rs_buf *b, const struct rs_rec_span *s)
{
	static const uint8_t zero[8];
	char name[256];
	size_t nlen = rs_span_name(s, name, sizeof(name));

	rs_buf_puts(b, "{\"traceId\":\"");
	rs_buf_hex(b, s->trace_id, 16);
	rs_buf_puts(b, "\",\"spanId\":\"");
	rs_buf_hex(b, s->span_id, 8);
	rs_buf_putc(b, '"');
	if (memcmp(s->parent_id, zero, 8) != 0) {
		rs_buf_puts(b, ",\"parentSpanId\":\"");
		rs_buf_hex(b, s->parent_id, 8);
		rs_buf_putc(b, '"');
	}
	/* Sampled, and the parent is known not to be remote (OTLP SpanFlags). */
	rs_buf_puts(b, ",\"flags\":257,\"name\":");
	rs_buf_json_str(b, name, nlen);
	rs_buf_puts(b, ",\"kind\":");
	rs_buf_u64(b, s->kind);
	rs_buf_puts(b, ",\"startTimeUnixNano\":\"");
	rs_buf_u64(b, s->start_ns);
	rs_buf_puts(b, "\",\"endTimeUnixNano\":\"");
	rs_buf_u64(b, RS_MAX(s->end_ns, s->start_ns));
	rs_buf_puts(b, "\",\"attributes\":[");

	struct attrs a = {b, false};
	if (s->what == RS_SPAN_TCP)
		tcp_attrs(&a, s);
	attr_int(&a, "thread.id", s->h.tid);
	if (s->err) {
		const char *en = strerrorname_np(s->err);
		attr_cstr(&a, "error.type", en ? en : "error");
	}
	if (s->flags & RS_SPAN_ENDED_BY_EXIT)
		attr_bool(&a, "ringside.ended_at_exit", true);
	if (s->flags & RS_SPAN_INHERITED)
		attr_bool(&a, "ringside.inherited_from_parent", true);
	if (s->flags & RS_SPAN_FD_REUSED)
		attr_bool(&a, "ringside.closed_unseen", true);
	rs_buf_putc(b, ']');

	if (s->what == RS_SPAN_TCP && s->u.tcp.shutdown_how) {
		static const char *const how[] = {"SHUT_RD", "SHUT_WR", "SHUT_RDWR"};
		uint8_t h = s->u.tcp.shutdown_how - 1;
		rs_buf_puts(b, ",\"events\":[{\"timeUnixNano\":\"");
		rs_buf_u64(b, s->u.tcp.shutdown_ns);
		rs_buf_puts(b, "\",\"name\":\"shutdown\",\"attributes\":[");
		struct attrs e = {b, false};
		attr_cstr(&e, "ringside.shutdown.how", h < 3 ? how[h] : "unknown");
		rs_buf_puts(b, "]}]");
	}
	rs_buf_puts(b, ",\"status\":{");
	if (s->status == RS_STATUS_ERROR) {
		rs_buf_puts(b, "\"code\":2");
		if (s->err) {
			const char *msg = strerror(s->err);
			rs_buf_puts(b, ",\"message\":");
			rs_buf_json_str(b, msg, strlen(msg));
		}
	} else if (s->status == RS_STATUS_OK) {
		rs_buf_puts(b, "\"code\":1");
	}
	rs_buf_puts(b, "}}");
}

void rs_otlp_json_begin(struct rs_buf *b, const char *resource_json, size_t resource_len)
{
	rs_buf_puts(b, "{\"resourceSpans\":[{\"resource\":");
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
	rs_buf_puts(b, "]}]}]}\n");
}
