/* The OTLP exporter (RINGSIDE_EXPORTER=otlp): spans as ExportTraceServiceRequest, over HTTP
 * (protobuf or JSON) or gRPC as OTEL_EXPORTER_OTLP_PROTOCOL says, gzipped when
 * OTEL_EXPORTER_OTLP_COMPRESSION=gzip. The open batch keeps the span records as they came; sealing
 * encodes them at once, and the delivery queue retries what the collector may take later. */
#include "../preload/config.h"
#include "../preload/log.h"
#include "../proto/gzip.h"
#include "../proto/otlp_json.h"
#include "../proto/otlp_pb.h"
#include "batch.h"
#include "delivery.h"
#include "exporter.h"
#include "header_list.h"
#include "http_client.h"
#include "otlp_answer.h"
#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
	struct rs_loop *loop;
	struct rs_otlp_signal sig;
	struct rs_endpoint ep;
	char what[900];
	struct rs_buf headers; /* "name: value\r\n" lines from OTEL_EXPORTER_OTLP_HEADERS */
	struct rs_delivery d;
	struct rs_http_client http;
	/* the resource, encoded once */
	struct rs_arena res_arena;
	Otlp__Resource *res_pb;
	struct rs_buf res_json;
	/* the open batch: whole span records, back to back */
	struct rs_buf recs;
	uint32_t nrecs;
	struct rs_arena arena; /* messages of the batch being encoded */
	const struct rs_rec_span **view; /* the open batch's records, for the encoder */
	size_t view_cap;
} O;

static const char *protocol_name(int p)
{
	return p == RS_OTLP_GRPC ? "grpc" : p == RS_OTLP_HTTP_JSON ? "http/json" : "http/protobuf";
}

/* The endpoint the specification's rules give: a signal-specific URL is used as it is; the
 * general one (or the default) gets /v1/traces appended for HTTP; gRPC ignores any path. */
static bool resolve_endpoint(char *why, size_t whylen)
{
	bool grpc = O.sig.protocol == RS_OTLP_GRPC;
	const char *text = *O.sig.endpoint ? O.sig.endpoint
					    : grpc ? "http://localhost:4317" : "http://localhost:4318";
	if (!rs_endpoint_parse(text, 0, &O.ep, why, whylen))
		return false;
	if (!strstr(text, "://")) {
		snprintf(why, whylen, "has no http:// scheme");
		return false;
	}
	if (O.ep.tls) {
		snprintf(why, whylen, "is https://, and ringside speaks only cleartext HTTP so far "
				      "(put a local collector or a TLS proxy in between)");
		return false;
	}
	if (!grpc && !O.sig.endpoint_is_signal) {
		size_t n = strcspn(O.ep.path, "?");
		while (n && O.ep.path[n - 1] == '/')
			n--;
		if (n + sizeof("/v1/traces") > sizeof(O.ep.path)) {
			snprintf(why, whylen, "has a path too long");
			return false;
		}
		memcpy(O.ep.path + n, "/v1/traces", sizeof("/v1/traces"));
	}
	snprintf(O.what, sizeof(O.what), "OTLP %s export to http://%s:%u%s",
		 protocol_name(O.sig.protocol), O.ep.host, O.ep.port, grpc ? "" : O.ep.path);
	return true;
}

static void send_batch(void *transport, struct rs_batch *b);

static int otlp_start(struct rs_loop *loop, const struct rs_resource *res)
{
	O.loop = loop;
	rs_otlp_signal(&rs_cfg, RS_SIGNAL_TRACES, &O.sig);
	char why[200];
	if (!resolve_endpoint(why, sizeof(why))) {
		rs_log(RS_LOG_ERROR, "OTLP endpoint \"%.200s\" %s; spans are dropped and counted",
		       O.sig.endpoint, why);
		return -EINVAL;
	}
	if (!rs_header_list_parse(O.sig.headers, &O.headers, why, sizeof(why))) {
		/* A collector that needs the headers would refuse every batch: say so once, go on. */
		rs_log(RS_LOG_ERROR, "OTEL_EXPORTER_OTLP_HEADERS %s; sending no extra headers", why);
		rs_buf_free(&O.headers);
	}
	rs_buf_putc(&O.headers, 0);
	if (O.sig.protocol == RS_OTLP_GRPC) {
		rs_log(RS_LOG_ERROR, "%s: gRPC is not available in this build; spans are dropped",
		       O.what);
		return -ENOTSUP;
	}
	if (O.sig.protocol == RS_OTLP_HTTP_JSON)
		rs_otlp_json_resource(&O.res_json, res);
	else
		O.res_pb = rs_otlp_pb_resource(res, &O.res_arena);
	if (rs_buf_failed(&O.res_json) || rs_buf_failed(&O.headers) || rs_arena_failed(&O.res_arena))
		return -ENOMEM;
	rs_http_client_init(&O.http, loop, &O.ep);
	rs_delivery_init(&O.d, O.what, send_batch, NULL);
	rs_log(RS_LOG_INFO, "%s", O.what);
	return 0;
}

