/* Resource attributes: a bounded set with set/replace semantics, and OTEL_RESOURCE_ATTRIBUTES. */
#include "resource.h"

#include <stdio.h>
#include <string.h>

static char *arena_copy(struct rs_resource *r, const char *s, size_t len)
{
	if (r->used + len + 1 > sizeof(r->arena))
		return NULL;
	char *p = r->arena + r->used;
	memcpy(p, s, len);
	p[len] = 0;
	r->used += len + 1;
	return p;
}

static struct rs_attr *slot_for(struct rs_resource *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->attr[i].key, key) == 0)
			return &r->attr[i];
	if (r->n == RS_RESOURCE_ATTRS)
		return NULL;
	struct rs_attr *a = &r->attr[r->n];
	a->key = arena_copy(r, key, strlen(key));
	if (!a->key)
		return NULL;
	r->n++;
	return a;
}

bool rs_resource_set_str(struct rs_resource *r, const char *key, const char *val, size_t len)
{
	struct rs_attr *a = slot_for(r, key);
	const char *v = a ? arena_copy(r, val, len) : NULL;
	if (!v)
		return false;
	a->type = RS_ATTR_STR;
	a->str = v;
	a->len = len;
	return true;
}

bool rs_resource_set_int(struct rs_resource *r, const char *key, int64_t v)
{
	struct rs_attr *a = slot_for(r, key);
	if (!a)
		return false;
	a->type = RS_ATTR_INT;
	a->num = v;
	return true;
}

bool rs_resource_set_strs(struct rs_resource *r, const char *key, const char *vals, size_t bytes,
			  size_t count)
{
	struct rs_attr *a = slot_for(r, key);
	const char *v = a ? arena_copy(r, vals, bytes) : NULL;
	if (!v)
		return false;
	a->type = RS_ATTR_STR_ARRAY;
	a->str = v;
	a->len = count;
	return true;
}

const struct rs_attr *rs_resource_get(const struct rs_resource *r, const char *key)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->attr[i].key, key) == 0)
			return &r->attr[i];
	return NULL;
}

/* Trims spaces and tabs, percent-decodes into out (NUL-terminated); false on a bad escape or
 * when out is too small. */
static bool decode(const char *s, size_t len, char *out, size_t cap, size_t *outlen)
{
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= len)
				return false;
			int h = rs_hexval((unsigned char)s[i + 1]);
			int l = rs_hexval((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return false;
			c = (char)(h * 16 + l);
			i += 2;
		}
		if (o + 1 >= cap)
			return false;
		out[o++] = c;
	}
	out[o] = 0;
	*outlen = o;
	return true;
}

/* One pass over the pairs; stores them only when apply is set. */
static bool parse_pairs(struct rs_resource *r, const char *text, bool apply, char *why,
			size_t whylen)
{
	size_t added = 0;
	for (const char *p = text; *p;) {
		size_t len = strcspn(p, ",");
		if (len > 0) {
			const char *eq = memchr(p, '=', len);
			char key[256], val[1024];
			size_t klen, vlen;
			if (!eq) {
				snprintf(why, whylen, "\"%.*s\" is not key=value",
					 (int)RS_MIN(len, 40), p);
				return false;
			}
			if (!decode(p, (size_t)(eq - p), key, sizeof(key), &klen) || klen == 0 ||
			    !decode(eq + 1, len - (size_t)(eq - p) - 1, val, sizeof(val), &vlen)) {
				snprintf(why, whylen,
					 "\"%.*s\" has an empty key, a bad %%-escape or is too long",
					 (int)RS_MIN(len, 40), p);
				return false;
			}
			if (++added > RS_RESOURCE_ATTRS / 2) {
				snprintf(why, whylen, "has more than %d attributes",
					 RS_RESOURCE_ATTRS / 2);
				return false;
			}
			if (apply && !rs_resource_set_str(r, key, val, vlen)) {
				snprintf(why, whylen, "does not fit in the resource");
				return false;
			}
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return true;
}

bool rs_resource_parse_env(struct rs_resource *r, const char *text, char *why, size_t whylen)
{
	return parse_pairs(r, text, false, why, whylen) && parse_pairs(r, text, true, why, whylen);
}
