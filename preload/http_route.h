/* Low-cardinality names for HTTP requests: the path of a request target with its
 * high-cardinality segments folded (numbers, UUIDs, long hex), the query with every value
 * redacted, the parts of a Host header. Pure functions over bounded text, shared by the hooks
 * (span names) and the encoders (attributes); fuzzed with the parser. */
#ifndef RS_HTTP_ROUTE_H
#define RS_HTTP_ROUTE_H

#include <stddef.h>

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
