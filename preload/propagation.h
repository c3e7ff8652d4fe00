/* Trace context on the wire: W3C traceparent and tracestate, SkyWalking sw8 (with the base64 it
 * uses), and the rule that ties sw8's (segment, span index) pairs to OpenTelemetry span ids. Pure
 * functions over bounded text: no allocation, no state; every parser is fuzzed. */
#ifndef RS_PROPAGATION_H
#define RS_PROPAGATION_H

#include "thread.h"

#include <stddef.h>

#define RS_TRACEPARENT_LEN 55
#define RS_TRACESTATE_MAX 512 /* kept and propagated; W3C asks for at least 512 */

/* Parses a traceparent value (surrounding spaces and tabs allowed). Returns false, leaving *out
 * invalid, for anything the W3C processing model says to ignore. */
bool rs_traceparent_parse(const char *s, size_t n, struct rs_ctx *out);

/* Writes "00-<trace>-<span>-<flags>" (55 bytes, no NUL) into out. */
void rs_traceparent_format(const struct rs_ctx *c, char out[RS_TRACEPARENT_LEN]);

/* Copies a tracestate value into out (cap bytes) with white space around members removed and
 * empty members dropped; members past 32 or past cap are dropped from the right, long ones
 * first as W3C asks. Returns the length, 0 when the value is not valid tracestate. */
size_t rs_tracestate_clean(const char *s, size_t n, char *out, size_t cap);

/* Standard base64 with '=' padding. Encode: returns the length (4 * ceil(n / 3)), or 0 when it
 * does not fit. Decode: accepts missing padding; returns the length, or -1 when malformed or too
 * long. */
size_t rs_b64_encode(const void *in, size_t n, char *out, size_t cap);
long rs_b64_decode(const char *in, size_t n, char *out, size_t cap);

/* The fields of an sw8 header, decoded. */
struct rs_sw8 {
	bool sampled;
	char trace_id[128];
	char segment[128];
	int32_t span_index;
	char service[128];
	char instance[128];
	char endpoint[256];
	char address[128];
	uint16_t trace_id_len, segment_len, service_len, instance_len, endpoint_len, address_len;
};

/* Parses an sw8 value: eight '-'-separated fields. False when malformed. */
bool rs_sw8_parse(const char *s, size_t n, struct rs_sw8 *out);

/* Writes an sw8 value; false when it does not fit in cap. */
bool rs_sw8_format(const struct rs_sw8 *in, char *out, size_t cap, size_t *len);

/* A 64-bit hash of bytes (FNV-1a, then a finaliser). */
uint64_t rs_hash64(const void *data, size_t n);

/* rs_hash64 of the lowercase hex text of n bytes (what rs_hex writes), without writing it: a
 * segment's hash, made for every server span. */
uint64_t rs_hash64_hex(const uint8_t *in, size_t n);

/* The OpenTelemetry span id of the span at index `index` of the SkyWalking segment whose id
 * hashes to seg_hash: how ringside names its spans, so that sw8 alone links a trace. */
void rs_sw_span_id(uint64_t seg_hash, int32_t index, uint8_t out[8]);

/* A trace id from SkyWalking's text form: 32 hex digits as they are (ringside's own), anything
 * else hashed (another agent's). */
void rs_trace_id_from_text(const char *s, size_t n, uint8_t out[16]);

/* Lowercase hex of n bytes into out (2n bytes, no NUL). */
void rs_hex(const uint8_t *in, size_t n, char *out);

#endif
