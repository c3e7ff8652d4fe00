/* Encoders of the shim's own metrics (see otlp_metrics.h). */
#include "otlp_metrics.h"
#include "otlp_json.h"

#include "otlp/metrics.pb-c.h"

#include <stdio.h>

static Otlp__KeyValue **point_attrs(const struct rs_metric_point *p, struct rs_arena *a)
{
	Otlp__KeyValue **kv = rs_arena_alloc(a, p->nattrs * sizeof(*kv) + 1);
	for (unsigned i = 0; kv && i < p->nattrs; i++) {
		Otlp__KeyValue *k = rs_arena_alloc(a, sizeof(*k));
		Otlp__AnyValue *v = rs_arena_alloc(a, sizeof(*v));
		if (!k || !v)
			return NULL;
		*k = (Otlp__KeyValue)OTLP__KEY_VALUE__INIT;
		*v = (Otlp__AnyValue)OTLP__ANY_VALUE__INIT;
		k->key = (char *)p->key[i];
		v->value_case = OTLP__ANY_VALUE__VALUE_STRING_VALUE;
		v->string_value = (char *)p->val[i];
		k->value = v;
		kv[i] = k;
	}
	return kv;
}

bool rs_otlp_pb_metrics(struct rs_buf *out, Otlp__Resource *res, const struct rs_metric *m,
			size_t n, uint64_t start_ns, uint64_t now_ns, struct rs_arena *a)
{
	Otlp__Metric **list = rs_arena_alloc(a, n * sizeof(*list) + 1);
	if (!list)
		return false;
	for (size_t i = 0; i < n; i++) {
		Otlp__Metric *met = rs_arena_alloc(a, sizeof(*met));
		Otlp__Sum *sum = rs_arena_alloc(a, sizeof(*sum));
		Otlp__NumberDataPoint **pts = rs_arena_alloc(a, m[i].npoints * sizeof(*pts) + 1);
		if (!met || !sum || !pts)
			return false;
		*met = (Otlp__Metric)OTLP__METRIC__INIT;
		*sum = (Otlp__Sum)OTLP__SUM__INIT;
		for (unsigned j = 0; j < m[i].npoints; j++) {
			const struct rs_metric_point *p = &m[i].pt[j];
			Otlp__NumberDataPoint *dp = rs_arena_alloc(a, sizeof(*dp));
			if (!dp)
				return false;
			*dp = (Otlp__NumberDataPoint)OTLP__NUMBER_DATA_POINT__INIT;
			dp->start_time_unix_nano = start_ns;
			dp->time_unix_nano = now_ns;
			if (p->is_double) {
				dp->value_case = OTLP__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
				dp->as_double = p->d;
			} else {
				dp->value_case = OTLP__NUMBER_DATA_POINT__VALUE_AS_INT;
				dp->as_int = (int64_t)p->i;
			}
			dp->n_attributes = p->nattrs;
			dp->attributes = point_attrs(p, a);
			if (!dp->attributes)
				return false;
			pts[j] = dp;
		}
		sum->n_data_points = m[i].npoints;
		sum->data_points = pts;
		sum->aggregation_temporality = 2; /* cumulative */
		sum->is_monotonic = m[i].monotonic;
		met->name = (char *)m[i].name;
		met->unit = (char *)m[i].unit;
		met->description = (char *)m[i].description;
		met->data_case = OTLP__METRIC__DATA_SUM;
		met->sum = sum;
		list[i] = met;
	}
	Otlp__InstrumentationScope scope = OTLP__INSTRUMENTATION_SCOPE__INIT;
	scope.name = RS_SCOPE_NAME;
	scope.version = RS_VERSION;
	Otlp__ScopeMetrics sm = OTLP__SCOPE_METRICS__INIT, *smp = &sm;
	sm.scope = &scope;
	sm.n_metrics = n;
	sm.metrics = list;
	Otlp__ResourceMetrics rm = OTLP__RESOURCE_METRICS__INIT, *rmp = &rm;
	rm.resource = res;
	rm.n_scope_metrics = 1;
	rm.scope_metrics = &smp;
	Otlp__ExportMetricsServiceRequest req = OTLP__EXPORT_METRICS_SERVICE_REQUEST__INIT;
	req.n_resource_metrics = 1;
	req.resource_metrics = &rmp;
	size_t size = otlp__export_metrics_service_request__get_packed_size(&req);
	if (!rs_buf_reserve(out, size))
		return false;
	out->len += otlp__export_metrics_service_request__pack(&req, (uint8_t *)out->p + out->len);
	return true;
}

void rs_otlp_json_metrics(struct rs_buf *out, const char *resource_json, size_t resource_len,
			  const struct rs_metric *m, size_t n, uint64_t start_ns, uint64_t now_ns)
{
	rs_buf_puts(out, "{\"resourceMetrics\":[{\"resource\":");
	rs_buf_put(out, resource_json, resource_len);
	rs_buf_puts(out, ",\"scopeMetrics\":[{\"scope\":{\"name\":\"" RS_SCOPE_NAME
			 "\",\"version\":\"" RS_VERSION "\"},\"metrics\":[");
	for (size_t i = 0; i < n; i++) {
		rs_buf_puts(out, i ? ",{\"name\":" : "{\"name\":");
		rs_buf_json_str(out, m[i].name, strlen(m[i].name));
		rs_buf_puts(out, ",\"unit\":");
		rs_buf_json_str(out, m[i].unit, strlen(m[i].unit));
		rs_buf_puts(out, ",\"description\":");
		rs_buf_json_str(out, m[i].description, strlen(m[i].description));
		rs_buf_puts(out, ",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":");
		rs_buf_puts(out, m[i].monotonic ? "true" : "false");
		rs_buf_puts(out, ",\"dataPoints\":[");
		for (unsigned j = 0; j < m[i].npoints; j++) {
			const struct rs_metric_point *p = &m[i].pt[j];
			rs_buf_puts(out, j ? ",{\"startTimeUnixNano\":\"" : "{\"startTimeUnixNano\":\"");
			rs_buf_u64(out, start_ns);
			rs_buf_puts(out, "\",\"timeUnixNano\":\"");
			rs_buf_u64(out, now_ns);
			if (p->is_double) {
				char num[40];
				snprintf(num, sizeof(num), "\",\"asDouble\":%.9g", p->d);
				rs_buf_puts(out, num);
			} else {
				rs_buf_puts(out, "\",\"asInt\":\"");
				rs_buf_u64(out, p->i);
				rs_buf_putc(out, '"');
			}
			rs_buf_puts(out, ",\"attributes\":[");
			for (unsigned k = 0; k < p->nattrs; k++) {
				rs_buf_puts(out, k ? ",{\"key\":" : "{\"key\":");
				rs_buf_json_str(out, p->key[k], strlen(p->key[k]));
				rs_buf_puts(out, ",\"value\":{\"stringValue\":");
				rs_buf_json_str(out, p->val[k], strlen(p->val[k]));
				rs_buf_puts(out, "}}");
			}
			rs_buf_puts(out, "]}");
		}
		rs_buf_puts(out, "]}}");
	}
	rs_buf_puts(out, "]}]}]}");
}
