/* What a span record says, in OpenTelemetry's terms: its name, attributes (semantic conventions
 * for network.*, server.*, client.*, url.*, http.*, error.type; the rest under ringside.*), event,
 * status and flags. The encoders (OTLP/JSON, OTLP protobuf) only serialize what this decides. */
#include "span_view.h"
#include "../preload/http_route.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Text form of an address; "" when unknown. IPv4, in every span, is formatted here: glibc's
 * inet_ntop goes through sprintf, a fifth of the protobuf encoder's time per span. */
const char *rs_addr_text(const struct rs_addr *a, char *out, size_t size)
{
	if (a->family == AF_INET && size >= INET_ADDRSTRLEN) {
		char *p = out;
		for (int i = 0; i < 4; i++) {
			unsigned v = a->addr[i];
			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
			*p++ = '.';
		}
		p[-1] = 0;
		return out;
	}
	if (!a->family || !inet_ntop(a->family, a->addr, out, (socklen_t)size))
		out[0] = 0;
	return out;
}

/* The first TLV with key in a span record; repeated keys (tracestate) are joined by the caller. */
bool rs_span_tlv(const struct rs_rec_span *s, uint8_t key, const char **data, size_t *len)
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
	if (s->what == RS_SPAN_HTTP) { /* named here, off the program's thread */
		const char *t;
		size_t tl;
		rs_span_tlv(s, RS_T_TARGET, &t, &tl);
		size_t l = rs_http_span_name(s->u.http.method, t, tl, out,
					     RS_MIN(size - 1, (size_t)RS_HTTP_NAME_MAX));
		out[l] = 0;
		return l;
	}
	if (s->what == RS_SPAN_TCP) {
		char ip[INET6_ADDRSTRLEN];
		const struct rs_tcp_info *t = &s->u.tcp;
		if (s->kind == RS_KIND_CLIENT)
			n = snprintf(out, size, t->peer.family == AF_INET6 ? "connect [%s]:%u"
									    : "connect %s:%u",
				     rs_addr_text(&t->peer, ip, sizeof(ip)), t->peer.port);
		else if (t->local_port)
			n = snprintf(out, size, "accept :%u", t->local_port);
		else
			n = snprintf(out, size, "accept");
	} else {
		n = snprintf(out, size, "span");
	}
	return n < 0 ? 0 : RS_MIN((size_t)n, size - 1);
}

static void tcp_attrs(const struct rs_attr_sink *a, const struct rs_rec_span *s)
{
	const struct rs_tcp_info *t = &s->u.tcp;
	char ip[INET6_ADDRSTRLEN];
	a->str(a->ctx, "network.transport", "tcp", strlen("tcp"));
	if (t->peer.family) {
		rs_addr_text(&t->peer, ip, sizeof(ip));
		a->str(a->ctx, "network.type", t->peer.family == AF_INET6 ? "ipv6" : "ipv4", strlen(t->peer.family == AF_INET6 ? "ipv6" : "ipv4"));
		a->str(a->ctx, "network.peer.address", ip, strlen(ip));
		a->num(a->ctx, "network.peer.port", t->peer.port);
		if (s->kind == RS_KIND_CLIENT) {
			a->str(a->ctx, "server.address", ip, strlen(ip));
			a->num(a->ctx, "server.port", t->peer.port);
		} else {
			a->str(a->ctx, "client.address", ip, strlen(ip));
			a->num(a->ctx, "client.port", t->peer.port);
		}
	}
	if (t->local_port) {
		a->num(a->ctx, "network.local.port", t->local_port);
		if (s->kind == RS_KIND_SERVER)
			a->num(a->ctx, "server.port", t->local_port);
	}
	a->num(a->ctx, "ringside.net.bytes_sent", (int64_t)t->bytes_out);
	a->num(a->ctx, "ringside.net.bytes_received", (int64_t)t->bytes_in);
}

static const char *const end_names[] = {
	[RS_HTTP_END_OPEN] = "unfinished",  [RS_HTTP_END_LENGTH] = "length",
	[RS_HTTP_END_CLOSE] = "close",	    [RS_HTTP_END_UPGRADE] = "upgrade",
	[RS_HTTP_END_ABORTED] = "aborted",  [RS_HTTP_END_EXIT] = "exit",
	[RS_HTTP_END_PARSE] = "not_http",
};

/* OpenTelemetry's HTTP semantic conventions. Queries keep their keys, never their values;
 * headers other than Host and User-Agent are never read into a span. */
