/* A bounded parser for one flat JSON object of name/value properties, the format of Kafka producer
 * settings in the environment (SW_PLUGIN_KAFKA_PRODUCER_CONFIG_JSON, as SkyWalking's Java agent
 * reads it, and RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON). No allocation, no recursion. */
#ifndef RS_JSON_PROPS_H
#define RS_JSON_PROPS_H

#include <stdbool.h>
#include <stddef.h>

#define RS_JSON_PROPS_MAX 64 /* properties in one object */

/* Decodes s[0..len) — {"name": value, ...}, each value a string, a number or true/false — into
 * out as "name\0value\0name\0value\0\0" (numbers as written, booleans as "true"/"false"). Names
 * are 1 to 255 bytes of printable ASCII without spaces; strings may not hold \u0000. On failure
 * returns false, out holds "" and why (never quoting the input: values may be passwords) says
 * what was wrong and where. *count gets the number of properties. out needs at most len + 1
 * bytes; a smaller one fails cleanly. */
bool rs_json_props(const char *s, size_t len, char *out, size_t size, unsigned *count, char *why,
		   size_t whylen);

/* Walks a decoded list: returns the next pair's name (and *value), or NULL at the end. */
static inline const char *rs_json_props_next(const char **cursor, const char **value)
{
	const char *name = *cursor;
	if (!name || !*name)
		return NULL;
	const char *v = name;
	while (*v)
		v++;
	v++;
	const char *next = v;
	while (*next)
		next++;
	*value = v;
	*cursor = next + 1;
	return name;
}

#endif
