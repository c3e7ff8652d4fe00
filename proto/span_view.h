/* The OpenTelemetry reading of a span record (see span_view.c), shared by the encoders. */
#ifndef RS_PROTO_SPAN_VIEW_H
#define RS_PROTO_SPAN_VIEW_H

#include "../preload/record.h"

/* Receives a span's attributes one by one; what the encoder does with them is its own. */
struct rs_attr_sink {
	void (*str)(void *ctx, const char *key, const char *v, size_t n);
	void (*num)(void *ctx, const char *key, int64_t v);
	void (*flag)(void *ctx, const char *key, bool v);
	void *ctx;
};

struct rs_span_event {
	uint64_t time_ns;
	const char *name;
	const char *attr_key, *attr_value;
};

/* The span's name as exported. Returns its length (NUL-terminated in out). */
size_t rs_span_name(const struct rs_rec_span *s, char *out, size_t size);

/* Hands every attribute of s to sink, in a stable order. */
void rs_span_attrs(const struct rs_rec_span *s, const struct rs_attr_sink *sink);

/* The span's one event, if it has one (a TCP connection's shutdown). */
bool rs_span_event(const struct rs_rec_span *s, struct rs_span_event *ev);

/* Status message for an error status, or NULL. */
const char *rs_span_status_message(const struct rs_rec_span *s);

/* The W3C tracestate to export with the span (repeated headers joined); returns its length. */
size_t rs_span_tracestate(const struct rs_rec_span *s, char *out, size_t cap);

/* OTLP SpanFlags. */
uint32_t rs_span_flags(const struct rs_rec_span *s);

/* The first TLV with key in an HTTP span record ("" and false when absent). */
bool rs_span_tlv(const struct rs_rec_span *s, uint8_t key, const char **data, size_t *len);

/* Text form of an address into out ("" when unknown); returns out. */
const char *rs_addr_text(const struct rs_addr *a, char *out, size_t size);

#endif