static void otlp_add(const union rs_rec *rec)
{
	if (rec->hdr.type != RS_REC_SPAN)
		return;
	rs_buf_put(&O.recs, rec, (size_t)rec->hdr.nslots * RS_REC_SIZE);
	O.nrecs++;
	if (rs_buf_failed(&O.recs)) {
		RS_STAT_ADD(dropped_encode, O.nrecs);
		rs_buf_free(&O.recs);
		O.nrecs = 0;
	}
}

static size_t otlp_open_spans(void)
{
	return O.nrecs;
}

/* The open batch's records as an array, for the encoders. */
static bool view_records(void)
{
	if (O.nrecs > O.view_cap) {
		const struct rs_rec_span **v = realloc(O.view, O.nrecs * sizeof(*v));
		if (!v)
			return false;
		O.view = v;
		O.view_cap = O.nrecs;
	}
	size_t off = 0;
	for (uint32_t i = 0; i < O.nrecs; i++) {
		const union rs_rec *r = (const union rs_rec *)(O.recs.p + off);
		O.view[i] = &r->span;
		off += (size_t)r->hdr.nslots * RS_REC_SIZE;
	}
	return true;
}

static bool encode(struct rs_buf *out)
{
	if (!view_records())
		return false;
	if (O.sig.protocol == RS_OTLP_HTTP_JSON) {
		rs_otlp_json_begin(out, O.res_json.p, O.res_json.len);
		for (uint32_t i = 0; i < O.nrecs; i++)
			rs_otlp_json_span(out, O.view[i], i == 0);
		rs_otlp_json_end(out);
		return !rs_buf_failed(out);
	}
	bool ok = rs_otlp_pb_traces(out, O.res_pb, O.view, O.nrecs, &O.arena);
	rs_arena_reset(&O.arena);
	return ok;
}

static void otlp_seal(void)
{
	if (!O.nrecs)
		return;
	struct rs_batch *b = rs_batch_new();
	struct rs_buf plain = {0};
	bool ok = b && encode(O.sig.gzip ? &plain : &b->data);
	if (ok && O.sig.gzip)
		ok = rs_gzip(plain.p, plain.len, &b->data);
	rs_buf_free(&plain);
	if (!ok) {
		RS_STAT_ADD(dropped_encode, O.nrecs);
		rs_batch_free(b);
	} else {
		b->spans = O.nrecs;
	}
	O.recs.len = 0;
	O.nrecs = 0;
	if (O.recs.cap > (1u << 20)) /* give back what a burst took */
		rs_buf_free(&O.recs);
	if (ok)
		rs_delivery_push(&O.d, b);
}

static void http_done(void *arg, int status, uint32_t retry_after_ms, const char *body, size_t len)
{
	(void)arg;
	struct rs_otlp_answer a;
	rs_otlp_http_answer(status, O.sig.protocol == RS_OTLP_HTTP_JSON, body, len, &a);
	rs_delivery_done(&O.d, a.outcome, retry_after_ms, a.rejected, a.why);
}

static void send_batch(void *transport, struct rs_batch *b)
{
	(void)transport;
	bool json = O.sig.protocol == RS_OTLP_HTTP_JSON;
	int e = rs_http_client_post(&O.http, O.ep.path, json ? "application/json" : "application/x-protobuf",
				    O.sig.gzip ? "gzip" : NULL, O.headers.p, b->data.p, b->data.len,
				    O.sig.timeout_ms * 1000000ull, http_done, NULL);
	if (e < 0)
		rs_delivery_done(&O.d, RS_RETRY, 0, 0, strerror(-e));
}

static uint64_t otlp_tick(uint64_t now)
{
	return rs_delivery_tick(&O.d, now);
}

static bool otlp_idle(void)
{
	return !O.nrecs && rs_delivery_idle(&O.d);
}

static size_t otlp_pending_spans(void)
{
	return O.nrecs + O.d.q.spans;
}

static void otlp_forget(void)
{
	memset(&O, 0, sizeof(O));
}

const struct rs_exporter rs_otlp_exporter = {
	.name = "otlp",
	.start = otlp_start,
	.add = otlp_add,
	.open_spans = otlp_open_spans,
	.seal = otlp_seal,
	.tick = otlp_tick,
	.idle = otlp_idle,
	.pending_spans = otlp_pending_spans,
	.forget = otlp_forget,
};
