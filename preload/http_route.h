/* Low-cardinality names for HTTP requests: the path of a request target with its
 * high-cardinality segments folded (numbers, UUIDs, long hex), the query with every value
 * redacted, the parts of a Host header. Pure functions over bounded text, shared by the hooks
 * (the sw8 endpoint) and the encoders (span names, attributes); fuzzed with the parser. */
#ifndef RS_HTTP_ROUTE_H
#define RS_HTTP_ROUTE_H

#include <stddef.h>
#include <stdint.h>

/* The longest name an HTTP span gets: its method, a space and its folded path. */
#define RS_HTTP_NAME_MAX 160

/* The enum rs_http_method (record.h) of a method token: RS_M_OTHER for one not in it. */
uint8_t rs_http_method_code(const char *m, size_t n);

/* Whether the first bytes can start an HTTP/1.x request: one of enum rs_http_method's tokens and
 * a space. Returns 1 yes, 0 no, -1 need more bytes. */
int rs_http_sniff_request(const char *buf, size_t len);

/* The token of an enum rs_http_method; NULL for RS_M_OTHER. */
const char *rs_http_method_name(uint8_t code);

/* A request's span name (at most cap bytes, no NUL): "GET /items/{id}" from its method and
 * target; "HTTP" stands for a method not in enum rs_http_method (semantic conventions: no
 * unknown method in a name), and CONNECT has no path. Returns the length. */
size_t rs_http_span_name(uint8_t method, const char *target, size_t tl, char *out, size_t cap);

/* The path of a request target (origin-form "/a?b", absolute-form "http://h/a?b", "*"): sets
 * *path and *len to it within target (without query or fragment). */
void rs_http_target_path(const char *target, size_t n, const char **path, size_t *len);

/* Writes the folded path into out (at most cap bytes, no NUL): "/items/42/x" gives
 * "/items/{id}/x"; UUIDs become {uuid}, hex runs of 16 or more digits {hex}. Returns the length;
 * a path too long for cap is cut at a segment boundary and ends in "/...". */
size_t rs_http_fold_path(const char *path, size_t n, char *out, size_t cap);

/* Writes the query of a target with each value replaced by REDACTED ("a=REDACTED&b"), or
 * nothing when there is no query. Returns the length (at most cap). */
size_t rs_http_redact_query(const char *target, size_t n, char *out, size_t cap);

/* Splits a Host header value ("name", "name:port", "[v6]:port") into *host (without brackets)
 * and *port (0 when absent or malformed). */
void rs_http_host_port(const char *v, size_t n, const char **host, size_t *hlen, unsigned *port);

#endif
