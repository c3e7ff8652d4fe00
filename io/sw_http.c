/* SkyWalking over HTTP (SW_AGENT_PROTOCOL=http): the OAP's REST receivers (port 12800). Segments
 * as a JSON array to /v3/segments, management messages to /v3/management/reportProperties and
 * /keepAlive, in the proto3 JSON mapping the OAP parses; each kind on its own keep-alive
 * connection, so a heartbeat never waits behind a batch. */
#include "otlp_answer.h"
#include "sw_transport.h"

#include <stdio.h>
#include <string.h>

static struct {
	const struct rs_sw_ctx *ctx;
	char headers[600]; /* "Authentication: token\r\n" or "" */
	struct rs_http_client segs, mgmt;
	struct rs_buf mgmt_body;
	bool mgmt_props;
} H;

enum rs_outcome rs_sw_http_outcome(int status, char *why, size_t n)
{
	if (status < 0)
		return rs_no_answer(status, why, n);
	snprintf(why, n, "HTTP %d", status);
	if (status >= 200 && status < 300)
		return RS_DELIVERED;
	return rs_http_retryable(status) ? RS_RETRY : RS_REJECTED;
}

static void add(struct rs_buf *b, const struct rs_sw_seg *seg, bool first)
{
	rs_buf_putc(b, first ? '[' : ',');
	rs_sw_json_segment(b, seg);
}

static void finish(struct rs_buf *b)
{
	rs_buf_putc(b, ']');
}

/* A path under the endpoint's own (SW_AGENT_COLLECTOR_BACKEND_SERVICES may carry a prefix). */
static void path_for(const char *rel, char *out, size_t cap)
{
	const char *base = H.ctx->ep.path;
	size_t n = strcspn(base, "?");
	while (n && base[n - 1] == '/')
		n--;
	snprintf(out, cap, "%.*s%s", (int)n, base, rel);
}

static void segs_done(void *arg, int status, uint32_t retry_after_ms, const char *body, size_t len)
{
	(void)arg, (void)body,
	    (void)len; /* the answer is Commands, which ringside does not serve */
	char why[64];
	enum rs_outcome o = rs_sw_http_outcome(status, why, sizeof(why));
	rs_delivery_done(H.ctx->d, o, retry_after_ms, 0, why);
}

static void send_batch(void *transport, struct rs_batch *b)
{
	(void)transport;
	char path[600];
	path_for("/v3/segments", path, sizeof(path));
	int e = rs_http_client_post(&H.segs, path, "application/json", NULL, H.headers, b->data.p,
				    b->data.len, RS_SW_TIMEOUT_NS, segs_done, NULL);
	if (e < 0)
		rs_delivery_done(H.ctx->d, RS_RETRY, 0, 0, strerror(-e));
}

static void mgmt_done(void *arg, int status, uint32_t retry_after_ms, const char *body, size_t len)
{
	(void)arg, (void)retry_after_ms, (void)body, (void)len;
	char why[64];
	bool ok = rs_sw_http_outcome(status, why, sizeof(why)) == RS_DELIVERED;
	H.ctx->mgmt_done(H.mgmt_props, ok, why);
}

static bool manage(bool properties)
{
	const struct rs_sw_ctx *c = H.ctx;
	if (rs_http_client_busy(&H.mgmt))
		return false;
	H.mgmt_body.len = 0;
	if (properties)
		rs_sw_json_properties(&H.mgmt_body, c->service, c->instance, c->props, c->nprops);
	else
		rs_sw_json_ping(&H.mgmt_body, c->service, c->instance);
	if (rs_buf_failed(&H.mgmt_body)) {
		rs_buf_free(&H.mgmt_body);
		return false;
	}
	char path[600];
	path_for(properties ? "/v3/management/reportProperties" : "/v3/management/keepAlive", path,
		 sizeof(path));
	H.mgmt_props = properties;
	return rs_http_client_post(&H.mgmt, path, "application/json", NULL, H.headers,
				   H.mgmt_body.p, H.mgmt_body.len, RS_SW_TIMEOUT_NS, mgmt_done,
				   NULL) == 0;
}

static bool start(const struct rs_sw_ctx *ctx)
{
	H.ctx = ctx;
	/* The OAP's AuthenticationInterceptor reads the "Authentication" header. */
	if (ctx->auth[0])
		snprintf(H.headers, sizeof(H.headers), "Authentication: %.500s\r\n", ctx->auth);
	rs_http_client_init(&H.segs, ctx->loop, &ctx->ep);
	rs_http_client_init(&H.mgmt, ctx->loop, &ctx->ep);
	H.segs.tls_ctx = H.mgmt.tls_ctx = ctx->tls;
	return true;
}

static void forget(void)
{
	memset(&H, 0, sizeof(H));
}

const struct rs_sw_transport rs_sw_http = {
    .name = "http",
    .default_port = 12800,
    .start = start,
    .add = add,
    .finish = finish,
    .send = send_batch,
    .manage = manage,
    .forget = forget,
};
