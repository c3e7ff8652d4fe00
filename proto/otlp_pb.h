/* OTLP protobuf: span records into an ExportTraceServiceRequest (written directly, from
 * span_view's reading of each span), the resource, and the collector's answers read back. */
#ifndef RS_PROTO_OTLP_PB_H
#define RS_PROTO_OTLP_PB_H

#include "../preload/record.h"
#include "arena.h"
#include "buf.h"
#include "resource.h"

#include "otlp/common.pb-c.h"

/* The resource as a protobuf-c message (for the metrics), built in a (long-lived) arena. */
Otlp__Resource *rs_otlp_pb_resource(const struct rs_resource *r, struct rs_arena *a);

/* Appends the encoded body of the Resource message (its attributes), for rs_otlp_pb_traces.
 * False when memory ran out. */
bool rs_otlp_pb_resource_body(struct rs_buf *out, const struct rs_resource *r);

/* Appends to out an ExportTraceServiceRequest with the n spans under the resource whose encoded
 * body (rs_otlp_pb_resource_body) is res. False when memory ran out. */
bool rs_otlp_pb_traces(struct rs_buf *out, const void *res, size_t res_len,
		       const struct rs_rec_span *const *spans, size_t n);

/* Reads an ExportTraceServiceResponse: *rejected and msg from its partial_success (0 and ""
 * when unset). False when the bytes are not one. */
bool rs_otlp_pb_trace_answer(const void *buf, size_t len, int64_t *rejected, char *msg,
			     size_t cap);

/* The delay a google.rpc.Status asks for with a google.rpc.RetryInfo detail, in milliseconds
 * (at most an hour); 0 when it holds none or is not a Status. */
uint32_t rs_otlp_pb_retry_delay_ms(const void *buf, size_t len);
/* Reads a google.rpc.Status (an OTLP/HTTP error body): its message into msg. */
bool rs_otlp_pb_status(const void *buf, size_t len, char *msg, size_t cap);

#endif
