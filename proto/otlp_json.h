/* OTLP/JSON encoding of span records, as the OpenTelemetry Collector's file exporter writes it:
 * one ExportTraceServiceRequest per line, ids as lowercase hex, 64-bit integers as strings, enums
 * as numbers, lowerCamelCase keys. */
#ifndef RS_PROTO_OTLP_JSON_H
#define RS_PROTO_OTLP_JSON_H

#include "../preload/record.h"
#include "buf.h"
#include "resource.h"

#define RS_SCOPE_NAME "ringside"

/* Appends the resource's JSON object ({"attributes":[...]}). */
void rs_otlp_json_resource(struct rs_buf *b, const struct rs_resource *r);

/* One line is an ExportTraceServiceRequest: begin (with the resource JSON from
 * rs_otlp_json_resource), one rs_otlp_json_span per span (first tells whether it is the first),
 * then end, which closes the objects and appends '\n'. */
void rs_otlp_json_begin(struct rs_buf *b, const char *resource_json, size_t resource_len);
void rs_otlp_json_span(struct rs_buf *b, const struct rs_rec_span *s, bool first);
void rs_otlp_json_end(struct rs_buf *b);

#endif
