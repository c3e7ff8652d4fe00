/* The OTLP exporter (RINGSIDE_EXPORTER=otlp): spans as ExportTraceServiceRequest and the shim's
 * own counters as ExportMetricsServiceRequest, over HTTP (protobuf or JSON) or gRPC as
 * OTEL_EXPORTER_OTLP_[SIGNAL_]PROTOCOL says, gzipped when asked. Each signal is a channel with its
 * endpoint, headers, connection and delivery queue. The open span batch keeps the records as they
 * came; sealing encodes them at once. RINGSIDE_EXPORTER=kafka is the same exporter with Kafka as
 * the transport (OTLP protobuf, a record per batch, to the topics of the Collector's Kafka
 * receiver), so batching, the queue bound, retries and loss counting are the same code. */
#include "../preload/clock.h"
#include "../preload/config.h"
#include "../preload/log.h"
#include "../proto/gzip.h"
#include "../proto/otlp_json.h"
#include "../proto/otlp_metrics.h"
#include "../proto/otlp_pb.h"
#include "batch.h"
#include "delivery.h"
#include "exporter.h"
#include "grpc_client.h"
#include "header_list.h"
#include "http_client.h"
#include "kafka.h"
#include "otlp_answer.h"
#include "self_metrics.h"
#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct channel {
	enum rs_otlp_signal_kind kind;
	struct rs_otlp_signal sig;
	struct rs_endpoint ep;
	char what[900];
	struct rs_buf headers; /* "name: value\r\n" lines, NUL-terminated */
	struct rs_delivery d;
	struct rs_http_client http;
	struct rs_grpc_client *grpc; /* when the protocol is grpc */
	struct rs_tls_ctx *tls;	     /* https:// */
	const char *topic; /* Kafka */
	bool ok;
};

static struct {
	struct rs_loop *loop;
	struct channel traces, metrics;
	struct rs_kafka *kafka; /* RINGSIDE_EXPORTER=kafka: both channels' transport */
	bool over_kafka;
	/* the resource, encoded once per encoding in use */
	struct rs_arena res_arena;
	Otlp__Resource *res_pb;	 /* for the metrics (protobuf-c) */
	struct rs_buf res_pb_body; /* for the spans (written directly) */
	struct rs_buf res_json;
	/* the open batch: whole span records, back to back */
	struct rs_buf recs;
	uint32_t nrecs;
	const struct rs_rec_span **view;
	size_t view_cap;
	struct rs_arena arena; /* messages of the batch being encoded */
	/* self-telemetry */
	uint64_t start_ns;	/* epoch: the metrics' start time */
	uint64_t next_metrics;	/* monotonic */
	bool exiting, final_sent;
} O;

static const char *protocol_name(int p)
{
	return p == RS_OTLP_GRPC ? "grpc" : p == RS_OTLP_HTTP_JSON ? "http/json" : "http/protobuf";
}

static const char *signal_path(enum rs_otlp_signal_kind k)
{
	return k == RS_SIGNAL_TRACES ? "/v1/traces" : "/v1/metrics";
}

/* The endpoint the specification's rules give: a signal-specific URL is used as it is; the
 * general one (or the default) gets /v1/<signal> appended for HTTP; gRPC ignores any path. */
static bool resolve_endpoint(struct channel *ch, char *why, size_t whylen)
{
	bool grpc = ch->sig.protocol == RS_OTLP_GRPC;
	const char *text = *ch->sig.endpoint ? ch->sig.endpoint
					     : grpc ? "http://localhost:4317" : "http://localhost:4318";
	if (!strstr(text, "://")) {
		snprintf(why, whylen, "has no http:// scheme");
		return false;
	}
	if (!rs_endpoint_parse(text, 0, &ch->ep, why, whylen))
		return false;
	if (!grpc && !ch->sig.endpoint_is_signal) {
		const char *add = signal_path(ch->kind);
		size_t n = strcspn(ch->ep.path, "?");
		while (n && ch->ep.path[n - 1] == '/')
			n--;
		if (n + strlen(add) + 1 > sizeof(ch->ep.path)) {
			snprintf(why, whylen, "has a path too long");
			return false;
		}
		memcpy(ch->ep.path + n, add, strlen(add) + 1);
	}
	snprintf(ch->what, sizeof(ch->what), "OTLP %s %s export to http%s://%s:%u%s",
		 protocol_name(ch->sig.protocol), ch->kind == RS_SIGNAL_TRACES ? "span" : "metric",
		 ch->ep.tls ? "s" : "", ch->ep.host, ch->ep.port, grpc ? "" : ch->ep.path);
	return true;
}

