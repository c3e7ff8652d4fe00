/* OpenTelemetry's thread-context record (OTEP 4947): each thread publishes the trace and span it
 * serves through the exported thread-local pointer otel_thread_ctx_v1, so that profilers outside
 * the shim (the OpenTelemetry eBPF profiler, say) can stamp their own samples with our spans.
 * Readers stop the thread or read from a signal handler on it, so compiler fences suffice. */
#ifndef RS_OTEL_CTX_H
#define RS_OTEL_CTX_H

#include "rs.h"

struct rs_otel_ctx_record {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t valid; /* 1: the ids above are whole and current */
	uint8_t reserved;
	uint16_t attrs_data_size; /* no attributes follow */
};

extern RS_TLS struct rs_otel_ctx_record *otel_thread_ctx_v1;
extern RS_TLS struct rs_otel_ctx_record rs_otel_record;

/* ids NULL: the thread serves no span. The record is marked invalid while it changes. */
static inline void rs_otel_ctx_publish(const uint8_t *trace_id, const uint8_t *span_id)
{
	struct rs_otel_ctx_record *r = &rs_otel_record;
	r->valid = 0;
	atomic_signal_fence(memory_order_seq_cst);
	if (!trace_id)
		return;
	__builtin_memcpy(r->trace_id, trace_id, sizeof(r->trace_id));
	__builtin_memcpy(r->span_id, span_id, sizeof(r->span_id));
	atomic_signal_fence(memory_order_seq_cst);
	r->valid = 1;
	atomic_signal_fence(memory_order_seq_cst);
	otel_thread_ctx_v1 = r; /* set once, kept for the thread's life */
}

#endif
