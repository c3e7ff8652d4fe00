/* OTLP/JSON encoder for span records. Attribute names follow OpenTelemetry's semantic conventions
 * (network.*, server.*, client.*, error.type); what they do not cover is under ringside.*. */
#include "otlp_json.h"
#include "../preload/http_route.h"

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

/* The first TLV with key in a span record; repeated keys (tracestate) are joined by the caller. */
static bool tlv(const struct rs_rec_span *s, uint8_t key, const char **data, size_t *len)
{
	const union rs_rec *rec = (const union rs_rec *)s;
	size_t off = RS_HTTP_TLV_START;
	uint8_t k;
	while (rs_tlv_next(rec, &off, &k, data, len))
		if (k == key)
			return true;
	*data = "";
	*len = 0;
	return false;
}

size_t rs_span_name(const struct rs_rec_span *s, char *out, size_t size)
{
	int n = 0;
	if (s->what == RS_SPAN_HTTP) {
		const char *v;
		size_t l;
		if (!tlv(s, RS_T_NAME, &v, &l) || !l)
			v = "HTTP", l = 4;
		l = RS_MIN(l, size - 1);
		memcpy(out, v, l);
		out[l] = 0;
		return l;
	}
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

static const char *const method_names[] = {"",	"GET",	   "HEAD",  "POST",  "PUT",  "DELETE",
					   "CONNECT", "OPTIONS", "TRACE", "PATCH", "QUERY"};

static const char *const end_names[] = {
	[RS_HTTP_END_OPEN] = "unfinished",  [RS_HTTP_END_LENGTH] = "length",
	[RS_HTTP_END_CLOSE] = "close",	    [RS_HTTP_END_UPGRADE] = "upgrade",
	[RS_HTTP_END_ABORTED] = "aborted",  [RS_HTTP_END_EXIT] = "exit",
	[RS_HTTP_END_PARSE] = "not_http",
};

/* OpenTelemetry's HTTP semantic conventions. Queries keep their keys, never their values;
 * headers other than Host and User-Agent are never read into a span. */
static void http_attrs(struct attrs *a, const struct rs_rec_span *s)
{
	const struct rs_http_info *h = &s->u.http;
	bool server = s->kind == RS_KIND_SERVER;
	const char *target, *host, *ua, *path;
	size_t tl, hl, ul, pl;
	tlv(s, RS_T_TARGET, &target, &tl);
	tlv(s, RS_T_USER_AGENT, &ua, &ul);
	bool have_host = tlv(s, RS_T_HOST, &host, &hl) && hl;

	if (h->method != RS_M_OTHER && h->method < RS_ARRAY_LEN(method_names)) {
		attr_cstr(a, "http.request.method", method_names[h->method]);
	} else {
		const char *m;
		size_t ml;
		tlv(s, RS_T_METHOD, &m, &ml);
		attr_cstr(a, "http.request.method", "_OTHER");
		attr_str(a, "http.request.method_original", m, ml);
	}
	if (h->status)
		attr_int(a, "http.response.status_code", h->status);
	rs_http_target_path(target, tl, &path, &pl);
	char query[512];
	size_t ql = rs_http_redact_query(target, tl, query, sizeof(query));
	attr_cstr(a, "url.scheme", "http");
	char ip[INET6_ADDRSTRLEN];
	addr_text(&h->peer, ip, sizeof(ip));

	const char *sh = ip;
	size_t shl = strlen(ip);
	unsigned sp = server ? h->local_port : h->peer.port;
	if (have_host) {
		unsigned hp;
		rs_http_host_port(host, hl, &sh, &shl, &hp);
		sp = hp ? hp : (server && h->local_port ? h->local_port : 80);
	}
	if (server) {
		attr_str(a, "url.path", path, pl);
		if (ql)
			attr_str(a, "url.query", query, ql);
		if (*ip) {
			attr_cstr(a, "client.address", ip);
			attr_int(a, "client.port", h->peer.port);
		}
	} else {
		/* url.full: scheme, authority (the Host header, else the peer), path, and the
		 * redacted query. */
		char full[1024];
		size_t o = 0;
		int n;
		if (have_host)
			n = snprintf(full, sizeof(full), "http://%.*s", (int)RS_MIN(hl, (size_t)256),
				     host);
		else if (h->peer.family == AF_INET6)
			n = snprintf(full, sizeof(full), sp == 80 ? "http://[%s]" : "http://[%s]:%u", ip,
				     sp);
		else
			n = snprintf(full, sizeof(full), sp == 80 ? "http://%s" : "http://%s:%u", ip, sp);
		o = n < 0 ? 0 : RS_MIN((size_t)n, sizeof(full) - 1);
		size_t k = RS_MIN(pl, sizeof(full) - 1 - o);
		memcpy(full + o, path, k);
		o += k;
		if (ql && o + 1 + ql < sizeof(full)) {
			full[o++] = '?';
			memcpy(full + o, query, ql);
			o += ql;
		}
		attr_str(a, "url.full", full, o);
		char tmpl[256];
		attr_str(a, "url.template", tmpl, rs_http_fold_path(path, pl, tmpl, sizeof(tmpl)));
	}
	if (shl)
		attr_str(a, "server.address", sh, shl);
	if (sp)
		attr_int(a, "server.port", sp);
	if (*ip) {
		attr_cstr(a, "network.peer.address", ip);
		attr_int(a, "network.peer.port", h->peer.port);
	}
	attr_cstr(a, "network.protocol.name", "http");
	attr_cstr(a, "network.protocol.version", h->version ? "1.1" : "1.0");
	if (ul)
		attr_str(a, "user_agent.original", ua, ul);
	attr_int(a, "http.request.body.size", (int64_t)h->req_body);
	if (h->status)
		attr_int(a, "http.response.body.size", (int64_t)h->resp_body);
	if (s->status == RS_STATUS_ERROR) {
		char code[8];
		if (h->status >= 400) {
			snprintf(code, sizeof(code), "%u", h->status);
			attr_cstr(a, "error.type", code);
		} else {
			attr_cstr(a, "error.type", "connection_closed");
		}
	}
	if (h->end != RS_HTTP_END_LENGTH && h->end < RS_ARRAY_LEN(end_names))
		attr_cstr(a, "ringside.http.end", end_names[h->end]);
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
	if (s->what == RS_SPAN_HTTP && s->kind == RS_KIND_SERVER) {
		/* The tracestate the span's remote parent sent, repeated headers joined. */
		const union rs_rec *rec = (const union rs_rec *)s;
		size_t off = RS_HTTP_TLV_START, len;
		const char *v;
		uint8_t k;
		bool first = true;
		while (rs_tlv_next(rec, &off, &k, &v, &len)) {
			if (k != RS_T_TRACESTATE)
				continue;
			rs_buf_puts(b, first ? ",\"traceState\":\"" : ",");
			first = false;
			/* Valid tracestate is printable ASCII without quotes or backslashes, but a
			 * peer's bytes are not trusted: escape as any string, without the quotes. */
			struct rs_buf tmp = {0};
			rs_buf_json_str(&tmp, v, len);
			if (!rs_buf_failed(&tmp) && tmp.len >= 2)
				rs_buf_put(b, tmp.p + 1, tmp.len - 2);
			rs_buf_free(&tmp);
		}
		if (!first)
			rs_buf_putc(b, '"');
	}
	if (memcmp(s->parent_id, zero, 8) != 0) {
		rs_buf_puts(b, ",\"parentSpanId\":\"");
		rs_buf_hex(b, s->parent_id, 8);
		rs_buf_putc(b, '"');
	}
	/* OTLP SpanFlags: the W3C trace flags, and whether the parent is remote (known). */
	uint32_t flags = (s->what == RS_SPAN_HTTP ? s->trace_flags : 0x01) | 0x100;
	if (s->flags & RS_SPAN_PARENT_REMOTE)
		flags |= 0x200;
	rs_buf_puts(b, ",\"flags\":");
	rs_buf_u64(b, flags);
	rs_buf_puts(b, ",\"name\":");
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
	else if (s->what == RS_SPAN_HTTP)
		http_attrs(&a, s);
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
	if (s->flags & RS_SPAN_UNFINISHED)
		attr_bool(&a, "ringside.unfinished", true);
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
