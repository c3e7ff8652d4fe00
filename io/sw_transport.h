/* The seam between the SkyWalking exporter (sw_exporter.c) and the ways its messages travel, one
 * per SW_AGENT_PROTOCOL: how a sealed segment joins the open batch, how a batch is sent (through
 * the exporter's delivery queue, which retries and counts), and how a ManagementService message
 * goes. Reporter thread only. */
#ifndef RS_IO_SW_TRANSPORT_H
#define RS_IO_SW_TRANSPORT_H

#include "../proto/sw_segment.h"
#include "delivery.h"
#include "http_client.h"

#define RS_SW_TIMEOUT_NS 10000000000ull /* per request: OTEL_EXPORTER_OTLP_TIMEOUT's default */

/* What the exporter hands its transport; valid from start on. */
struct rs_sw_ctx {
	struct rs_loop *loop;
	struct rs_endpoint ep; /* the OAP (HTTP, gRPC) */
	struct rs_tls_ctx *tls; /* when ep.tls: the verified settings for it */
	const char *auth;      /* SW_AGENT_AUTHENTICATION, "" when none (checked: printable) */
	const char *service, *instance;
	const struct rs_sw_kv *props;
	size_t nprops;
	struct rs_delivery *d; /* answers for segment batches go to rs_delivery_done */
	/* The answer to a management message: ok, or why not. */
	void (*mgmt_done)(bool properties, bool ok, const char *why);
};

struct rs_sw_transport {
	const char *name;
	uint16_t default_port; /* of SW_AGENT_COLLECTOR_BACKEND_SERVICES; 0: not an address */
	/* false after one stderr line. */
	bool (*start)(const struct rs_sw_ctx *ctx);
	/* Appends one segment to the open batch (its first when first). */
	void (*add)(struct rs_buf *batch, const struct rs_sw_seg *seg, bool first);
	/* Optional: completes the open batch before it is queued. */
	void (*finish)(struct rs_buf *batch);
	rs_delivery_send_fn send;
	/* Starts a management message; false when it cannot go now (one still under way). */
	bool (*manage)(bool properties);
	/* Optional: each pass of the loop; nanoseconds until it needs the next, or UINT64_MAX. */
	uint64_t (*tick)(uint64_t now);
	/* Optional: in a fork child, forget connections and handles without touching them. */
	void (*forget)(void);
};

extern const struct rs_sw_transport rs_sw_http;
extern const struct rs_sw_transport rs_sw_grpc;
extern const struct rs_sw_transport rs_sw_kafka;

/* The gRPC transport's client once it has started (NULL otherwise), for the profile tasks'
 * calls to the same OAP on the same connection. */
struct rs_grpc_client *rs_sw_grpc_client(void);

/* SkyWalking has no retry rule of its own: the OTLP specification's (HTTP 429, 502, 503, 504 and
 * no answer are worth another try) is what its agents' reporters amount to as well. why gets the
 * status for the stderr line. */
enum rs_outcome rs_sw_http_outcome(int status, char *why, size_t n);

#endif