/* A signal's settings. Over Kafka the encoding is the receiver's default, otlp_proto, always:
 * the value must be the bare message, and Kafka compresses on its own (kafka.c). */
static void signal_settings(enum rs_otlp_signal_kind kind, struct rs_otlp_signal *sig)
{
	rs_otlp_signal(&rs_cfg, kind, sig);
	if (O.over_kafka) {
		sig->protocol = RS_OTLP_HTTP_PROTOBUF;
		sig->gzip = false;
	}
}

static void send_batch(void *transport, struct rs_batch *b);
static bool kafka_channel_start(struct channel *ch);

static bool channel_start(struct channel *ch, enum rs_otlp_signal_kind kind)
{
	ch->kind = kind;
	signal_settings(kind, &ch->sig);
	if (O.over_kafka)
		return kafka_channel_start(ch);
	const char *var = kind == RS_SIGNAL_TRACES ? "TRACES" : "METRICS";
	char why[200];
	if (!resolve_endpoint(ch, why, sizeof(why))) {
		rs_log(RS_LOG_ERROR, "OTLP %s endpoint \"%.200s\" %s; %s", var, ch->sig.endpoint,
		       why, kind == RS_SIGNAL_TRACES ? "spans are dropped and counted"
						     : "no metrics are sent");
		return false;
	}
	if (!rs_header_list_parse(ch->sig.headers, &ch->headers, why, sizeof(why))) {
		/* A collector that needs the headers refuses every batch: say so once, go on. */
		rs_log(RS_LOG_ERROR, "OTEL_EXPORTER_OTLP_[%s_]HEADERS %s; sending no extra headers",
		       var, why);
		rs_buf_free(&ch->headers);
	}
	rs_buf_putc(&ch->headers, 0);
	if (rs_buf_failed(&ch->headers))
		return false;
	/* TLS settings are read once: a CA or key file that cannot be used stops the export (said
	 * on stderr) rather than sending anything unverified. */
	if (ch->ep.tls &&
	    !(ch->tls = rs_tls_ctx_new(ch->sig.certificate, ch->sig.client_certificate,
				       ch->sig.client_key,
				       ch->sig.protocol == RS_OTLP_GRPC ? "h2" : NULL, ch->what)))
		return false;
	if (ch->sig.protocol == RS_OTLP_GRPC) {
		ch->grpc = rs_grpc_client_new(O.loop, &ch->ep, ch->headers.p);
		if (!ch->grpc)
			return false;
		rs_grpc_client_set_tls(ch->grpc, ch->tls);
	} else {
		rs_http_client_init(&ch->http, O.loop, &ch->ep);
		ch->http.tls_ctx = ch->tls;
	}
	rs_delivery_init(&ch->d, ch->what, send_batch, ch);
	rs_log(RS_LOG_INFO, "%s", ch->what);
	ch->ok = true;
	return true;
}

static bool resource_ready(const struct rs_resource *res)
{
	bool json = O.traces.sig.protocol == RS_OTLP_HTTP_JSON ||
		    O.metrics.sig.protocol == RS_OTLP_HTTP_JSON;
	bool pb = O.traces.sig.protocol != RS_OTLP_HTTP_JSON ||
		  O.metrics.sig.protocol != RS_OTLP_HTTP_JSON;
	if (json)
		rs_otlp_json_resource(&O.res_json, res);
	if (pb) {
		O.res_pb = rs_otlp_pb_resource(res, &O.res_arena);
		rs_otlp_pb_resource_body(&O.res_pb_body, res);
	}
	return !rs_buf_failed(&O.res_json) && !rs_buf_failed(&O.res_pb_body) &&
	       !rs_arena_failed(&O.res_arena);
}

