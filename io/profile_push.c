/* The Pyroscope push of profiles (see profile_push.h). */
#include "profile_push.h"
#include "../preload/config.h"
#include "../preload/log.h"
#include "batch.h"
#include "delivery.h"
#include "header_list.h"
#include "http_client.h"
#include "otlp_answer.h"
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_QUEUED 8 /* profiles waiting: a collector away for longer loses the oldest */

static struct {
	bool on;
	struct rs_endpoint ep;
	char what[700];
	struct rs_buf name; /* the name parameter, percent-encoded */
	struct rs_buf headers;
	struct rs_buf path; /* of the request in flight */
	struct rs_delivery d;
	struct rs_http_client http;
	struct rs_tls_ctx *tls; /* https:// */
	uint64_t lost;
} P;

/* Percent-encodes s for a query parameter (RFC 3986 unreserved characters pass). */
static void query_escape(struct rs_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			rs_buf_putc(b, (char)c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			rs_buf_put(b, e, 3);
		}
	}
}

/* Pyroscope's application name: the service, with labels in braces. Label values may not hold
 * the syntax's own characters: those become '_'. */
static void label(struct rs_buf *raw, const char *key, const struct rs_attr *a, bool *first)
{
	if (!a || a->type == RS_ATTR_STR_ARRAY)
		return;
	char val[128];
	if (a->type == RS_ATTR_INT)
		snprintf(val, sizeof(val), "%lld", (long long)a->num);
	else
		snprintf(val, sizeof(val), "%.*s", (int)RS_MIN(a->len, sizeof(val) - 1), a->str);
	for (char *c = val; *c; c++)
		if (*c == '{' || *c == '}' || *c == ',' || *c == '=' || (unsigned char)*c < 0x20)
			*c = '_';
	rs_buf_puts(raw, *first ? "{" : ",");
	*first = false;
	rs_buf_puts(raw, key);
	rs_buf_putc(raw, '=');
	rs_buf_puts(raw, val);
}

static void send_profile(void *transport, struct rs_batch *b);

bool rs_profile_push_start(struct rs_loop *loop, const struct rs_resource *res)
{
	if (!*rs_cfg.profile_endpoint)
		return true;
	char why[200];
	if (!strstr(rs_cfg.profile_endpoint, "://") ||
	    !rs_endpoint_parse(rs_cfg.profile_endpoint, 0, &P.ep, why, sizeof(why))) {
		rs_log(RS_LOG_ERROR, "RINGSIDE_PROFILE_ENDPOINT=\"%.200s\" is not an http:// or "
				     "https:// URL; profiles are only written to files",
		       rs_cfg.profile_endpoint);
		return false;
	}
	if (!rs_header_list_parse(rs_cfg.profile_headers, &P.headers, why, sizeof(why))) {
		rs_log(RS_LOG_ERROR, "RINGSIDE_PROFILE_HEADERS %s; sending no extra headers", why);
		rs_buf_free(&P.headers);
	}
	rs_buf_putc(&P.headers, 0);
	struct rs_buf raw = {0};
	const struct rs_attr *svc = rs_resource_get(res, "service.name");
	rs_buf_put(&raw, svc ? svc->str : "ringside", svc ? svc->len : 8);
	bool first = true;
	label(&raw, "host", rs_resource_get(res, "host.name"), &first);
	label(&raw, "pid", rs_resource_get(res, "process.pid"), &first);
	label(&raw, "service_instance_id", rs_resource_get(res, "service.instance.id"), &first);
	if (!first)
		rs_buf_putc(&raw, '}');
	query_escape(&P.name, raw.p, raw.len);
	rs_buf_free(&raw);
	if (rs_buf_failed(&P.name) || rs_buf_failed(&P.headers))
		return false;
	size_t n = strlen(P.ep.path);
	while (n && P.ep.path[n - 1] == '/')
		n--;
	P.ep.path[n] = 0;
	snprintf(P.what, sizeof(P.what), "profile push to http%s://%s:%u%s/ingest",
		 P.ep.tls ? "s" : "", P.ep.host, P.ep.port, P.ep.path);
	/* A CA or key file that cannot be used stops the push (said on stderr) rather than sending
	 * anything unverified; the files are still written. */
	if (P.ep.tls && !(P.tls = rs_tls_ctx_new(rs_cfg.profile_certificate,
						 rs_cfg.profile_client_certificate,
						 rs_cfg.profile_client_key, NULL, P.what)))
		return false;
	rs_http_client_init(&P.http, loop, &P.ep);
	P.http.tls_ctx = P.tls;
	rs_delivery_init(&P.d, P.what, send_profile, NULL);
	P.on = true;
	rs_log(RS_LOG_INFO, "%s", P.what);
	return true;
}

