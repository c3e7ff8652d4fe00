/* The reporter's counters (stats.h) as OTLP metrics, named by OpenTelemetry's semantic
 * conventions for SDK self-observability (otel.sdk.*) where one fits, ringside.* otherwise. */
#ifndef RS_IO_SELF_METRICS_H
#define RS_IO_SELF_METRICS_H

#include "../proto/otlp_metrics.h"

#define RS_SELF_METRICS_MAX 6

/* Fills m (RS_SELF_METRICS_MAX entries) with the counters as they are now; component_type is
 * the exporter's otel.component.type (e.g. "otlp_http_span_exporter"). Returns how many. */
size_t rs_self_metrics(struct rs_metric *m, const char *component_type);

#endif