static int otlp_start(struct rs_loop *loop, const struct rs_resource *res)
{
	O.loop = loop;
	O.start_ns = rs_epoch_ns();
	signal_settings(RS_SIGNAL_TRACES, &O.traces.sig);
	signal_settings(RS_SIGNAL_METRICS, &O.metrics.sig);
	if (!resource_ready(res))
		return -ENOMEM;
	if (rs_cfg.self_metrics && channel_start(&O.metrics, RS_SIGNAL_METRICS))
		O.next_metrics = rs_mono_ns() + rs_cfg.metric_interval_ms * 1000000ull;
	return channel_start(&O.traces, RS_SIGNAL_TRACES) ? 0 : -EINVAL;
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

static bool encode_spans(struct rs_buf *out)
{
	if (!view_records())
		return false;
	if (O.traces.sig.protocol == RS_OTLP_HTTP_JSON) {
		rs_otlp_json_begin(out, O.res_json.p, O.res_json.len);
		for (uint32_t i = 0; i < O.nrecs; i++)
			rs_otlp_json_span(out, O.view[i], i == 0);
		rs_otlp_json_end(out);
		return !rs_buf_failed(out);
	}
	return rs_otlp_pb_traces(out, O.res_pb_body.p, O.res_pb_body.len, O.view, O.nrecs);
}

static const char *component_type(void)
{
	if (O.over_kafka)
		return "otlp_kafka_span_exporter";
	switch (O.traces.sig.protocol) {
	case RS_OTLP_GRPC:
		return "otlp_grpc_span_exporter";
	case RS_OTLP_HTTP_JSON:
		return "otlp_http_json_span_exporter";
	default:
		return "otlp_http_span_exporter";
	}
}

static bool encode_metrics(struct rs_buf *out)
{
	struct rs_metric m[RS_SELF_METRICS_MAX];
	size_t n = rs_self_metrics(m, component_type());
	if (O.metrics.sig.protocol == RS_OTLP_HTTP_JSON) {
		rs_otlp_json_metrics(out, O.res_json.p, O.res_json.len, m, n, O.start_ns,
				     rs_epoch_ns());
		return !rs_buf_failed(out);
	}
	bool ok = rs_otlp_pb_metrics(out, O.res_pb, m, n, O.start_ns, rs_epoch_ns(), &O.arena);
	rs_arena_reset(&O.arena);
	return ok;
}

/* A new batch holding what encode wrote, gzipped when the channel says so (gRPC: one message
 * with its prefix, compressed per message); NULL on failure. */
static struct rs_batch *sealed(const struct channel *ch, bool (*encode)(struct rs_buf *))
{
	struct rs_batch *b = rs_batch_new();
	struct rs_buf plain = {0};
	bool grpc = ch->sig.protocol == RS_OTLP_GRPC;
	bool ok = b && encode(ch->sig.gzip || grpc ? &plain : &b->data);
	if (ok && grpc)
		ok = rs_grpc_frame(&b->data, plain.p, plain.len, ch->sig.gzip) == 0;
	else if (ok && ch->sig.gzip)
		ok = rs_gzip(plain.p, plain.len, &b->data);
	rs_buf_free(&plain);
	if (!ok) {
		rs_batch_free(b);
		return NULL;
	}
	return b;
}

static void otlp_seal(void)
{
	if (!O.nrecs)
		return;
	struct rs_batch *b = sealed(&O.traces, encode_spans);
	if (b)
		b->spans = O.nrecs;
	else
		RS_STAT_ADD(dropped_encode, O.nrecs);
	O.recs.len = 0;
	O.nrecs = 0;
	if (O.recs.cap > (1u << 20)) /* give back what a burst took */
		rs_buf_free(&O.recs);
	if (b)
		rs_delivery_push(&O.traces.d, b);
}

/* A snapshot of the counters, queued behind any earlier one (metrics batches carry no spans). */
static void send_metrics(void)
{
	struct rs_batch *b = sealed(&O.metrics, encode_metrics);
	if (b)
		rs_delivery_push(&O.metrics.d, b);
}

static void http_done(void *arg, int status, uint32_t retry_after_ms, const char *body, size_t len)
{
	struct channel *ch = arg;
	struct rs_otlp_answer a;
	rs_otlp_http_answer(status, ch->sig.protocol == RS_OTLP_HTTP_JSON, body, len, &a);
	rs_delivery_done(&ch->d, a.outcome, retry_after_ms, a.rejected, a.why);
}

static void kafka_send(struct channel *ch, struct rs_batch *b);

static void grpc_done(void *arg, int status, const char *message, const void *reply, size_t len)
{
	struct channel *ch = arg;
	struct rs_otlp_answer a;
	/* An answer over the 4 MiB bound is what gRPC libraries report as RESOURCE_EXHAUSTED:
	 * the collector is not broken for a while, it answers this batch that way; not retried. */
	rs_otlp_grpc_answer(status == -EMSGSIZE ? 8 : status,
			    status == -EMSGSIZE ? "answer over 4 MiB" : message,
			    status == -EMSGSIZE ? NULL : rs_grpc_status_details(ch->grpc), reply, len,
			    &a);
	rs_delivery_done(&ch->d, a.outcome, a.retry_after_ms, a.rejected, a.why);
}

static const char *grpc_path(enum rs_otlp_signal_kind k)
{
	return k == RS_SIGNAL_TRACES ? "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
				     : "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
}

static void send_batch(void *transport, struct rs_batch *b)
{
	struct channel *ch = transport;
	if (O.over_kafka) {
		kafka_send(ch, b);
		return;
	}
	if (ch->grpc) {
		long id = rs_grpc_call(ch->grpc, grpc_path(ch->kind), b->data.p, b->data.len,
				       ch->sig.gzip, ch->sig.timeout_ms * 1000000ull, grpc_done, ch);
		if (id < 0)
			rs_delivery_done(&ch->d, RS_RETRY, 0, 0, strerror((int)-id));
		return;
	}
	bool json = ch->sig.protocol == RS_OTLP_HTTP_JSON;
	int e = rs_http_client_post(&ch->http, ch->ep.path,
				    json ? "application/json" : "application/x-protobuf",
				    ch->sig.gzip ? "gzip" : NULL, ch->headers.p, b->data.p,
				    b->data.len, ch->sig.timeout_ms * 1000000ull, http_done, ch);
	if (e < 0)
		rs_delivery_done(&ch->d, RS_RETRY, 0, 0, strerror(-e));
}

static uint64_t otlp_tick(uint64_t now)
{
	if (O.kafka) /* delivery reports: they finish the batches in flight */
		rs_kafka_poll(O.kafka);
	uint64_t next = rs_kafka_next_poll_ns(O.kafka);
	uint64_t d = rs_delivery_tick(&O.traces.d, now);
	next = RS_MIN(next, d);
	if (O.metrics.ok) {
		if (now >= O.next_metrics) {
			/* One snapshot waiting is enough: a newer one supersedes it. */
			if (rs_delivery_idle(&O.metrics.d))
				send_metrics();
			O.next_metrics = now + rs_cfg.metric_interval_ms * 1000000ull;
		}
		uint64_t m = rs_delivery_tick(&O.metrics.d, now);
		next = RS_MIN(next, m);
		next = RS_MIN(next, O.next_metrics - now);
	}
	return next;
}

static void otlp_exit_flush(void)
{
	O.exiting = true;
}

static bool otlp_idle(void)
{
	bool spans_idle = !O.nrecs && rs_delivery_idle(&O.traces.d);
	if (!O.metrics.ok)
		return spans_idle;
	/* At exit, the last snapshot goes once the spans are settled, so it counts them all. */
	if (O.exiting && spans_idle && !O.final_sent) {
		O.final_sent = true;
		send_metrics();
	}
	return spans_idle && rs_delivery_idle(&O.metrics.d);
}

static size_t otlp_pending_spans(void)
{
	return O.nrecs + O.traces.d.q.spans;
}

static void otlp_forget(void)
{
	rs_kafka_forget(O.kafka);
	memset(&O, 0, sizeof(O));
}

const struct rs_exporter rs_otlp_exporter = {
	.name = "otlp",
	.start = otlp_start,
	.add = otlp_add,
	.open_spans = otlp_open_spans,
	.seal = otlp_seal,
	.tick = otlp_tick,
	.exit_flush = otlp_exit_flush,
	.idle = otlp_idle,
	.pending_spans = otlp_pending_spans,
	.forget = otlp_forget,
};

/* --- RINGSIDE_EXPORTER=kafka: the same channels, records to Kafka ----------------------------- */

/* Kafka's rule for topic names: what a broker would refuse, said once at start. */
static bool kafka_topic_ok(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > 249 || strcmp(t, ".") == 0 || strcmp(t, "..") == 0)
		return false;
	return strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static bool kafka_channel_start(struct channel *ch)
{
	bool t = ch->kind == RS_SIGNAL_TRACES;
	ch->topic = t ? rs_cfg.kafka_traces_topic : rs_cfg.kafka_metrics_topic;
	if (!kafka_topic_ok(ch->topic)) {
		const char *def = t ? "otlp_spans" : "otlp_metrics";
		rs_log(RS_LOG_ERROR,
		       "RINGSIDE_KAFKA_%s_TOPIC=\"%.250s\" is no Kafka topic name (letters, digits, "
		       "'.', '_', '-', at most 249); using %s",
		       t ? "TRACES" : "METRICS", ch->topic, def);
		ch->topic = def;
	}
	int e = rs_kafka_declare(O.kafka, ch->topic);
	if (e < 0)
		rs_log(RS_LOG_WARN, "Kafka topic %s: %s", ch->topic, strerror(-e));
	snprintf(ch->what, sizeof(ch->what), "OTLP %s export to Kafka topic %s at %s",
		 t ? "span" : "metric", ch->topic, rs_cfg.kafka_brokers);
	rs_delivery_init(&ch->d, ch->what, send_batch, ch);
	rs_log(RS_LOG_INFO, "%s", ch->what);
	ch->ok = true;
	return true;
}

/* A record's delivery report: librdkafka retried within message.timeout.ms already; what it
 * calls retryable waits for the delivery queue's backoff, the rest is dropped and counted. */
static void kafka_done(void *arg, int err, bool retryable, const char *why)
{
	struct channel *ch = arg;
	enum rs_outcome o = !err ? RS_DELIVERED : retryable ? RS_RETRY : RS_REJECTED;
	rs_delivery_done(&ch->d, o, 0, 0, why);
}

static void kafka_send(struct channel *ch, struct rs_batch *b)
{
	int e =
	    rs_kafka_produce(O.kafka, ch->topic, NULL, 0, b->data.p, b->data.len, kafka_done, ch);
	if (e == -EMSGSIZE || e == -EINVAL || e == -ENOENT || e == -EACCES)
		rs_delivery_done(&ch->d, RS_REJECTED, 0, 0, strerror(-e));
	else if (e < 0)
		rs_delivery_done(&ch->d, RS_RETRY, 0, 0, strerror(-e));
}

/* The producer is made here, on the reporter thread, so that librdkafka's threads are internal. */
static int kafka_start(struct rs_loop *loop, const struct rs_resource *res)
{
	O.over_kafka = true;
	O.kafka = rs_kafka_new(rs_cfg.kafka_brokers, "Kafka exporter", rs_cfg.kafka_producer_props,
			       "RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON");
	if (!O.kafka) {
		rs_log(RS_LOG_ERROR,
		       "RINGSIDE_EXPORTER=kafka cannot start; spans are dropped and counted");
		return -EINVAL;
	}
	return otlp_start(loop, res);
}

const struct rs_exporter rs_kafka_exporter = {
	.name = "kafka",
	.start = kafka_start,
	.add = otlp_add,
	.open_spans = otlp_open_spans,
	.seal = otlp_seal,
	.tick = otlp_tick,
	.exit_flush = otlp_exit_flush,
	.idle = otlp_idle,
	.pending_spans = otlp_pending_spans,
	.forget = otlp_forget,
};
