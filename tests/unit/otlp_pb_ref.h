/* The protobuf-c span encoder the direct writer replaced (tests/unit/otlp_pb_ref.c), kept as the
 * reference test_otlp_pb checks the writer against. */
#ifndef RS_TEST_OTLP_PB_REF_H
#define RS_TEST_OTLP_PB_REF_H

#include "../../proto/otlp_pb.h"

bool ref_otlp_pb_traces(struct rs_buf *out, Otlp__Resource *res,
			const struct rs_rec_span *const *spans, size_t n, struct rs_arena *a);

#endif
