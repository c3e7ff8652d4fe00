/* The span encoder as it was before proto/otlp_pb.c wrote protobuf directly: protobuf-c messages
 * built in an arena and packed. Kept only as the reference test_otlp_pb compares the direct
 * writer's output with, field by field. */
#include "../../proto/otlp_json.h"
#include "../../proto/otlp_pb.h"
#include "../../proto/span_view.h"
#include "otlp_pb_ref.h"

#include "otlp/status.pb-c.h"
#include "otlp/trace.pb-c.h"

#include <string.h>

#define MAX_ATTRS 64

struct attr_list {
	struct rs_arena *a;
	Otlp__KeyValue **kv;
	size_t n;
};

static Otlp__KeyValue *new_kv(struct attr_list *l, const char *key)
{
	if (l->n == MAX_ATTRS)
		return NULL;
	Otlp__KeyValue *kv = rs_arena_alloc(l->a, sizeof(*kv));
	Otlp__AnyValue *v = rs_arena_alloc(l->a, sizeof(*v));
	if (!kv || !v)
		return NULL;
	*kv = (Otlp__KeyValue)OTLP__KEY_VALUE__INIT;
	*v = (Otlp__AnyValue)OTLP__ANY_VALUE__INIT;
	kv->key = (char *)key; /* keys are string literals or arena strings */
	kv->value = v;
	l->kv[l->n++] = kv;
	return kv;
}

static void put_str(void *ctx, const char *key, const char *s, size_t n)
{
	struct attr_list *l = ctx;
	Otlp__KeyValue *kv = new_kv(l, key);
	char *copy = rs_arena_strndup(l->a, s, n);
	if (!kv || !copy)
		return;
	kv->value->value_case = OTLP__ANY_VALUE__VALUE_STRING_VALUE;
	kv->value->string_value = copy;
}

static void put_num(void *ctx, const char *key, int64_t v)
{
	Otlp__KeyValue *kv = new_kv(ctx, key);
	if (!kv)
		return;
	kv->value->value_case = OTLP__ANY_VALUE__VALUE_INT_VALUE;
	kv->value->int_value = v;
}

static void put_flag(void *ctx, const char *key, bool v)
{
	Otlp__KeyValue *kv = new_kv(ctx, key);
	if (!kv)
		return;
	kv->value->value_case = OTLP__ANY_VALUE__VALUE_BOOL_VALUE;
	kv->value->bool_value = v;
}

static Otlp__Span *span_msg(const struct rs_rec_span *s, struct rs_arena *a)
{
	static const uint8_t zero[8];
	Otlp__Span *m = rs_arena_alloc(a, sizeof(*m));
	struct attr_list l = {a, rs_arena_alloc(a, MAX_ATTRS * sizeof(Otlp__KeyValue *)), 0};
	char name[256], ts[1024];
	if (!m || !l.kv)
		return NULL;
	*m = (Otlp__Span)OTLP__SPAN__INIT;
	m->trace_id = (ProtobufCBinaryData){16, (uint8_t *)s->trace_id};
	m->span_id = (ProtobufCBinaryData){8, (uint8_t *)s->span_id};
	if (memcmp(s->parent_id, zero, 8) != 0)
		m->parent_span_id = (ProtobufCBinaryData){8, (uint8_t *)s->parent_id};
	m->name = rs_arena_strndup(a, name, rs_span_name(s, name, sizeof(name)));
	size_t tsl = rs_span_tracestate(s, ts, sizeof(ts));
	if (tsl)
		m->trace_state = rs_arena_strndup(a, ts, tsl);
	m->kind = s->kind;
	m->start_time_unix_nano = s->start_ns;
	m->end_time_unix_nano = RS_MAX(s->end_ns, s->start_ns);
	m->flags = rs_span_flags(s);
	struct rs_attr_sink sink = {put_str, put_num, put_flag, &l};
	rs_span_attrs(s, &sink);
	m->n_attributes = l.n;
	m->attributes = l.kv;

	struct rs_span_event ev;
	if (rs_span_event(s, &ev)) {
		Otlp__Span__Event *e = rs_arena_alloc(a, sizeof(*e));
		Otlp__Span__Event **list = rs_arena_alloc(a, sizeof(*list));
		struct attr_list el = {a, rs_arena_alloc(a, sizeof(Otlp__KeyValue *)), 0};
		if (!e || !list || !el.kv)
			return NULL;
		*e = (Otlp__Span__Event)OTLP__SPAN__EVENT__INIT;
		e->time_unix_nano = ev.time_ns;
		e->name = (char *)ev.name;
		put_str(&el, ev.attr_key, ev.attr_value, strlen(ev.attr_value));
		e->n_attributes = el.n;
		e->attributes = el.kv;
		list[0] = e;
		m->n_events = 1;
		m->events = list;
	}
	if (s->status != RS_STATUS_UNSET) {
		Otlp__Status *st = rs_arena_alloc(a, sizeof(*st));
		if (!st)
			return NULL;
		*st = (Otlp__Status)OTLP__STATUS__INIT;
		st->code = s->status;
		const char *msg = rs_span_status_message(s);
		if (msg)
			st->message = (char *)msg;
		m->status = st;
	}
	return m;
}

bool ref_otlp_pb_traces(struct rs_buf *out, Otlp__Resource *res,
		       const struct rs_rec_span *const *spans, size_t n, struct rs_arena *a)
{
	Otlp__ExportTraceServiceRequest req = OTLP__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	Otlp__ResourceSpans rs = OTLP__RESOURCE_SPANS__INIT;
	Otlp__ScopeSpans ss = OTLP__SCOPE_SPANS__INIT;
	Otlp__InstrumentationScope scope = OTLP__INSTRUMENTATION_SCOPE__INIT;
	Otlp__ResourceSpans *rsp = &rs;
	Otlp__ScopeSpans *ssp = &ss;
	scope.name = RS_SCOPE_NAME;
	scope.version = RS_VERSION;
	Otlp__Span **list = rs_arena_alloc(a, n * sizeof(*list) + 1);
	if (!list)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(list[i] = span_msg(spans[i], a)))
			return false;
	ss.scope = &scope;
	ss.n_spans = n;
	ss.spans = list;
	rs.resource = res;
	rs.n_scope_spans = 1;
	rs.scope_spans = &ssp;
	req.n_resource_spans = 1;
	req.resource_spans = &rsp;
	size_t size = otlp__export_trace_service_request__get_packed_size(&req);
	if (!rs_buf_reserve(out, size))
		return false;
	out->len += otlp__export_trace_service_request__pack(&req, (uint8_t *)out->p + out->len);
	return true;
}
