/* The reporter's counters as OTLP metrics (see self_metrics.h). Values are cumulative since the
 * reporter started. */
#include "self_metrics.h"
#include "stats.h"

static void point(struct rs_metric *m, uint64_t v, const char *k1, const char *v1, const char *k2,
		  const char *v2)
{
	struct rs_metric_point *p = &m->pt[m->npoints++];
	*p = (struct rs_metric_point){.i = v};
	if (k1) {
		p->key[p->nattrs] = k1;
		p->val[p->nattrs++] = v1;
	}
	if (k2) {
		p->key[p->nattrs] = k2;
		p->val[p->nattrs++] = v2;
	}
}

#define LOAD(f) rs_load_relaxed(&rs_io_stats.f)
#define CT "otel.component.type"

size_t rs_self_metrics(struct rs_metric *m, const char *component_type)
{
	size_t n = 0;
	uint64_t ring = LOAD(dropped_ring_full);
	m[n] = (struct rs_metric){"otel.sdk.span.started", "{span}",
				  "Spans the shim recorded, including those no ring could take", true};
	point(&m[n++], LOAD(spans_recorded) + ring, NULL, NULL, NULL, NULL);

	/* The rings and the reporter's queue act as OpenTelemetry's batching span processor. */
	m[n] = (struct rs_metric){"otel.sdk.processor.span.processed", "{span}",
				  "Spans taken by the batching stage, by outcome", true};
	point(&m[n], LOAD(spans_recorded), CT, "batching_span_processor", NULL, NULL);
	point(&m[n], ring, CT, "batching_span_processor", "error.type", "ring_full");
	point(&m[n], LOAD(dropped_queue_full), CT, "batching_span_processor", "error.type",
	      "queue_full");
	point(&m[n], LOAD(dropped_encode) + LOAD(dropped_corrupt), CT, "batching_span_processor",
	      "error.type", "encoding");
	n++;

	m[n] = (struct rs_metric){"otel.sdk.exporter.span.exported", "{span}",
				  "Spans whose export finished, by outcome", true};
	point(&m[n], LOAD(spans_exported), CT, component_type, NULL, NULL);
	point(&m[n], LOAD(dropped_rejected), CT, component_type, "error.type", "rejected");
	point(&m[n], LOAD(dropped_export_failed), CT, component_type, "error.type", "refused");
	n++;

	m[n] = (struct rs_metric){"ringside.exporter.retries", "{request}",
				  "Export requests that failed and were tried again", true};
	point(&m[n++], LOAD(retries), CT, component_type, NULL, NULL);

	m[n] = (struct rs_metric){"ringside.exporter.requests", "{request}",
				  "Export requests that were answered with success", true};
	point(&m[n++], LOAD(batches), CT, component_type, NULL, NULL);

	m[n] = (struct rs_metric){"ringside.exporter.request.time", "s",
				  "Time from sending a successful export request to its answer, summed",
				  true};
	point(&m[n], 0, CT, component_type, NULL, NULL);
	m[n].pt[0].is_double = true;
	m[n].pt[0].d = (double)LOAD(export_ns) / 1e9;
	n++;
	return n;
}
