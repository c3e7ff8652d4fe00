/* The key=value lists of OpenTelemetry's environment variables (OTEL_RESOURCE_ATTRIBUTES,
 * OTEL_EXPORTER_OTLP_HEADERS and the shim's own RINGSIDE_PROFILE_HEADERS): items split on ',',
 * key and value on the item's first '=', each trimmed of spaces and tabs, both percent-encoded
 * (W3C Baggage's format). One splitter and one decoder; callers check what their use forbids. */
#ifndef RS_PRELOAD_KV_LIST_H
#define RS_PRELOAD_KV_LIST_H

#include "rs.h"

#include <stddef.h>
#include <string.h>

struct rs_kv {
	const char *item, *key, *val; /* raw, not decoded; item is the whole entry, for messages */
	size_t item_len, key_len, val_len;
};

static inline void rs_kv_trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t'))
		(*s)++, (*n)--;
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* The next entry of the list at *p, which it advances; blank entries are skipped. 1 with *kv set,
 * 0 at the end, -1 for an entry without '=' (kv->item names it). */
static inline int rs_kv_next(const char **p, struct rs_kv *kv)
{
	for (;;) {
		if (!**p)
			return 0;
		const char *item = *p;
		size_t n = strcspn(item, ",");
		*p += n + (item[n] == ',');
		rs_kv_trim(&item, &n);
		if (!n)
			continue;
		kv->item = item;
		kv->item_len = n;
		const char *eq = memchr(item, '=', n);
		if (!eq)
			return -1;
		kv->key = item;
		kv->key_len = (size_t)(eq - item);
		kv->val = eq + 1;
		kv->val_len = n - kv->key_len - 1;
		rs_kv_trim(&kv->key, &kv->key_len);
		rs_kv_trim(&kv->val, &kv->val_len);
		return 1;
	}
}

/* Percent-decodes s[0..n) into out (cap bytes, NUL-terminated). The length, or -1 for a bad
 * escape or when it does not fit. */
static inline long rs_pct_decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			int hi = i + 2 < n ? rs_hexval((unsigned char)s[i + 1]) : -1;
			int lo = hi >= 0 ? rs_hexval((unsigned char)s[i + 2]) : -1;
			if (lo < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = c;
	}
	if (!cap)
		return -1;
	out[o] = 0;
	return (long)o;
}

#endif
