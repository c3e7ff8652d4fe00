/* Header text the exporters read: lists given in the environment (OTEL_EXPORTER_OTLP_HEADERS and
 * its signal variants, "name1=value1,name2=value2" with percent-encoded values, the W3C Baggage
 * format the OTLP exporter specification names), and collectors' Retry-After values. */
#ifndef RS_IO_HEADER_LIST_H
#define RS_IO_HEADER_LIST_H

#include "../proto/buf.h"

/* Appends "name: value\r\n" per entry to lines, names lowercased (gRPC metadata requires it;
 * HTTP/1.1 does not care). Surrounding blanks are trimmed and empty entries skipped. False, with
 * why, when an entry has no '=', a name that is not an HTTP token, a bad percent escape, or a
 * value that decodes to a control byte (which would let it forge headers). */
bool rs_header_list_parse(const char *text, struct rs_buf *lines, char *why, size_t whylen);

/* Parses a Retry-After value (seconds, or an HTTP-date) into milliseconds from now, capped at
 * one hour; 0 when it is not one. */
uint32_t rs_retry_after_ms(const char *v, size_t n);

#endif
