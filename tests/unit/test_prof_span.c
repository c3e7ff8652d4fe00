/* Span labelling of samples: a sample carries the span its thread serves (rs_t.active, set with
 * rs_thread_set_active), none when the thread serves none, and none when the signal lands while
 * the span is being changed (odd active_seq). The same span is published in OpenTelemetry's
 * thread-context record. Checked both by direct calls and from a real signal handler. */
#include "../../hooks/prof.h"
#include "check.h"

#include <signal.h>
#include <string.h>

RS_TLS struct rs_thread rs_t;
_Atomic bool rs_active;

static struct rs_ctx make_ctx(uint8_t seed)
{
	struct rs_ctx c;
	memset(&c, 0, sizeof(c));
	for (int i = 0; i < 16; i++)
		c.trace_id[i] = (uint8_t)(seed + i);
	for (int i = 0; i < 8; i++)
		c.span_id[i] = (uint8_t)(seed * 3 + i);
	c.valid = true;
	return c;
}

static union rs_rec got;

static void on_signal(int sig)
{
	(void)sig;
	memset(&got, 0, sizeof(got));
	rs_prof_fill_span(&got.sample);
}

static void sample_by_signal(void)
{
	raise(SIGUSR1);
}

int main(void)
{
	signal(SIGUSR1, on_signal);
	struct rs_ctx a = make_ctx(1);

	/* No span yet. */
	sample_by_signal();
	CHECK(!(got.sample.flags & RS_SAMPLE_HAS_SPAN));
	CHECK(otel_thread_ctx_v1 == NULL);

	/* Serving a: samples carry it, and so does the OpenTelemetry record. */
	rs_thread_set_active(&a);
	sample_by_signal();
	CHECK(got.sample.flags & RS_SAMPLE_HAS_SPAN);
	CHECK(memcmp(got.sample.trace_id, a.trace_id, 16) == 0);
	CHECK(memcmp(got.sample.span_id, a.span_id, 8) == 0);
	CHECK(otel_thread_ctx_v1 == &rs_otel_record);
	CHECK(otel_thread_ctx_v1->valid == 1);
	CHECK(memcmp(otel_thread_ctx_v1->trace_id, a.trace_id, 16) == 0);
	CHECK(memcmp(otel_thread_ctx_v1->span_id, a.span_id, 8) == 0);

	/* A signal in the middle of an update (odd sequence) takes no span, not a torn one. */
	rs_t.active_seq++;
	struct rs_ctx b = make_ctx(9);
	memcpy(rs_t.active.trace_id, b.trace_id, 8); /* half written */
	sample_by_signal();
	CHECK(!(got.sample.flags & RS_SAMPLE_HAS_SPAN));
	rs_t.active_seq++;
	rs_thread_set_active(&b);
	sample_by_signal();
	CHECK(got.sample.flags & RS_SAMPLE_HAS_SPAN);
	CHECK(memcmp(got.sample.span_id, b.span_id, 8) == 0);

	/* Done serving: no span, and the record says so. */
	rs_thread_set_active(NULL);
	sample_by_signal();
	CHECK(!(got.sample.flags & RS_SAMPLE_HAS_SPAN));
	CHECK(otel_thread_ctx_v1->valid == 0);

	/* An invalid context counts as none. */
	struct rs_ctx none = a;
	none.valid = false;
	rs_thread_set_active(&none);
	memset(&got, 0, sizeof(got));
	rs_prof_fill_span(&got.sample);
	CHECK(!(got.sample.flags & RS_SAMPLE_HAS_SPAN));
	CHECK(otel_thread_ctx_v1->valid == 0);
	return check_result();
}
