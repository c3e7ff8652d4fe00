/* OTLP metrics for the shim's own counters: a small neutral description of cumulative sums,
 * encoded as ExportMetricsServiceRequest in protobuf (protoc-c) or OTLP/JSON. */
#ifndef RS_PROTO_OTLP_METRICS_H
#define RS_PROTO_OTLP_METRICS_H

#include "arena.h"
#include "buf.h"

#include "otlp/common.pb-c.h"

#define RS_METRIC_MAX_POINTS 6
#define RS_METRIC_MAX_ATTRS 3

struct rs_metric_point {
	const char *key[RS_METRIC_MAX_ATTRS];
	const char *val[RS_METRIC_MAX_ATTRS];
	unsigned nattrs;
	bool is_double;
	uint64_t i;
	double d;
};

/* A cumulative Sum since start_ns (monotonic unless it is a level). */
struct rs_metric {
	const char *name, *unit, *description;
	bool monotonic;
	unsigned npoints;
	struct rs_metric_point pt[RS_METRIC_MAX_POINTS];
};

/* Appends the request for metrics m[0..n) observed at now_ns, counting from start_ns. */
bool rs_otlp_pb_metrics(struct rs_buf *out, Otlp__Resource *res, const struct rs_metric *m,
			size_t n, uint64_t start_ns, uint64_t now_ns, struct rs_arena *a);
void rs_otlp_json_metrics(struct rs_buf *out, const char *resource_json, size_t resource_len,
			  const struct rs_metric *m, size_t n, uint64_t start_ns, uint64_t now_ns);

#endif
