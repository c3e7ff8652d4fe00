/* Resource attributes: a bounded set with set/replace semantics, and OTEL_RESOURCE_ATTRIBUTES. */
#include "resource.h"
#include "../preload/kv_list.h"

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

/* One pass over the pairs; stores them only when apply is set. */
static bool parse_pairs(struct rs_resource *r, const char *text, bool apply, char *why,
			size_t whylen)
{
	size_t added = 0;
	struct rs_kv kv;
	int got;
	for (const char *p = text; (got = rs_kv_next(&p, &kv)) != 0;) {
		if (got < 0) {
			snprintf(why, whylen, "\"%.*s\" is not key=value",
				 (int)RS_MIN(kv.item_len, 40), kv.item);
			return false;
		}
		char key[256], val[1024];
		long klen = rs_pct_decode(kv.key, kv.key_len, key, sizeof(key));
		long vlen = rs_pct_decode(kv.val, kv.val_len, val, sizeof(val));
		if (klen <= 0 || vlen < 0) {
			snprintf(why, whylen, "\"%.*s\" has an empty key, a bad %%-escape or is too long",
				 (int)RS_MIN(kv.item_len, 40), kv.item);
			return false;
		}
		if (++added > RS_RESOURCE_ATTRS / 2) {
			snprintf(why, whylen, "has more than %d attributes", RS_RESOURCE_ATTRS / 2);
			return false;
		}
		if (apply && !rs_resource_set_str(r, key, val, (size_t)vlen)) {
			snprintf(why, whylen, "does not fit in the resource");
			return false;
		}
	}
	return true;
}

bool rs_resource_parse_env(struct rs_resource *r, const char *text, char *why, size_t whylen)
{
	return parse_pairs(r, text, false, why, whylen) && parse_pairs(r, text, true, why, whylen);
}