static void http_attrs(const struct rs_attr_sink *a, const struct rs_rec_span *s)
{
	const struct rs_http_info *h = &s->u.http;
	bool server = s->kind == RS_KIND_SERVER;
	const char *target, *host, *ua, *path;
	size_t tl, hl, ul, pl;
	rs_span_tlv(s, RS_T_TARGET, &target, &tl);
	rs_span_tlv(s, RS_T_USER_AGENT, &ua, &ul);
	bool have_host = rs_span_tlv(s, RS_T_HOST, &host, &hl) && hl;

	const char *method = rs_http_method_name(h->method);
	if (method) {
		a->str(a->ctx, "http.request.method", method, strlen(method));
	} else {
		const char *m;
		size_t ml;
		rs_span_tlv(s, RS_T_METHOD, &m, &ml);
		a->str(a->ctx, "http.request.method", "_OTHER", strlen("_OTHER"));
		a->str(a->ctx, "http.request.method_original", m, ml);
	}
	if (h->status)
		a->num(a->ctx, "http.response.status_code", h->status);
	rs_http_target_path(target, tl, &path, &pl);
	char query[512];
	size_t ql = rs_http_redact_query(target, tl, query, sizeof(query));
	a->str(a->ctx, "url.scheme", "http", strlen("http"));
	char ip[INET6_ADDRSTRLEN];
	rs_addr_text(&h->peer, ip, sizeof(ip));

	const char *sh = ip;
	size_t shl = strlen(ip);
	unsigned sp = server ? h->local_port : h->peer.port;
	if (have_host) {
		unsigned hp;
		rs_http_host_port(host, hl, &sh, &shl, &hp);
		sp = hp ? hp : (server && h->local_port ? h->local_port : 80);
	}
	if (server) {
		a->str(a->ctx, "url.path", path, pl);
		if (ql)
			a->str(a->ctx, "url.query", query, ql);
		if (*ip) {
			a->str(a->ctx, "client.address", ip, strlen(ip));
			a->num(a->ctx, "client.port", h->peer.port);
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
		a->str(a->ctx, "url.full", full, o);
		char tmpl[256];
		a->str(a->ctx, "url.template", tmpl, rs_http_fold_path(path, pl, tmpl, sizeof(tmpl)));
	}
	if (shl)
		a->str(a->ctx, "server.address", sh, shl);
	if (sp)
		a->num(a->ctx, "server.port", sp);
	if (*ip) {
		a->str(a->ctx, "network.peer.address", ip, strlen(ip));
		a->num(a->ctx, "network.peer.port", h->peer.port);
	}
	a->str(a->ctx, "network.protocol.name", "http", strlen("http"));
	a->str(a->ctx, "network.protocol.version", h->version ? "1.1" : "1.0", strlen(h->version ? "1.1" : "1.0"));
	if (ul)
		a->str(a->ctx, "user_agent.original", ua, ul);
	a->num(a->ctx, "http.request.body.size", (int64_t)h->req_body);
	if (h->status)
		a->num(a->ctx, "http.response.body.size", (int64_t)h->resp_body);
	if (s->status == RS_STATUS_ERROR) {
		char code[8];
		if (h->status >= 400) {
			snprintf(code, sizeof(code), "%u", h->status);
			a->str(a->ctx, "error.type", code, strlen(code));
		} else {
			a->str(a->ctx, "error.type", "connection_closed", strlen("connection_closed"));
		}
	}
	if (h->end != RS_HTTP_END_LENGTH && h->end < RS_ARRAY_LEN(end_names))
		a->str(a->ctx, "ringside.http.end", end_names[h->end], strlen(end_names[h->end]));
}

void rs_span_attrs(const struct rs_rec_span *s, const struct rs_attr_sink *a)
{
	if (s->what == RS_SPAN_TCP)
		tcp_attrs(a, s);
	else if (s->what == RS_SPAN_HTTP)
		http_attrs(a, s);
	a->num(a->ctx, "thread.id", s->h.tid);
	if (s->err) {
		const char *en = strerrorname_np(s->err);
		a->str(a->ctx, "error.type", en ? en : "error", strlen(en ? en : "error"));
	}
	if (s->flags & RS_SPAN_ENDED_BY_EXIT)
		a->flag(a->ctx, "ringside.ended_at_exit", true);
	if (s->flags & RS_SPAN_INHERITED)
		a->flag(a->ctx, "ringside.inherited_from_parent", true);
	if (s->flags & RS_SPAN_FD_REUSED)
		a->flag(a->ctx, "ringside.closed_unseen", true);
	if (s->flags & RS_SPAN_UNFINISHED)
		a->flag(a->ctx, "ringside.unfinished", true);
}

bool rs_span_event(const struct rs_rec_span *s, struct rs_span_event *ev)
{
	static const char *const how[] = {"SHUT_RD", "SHUT_WR", "SHUT_RDWR"};
	if (s->what != RS_SPAN_TCP || !s->u.tcp.shutdown_how)
		return false;
	uint8_t h = (uint8_t)(s->u.tcp.shutdown_how - 1);
	ev->time_ns = s->u.tcp.shutdown_ns;
	ev->name = "shutdown";
	ev->attr_key = "ringside.shutdown.how";
	ev->attr_value = h < 3 ? how[h] : "unknown";
	return true;
}

const char *rs_span_status_message(const struct rs_rec_span *s)
{
	return s->status == RS_STATUS_ERROR && s->err ? strerror(s->err) : NULL;
}

size_t rs_span_tracestate(const struct rs_rec_span *s, char *out, size_t cap)
{
	if (s->what != RS_SPAN_HTTP || s->kind != RS_KIND_SERVER)
		return 0;
	/* The tracestate the span's remote parent sent, repeated headers joined. */
	const union rs_rec *rec = (const union rs_rec *)s;
	size_t off = RS_HTTP_TLV_START, len, o = 0;
	const char *v;
	uint8_t k;
	while (rs_tlv_next(rec, &off, &k, &v, &len)) {
		if (k != RS_T_TRACESTATE || o + len + 1 > cap)
			continue;
		if (o)
			out[o++] = ',';
		memcpy(out + o, v, len);
		o += len;
	}
	return o;
}

uint32_t rs_span_flags(const struct rs_rec_span *s)
{
	/* OTLP SpanFlags: the W3C trace flags, and whether the parent is remote (known). */
	uint32_t flags = (s->what == RS_SPAN_HTTP ? s->trace_flags : 0x01) | 0x100;
	if (s->flags & RS_SPAN_PARENT_REMOTE)
		flags |= 0x200;
	return flags;
}
