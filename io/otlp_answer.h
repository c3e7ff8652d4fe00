/* What an OTLP collector's answer means for the batch it answers, by the OTLP specification's
 * rules: success (perhaps partial: some items rejected, never retried), retryable (HTTP 429, 502,
 * 503, 504, no answer; gRPC's retryable statuses) or refused for good (every other status). */
#ifndef RS_IO_OTLP_ANSWER_H
#define RS_IO_OTLP_ANSWER_H

#include "delivery.h"

#include <stddef.h>
#include <stdint.h>

struct rs_otlp_answer {
	enum rs_outcome outcome;
	uint64_t rejected;	 /* items refused inside a successful answer */
	uint32_t retry_after_ms; /* gRPC: a RetryInfo's delay, 0 when none */
	char why[200];	   /* for the stderr line: status and the collector's message, printable */
};

/* No answer came (-errno), over HTTP or gRPC, to any exporter: worth another try, except a
 * certificate that failed verification. why gets the reason for the stderr line. */
enum rs_outcome rs_no_answer(int err, char *why, size_t n);

/* The HTTP statuses worth another try: 429, 502, 503, 504. */
bool rs_http_retryable(int status);

/* An OTLP/HTTP answer: status is the HTTP status or -errno (no answer); body is the response
 * body (protobuf, or JSON when json), possibly truncated. */
void rs_otlp_http_answer(int status, bool json, const char *body, size_t len,
			 struct rs_otlp_answer *a);

/* An OTLP/gRPC answer: status is grpc-status or -errno; details the grpc-status-details-bin
 * trailer (base64 of a google.rpc.Status, NUL-terminated; "" or NULL when none), whose RetryInfo
 * sets the delay and makes RESOURCE_EXHAUSTED worth another try; resp the response message. */
void rs_otlp_grpc_answer(int status, const char *message, const char *details, const void *resp,
			 size_t len, struct rs_otlp_answer *a);

/* The partial-success part of an OTLP/JSON response body: rejectedSpans or rejectedDataPoints
 * (a JSON number or string) and errorMessage. Bounded scan; false when there is none. */
bool rs_otlp_json_partial(const char *body, size_t len, uint64_t *rejected, char *msg, size_t cap);

#endif