void rs_profile_push(const void *gz, size_t len, uint64_t from_ns, uint64_t until_ns,
		     uint64_t samples)
{
	if (!P.on)
		return;
	unsigned queued = 0;
	for (struct rs_batch *b = P.d.q.head; b; b = b->next)
		queued++;
	if (queued >= MAX_QUEUED && P.d.q.head && !P.d.q.head->inflight) {
		P.lost += P.d.q.head->items;
		rs_batchq_pop(&P.d.q);
	}
	struct rs_batch *b = rs_batch_new();
	if (!b) {
		P.lost += samples;
		return;
	}
	rs_buf_put(&b->data, gz, len);
	b->items = samples;
	b->from_ns = from_ns;
	b->until_ns = until_ns > from_ns ? until_ns : from_ns + 1;
	if (rs_buf_failed(&b->data)) {
		P.lost += samples;
		rs_batch_free(b);
		return;
	}
	rs_delivery_push(&P.d, b);
}

static void push_done(void *arg, int status, uint32_t retry_after_ms, const char *body, size_t len)
{
	(void)arg;
	/* Pyroscope answers like an OTLP/HTTP collector as far as retrying goes: 429 and 5xx
	 * gateways are worth another try, other errors are not. */
	struct rs_otlp_answer a;
	rs_otlp_http_answer(status, true, body, len, &a);
	a.rejected = 0;
	if (a.outcome == RS_REJECTED && P.d.q.head)
		P.lost += P.d.q.head->items;
	rs_delivery_done(&P.d, a.outcome, retry_after_ms, 0, a.why);
}

static void send_profile(void *transport, struct rs_batch *b)
{
	(void)transport;
	char q[96];
	P.path.len = 0;
	P.path.failed = false;
	rs_buf_puts(&P.path, P.ep.path);
	rs_buf_puts(&P.path, "/ingest?name=");
	rs_buf_put(&P.path, P.name.p, P.name.len);
	snprintf(q, sizeof(q), "&from=%llu&until=%llu&format=pprof&spyName=ringside",
		 (unsigned long long)(b->from_ns / 1000000000ull),
		 (unsigned long long)((b->until_ns + 999999999ull) / 1000000000ull));
	rs_buf_puts(&P.path, q);
	rs_buf_putc(&P.path, 0);
	int e = rs_buf_failed(&P.path) ? -12 /* ENOMEM */
				       : rs_http_client_post(&P.http, P.path.p, "application/octet-stream",
							     NULL, P.headers.p, b->data.p, b->data.len,
							     10000000000ull, push_done, NULL);
	if (e < 0)
		rs_delivery_done(&P.d, RS_RETRY, 0, 0, strerror(-e));
}

uint64_t rs_profile_push_tick(uint64_t now)
{
	return P.on ? rs_delivery_tick(&P.d, now) : UINT64_MAX;
}

bool rs_profile_push_idle(void)
{
	return !P.on || rs_delivery_idle(&P.d);
}

uint64_t rs_profile_push_lost(uint64_t *queued)
{
	*queued = 0;
	for (struct rs_batch *b = P.on ? P.d.q.head : NULL; b; b = b->next)
		*queued += b->items;
	return P.lost;
}

void rs_profile_push_forget(void)
{
	memset(&P, 0, sizeof(P));
}
