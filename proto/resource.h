/* The resource every export carries: typed attributes with their text in one fixed arena, and the
 * parser for OTEL_RESOURCE_ATTRIBUTES (W3C baggage syntax: key=value pairs, percent-encoded). */
#ifndef RS_PROTO_RESOURCE_H
#define RS_PROTO_RESOURCE_H

#include "../preload/rs.h"

enum rs_attr_type { RS_ATTR_STR, RS_ATTR_INT, RS_ATTR_STR_ARRAY };

struct rs_attr {
	const char *key;
	enum rs_attr_type type;
	const char *str; /* RS_ATTR_STR: the value; RS_ATTR_STR_ARRAY: n strings, NUL-separated */
	size_t len;	 /* RS_ATTR_STR: bytes; RS_ATTR_STR_ARRAY: element count */
	int64_t num;
};

#define RS_RESOURCE_ATTRS 64
#define RS_RESOURCE_ARENA 65536

struct rs_resource {
	struct rs_attr attr[RS_RESOURCE_ATTRS];
	size_t n;
	char arena[RS_RESOURCE_ARENA];
	size_t used;
};

/* Adds or replaces key; copies key and value into the arena. False when full. */
bool rs_resource_set_str(struct rs_resource *r, const char *key, const char *val, size_t len);
bool rs_resource_set_int(struct rs_resource *r, const char *key, int64_t v);
/* vals holds count strings, each NUL-terminated, back to back. */
bool rs_resource_set_strs(struct rs_resource *r, const char *key, const char *vals, size_t bytes,
			  size_t count);
const struct rs_attr *rs_resource_get(const struct rs_resource *r, const char *key);

/* Parses OTEL_RESOURCE_ATTRIBUTES text into r (values percent-decoded, keys and values trimmed).
 * As the SDK specification asks, any malformed pair rejects the whole value: returns false and
 * leaves r unchanged, with a reason in why. */
bool rs_resource_parse_env(struct rs_resource *r, const char *text, char *why, size_t whylen);

#endif
