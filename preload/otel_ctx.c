/* Storage for OpenTelemetry's thread-context record (see otel_ctx.h). The pointer is exported
 * (hooks/hooklist.h) with the initial-exec TLS model, which out-of-process readers resolve from
 * its GOT slot. */
#include "otel_ctx.h"

RS_EXPORT RS_TLS struct rs_otel_ctx_record *otel_thread_ctx_v1;
RS_TLS struct rs_otel_ctx_record rs_otel_record;
