/* SkyWalking over gRPC (SW_AGENT_PROTOCOL=grpc, the agents' default; the OAP's port 11800), on
 * the reporter's gRPC client (grpc_client.h): a batch is one client-streaming call of
 * /skywalking.v3.TraceSegmentReportService/collect carrying one SegmentObject per segment;
 * management messages are unary calls of ManagementService (reportInstanceProperties,
 * keepAlive). The token goes as the `authentication` metadata the OAP's AuthenticationInterceptor
 * reads. */
#include "grpc_client.h"
#include "otlp_answer.h"
#include "sw_transport.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define COLLECT	   "/skywalking.v3.TraceSegmentReportService/collect"
#define PROPERTIES "/skywalking.v3.ManagementService/reportInstanceProperties"
#define KEEPALIVE  "/skywalking.v3.ManagementService/keepAlive"

static struct {
	const struct rs_sw_ctx *ctx;
	struct rs_grpc_client *c;
	struct rs_buf msg; /* one message before framing */
	struct rs_arena arena;
	struct rs_buf mgmt_body;
	bool mgmt_busy, mgmt_props;
} G;

/* gRPC's retryable statuses, as the OTLP specification lists them: CANCELLED, DEADLINE_EXCEEDED,
 * ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS; and no status at all. */
static enum rs_outcome outcome(int status, const char *message, char *why, size_t n)
{
	if (status < 0)
		return rs_no_answer(status, why, n);
	snprintf(why, n, "gRPC status %d%s%.100s", status, message && *message ? ": " : "",
		 message ? message : "");
	switch (status) {
	case 0:
		return RS_DELIVERED;
	case 1:
	case 4:
	case 10:
	case 11:
	case 14:
	case 15:
		return RS_RETRY;
	default:
		return RS_REJECTED;
	}
}

static void add(struct rs_buf *b, const struct rs_sw_seg *seg, bool first)
{
	(void)first;
	G.msg.len = 0;
	bool ok = rs_sw_pb_segment(&G.msg, seg, &G.arena);
	rs_arena_reset(&G.arena);
	if (!ok || rs_grpc_frame(b, G.msg.p, G.msg.len, false) < 0)
		b->failed = true; /* the batch is dropped and counted when sealed */
}

static void collect_done(void *arg, int status, const char *message, const void *reply, size_t len)
{
	(void)arg, (void)reply, (void)len; /* Commands: ringside serves none of them here */
	char why[160];
	enum rs_outcome o = outcome(status, message, why, sizeof(why));
	rs_delivery_done(G.ctx->d, o, 0, 0, why);
}

static void send_batch(void *transport, struct rs_batch *b)
{
	(void)transport;
	long e = rs_grpc_call(G.c, COLLECT, b->data.p, b->data.len, false, RS_SW_TIMEOUT_NS,
			      collect_done, NULL);
	if (e < 0)
		rs_delivery_done(G.ctx->d, RS_RETRY, 0, 0, strerror((int)-e));
}

static void mgmt_done(void *arg, int status, const char *message, const void *reply, size_t len)
{
	(void)arg, (void)reply, (void)len;
	char why[160];
	G.mgmt_busy = false;
	G.ctx->mgmt_done(G.mgmt_props, outcome(status, message, why, sizeof(why)) == RS_DELIVERED,
			 why);
}

static bool manage(bool properties)
{
	const struct rs_sw_ctx *c = G.ctx;
	if (G.mgmt_busy)
		return false;
	G.msg.len = 0;
	G.mgmt_body.len = 0;
	bool ok = properties
		      ? rs_sw_pb_properties(&G.msg, c->service, c->instance, c->props, c->nprops)
		      : rs_sw_pb_ping(&G.msg, c->service, c->instance);
	if (!ok || rs_grpc_frame(&G.mgmt_body, G.msg.p, G.msg.len, false) < 0) {
		rs_buf_free(&G.msg);
		rs_buf_free(&G.mgmt_body);
		return false;
	}
	G.mgmt_props = properties;
	if (rs_grpc_call(G.c, properties ? PROPERTIES : KEEPALIVE, G.mgmt_body.p, G.mgmt_body.len,
			 false, RS_SW_TIMEOUT_NS, mgmt_done, NULL) < 0)
		return false;
	G.mgmt_busy = true;
	return true;
}

static bool start(const struct rs_sw_ctx *ctx)
{
	G.ctx = ctx;
	char md[600] = "";
	if (ctx->auth[0])
		snprintf(md, sizeof(md), "authentication: %.500s\r\n", ctx->auth);
	G.c = rs_grpc_client_new(ctx->loop, &ctx->ep, md[0] ? md : NULL);
	if (G.c)
		rs_grpc_client_set_tls(G.c, ctx->tls);
	return G.c != NULL;
}

struct rs_grpc_client *rs_sw_grpc_client(void)
{
	return G.c;
}

static void forget(void)
{
	if (G.c)
		rs_grpc_client_forget(G.c);
	memset(&G, 0, sizeof(G));
}

const struct rs_sw_transport rs_sw_grpc = {
    .name = "grpc",
    .default_port = 11800,
    .start = start,
    .add = add,
    .send = send_batch,
    .manage = manage,
    .forget = forget,
};
