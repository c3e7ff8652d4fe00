/* The flat JSON object parser of Kafka producer properties (preload/json_props.c): what it
 * decodes, what it refuses (each refusal leaving nothing behind), and its output bound. */
#include "../../preload/json_props.h"
#include "check.h"

#include <string.h>

static char out[4096];
static unsigned count;
static char why[160];

static bool parse(const char *s)
{
	memset(out, 'X', sizeof(out));
	why[0] = 0;
	return rs_json_props(s, strlen(s), out, sizeof(out), &count, why, sizeof(why));
}

/* The decoded pairs joined as "name=value;" for comparison. */
static const char *joined(void)
{
	static char buf[4096];
	size_t n = 0;
	const char *cur = out, *name, *value;
	buf[0] = 0;
	while ((name = rs_json_props_next(&cur, &value)))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s=%s;", name, value);
	return buf;
}

static void good(const char *json, unsigned n, const char *want)
{
	if (!parse(json)) {
		fprintf(stderr, "refused %s: %s\n", json, why);
		check_failures++;
		return;
	}
	CHECK_EQ_U(count, n);
	if (strcmp(joined(), want) != 0) {
		fprintf(stderr, "%s decoded as %s, expected %s\n", json, joined(), want);
		check_failures++;
	}
}

static void bad(const char *json, const char *reason)
{
	if (parse(json)) {
		fprintf(stderr, "accepted %s\n", json);
		check_failures++;
		return;
	}
	CHECK(out[0] == 0 && count == 0);
	if (!strstr(why, reason)) {
		fprintf(stderr, "%s: \"%s\", expected \"%s\"\n", json, why, reason);
		check_failures++;
	}
}

int main(void)
{
	good("{}", 0, "");
	good(" \n{ }\t", 0, "");
	good("{\"security.protocol\":\"ssl\",\"ssl.ca.location\":\"/etc/ca.pem\"}", 2,
	     "security.protocol=ssl;ssl.ca.location=/etc/ca.pem;");
	/* numbers as written, booleans as words: librdkafka reads them for the property's type */
	good("{\"linger.ms\": 20, \"batch.size\":-1.5e+3, \"enable.idempotence\" : true, "
	     "\"x\":false, \"z\":0}",
	     5, "linger.ms=20;batch.size=-1.5e+3;enable.idempotence=true;x=false;z=0;");
	good("{\"a\":\"\"}", 1, "a=;");
	good("{\"a\":\"q\\\"b\\\\s\\/\\n\\t\"}", 1, "a=q\"b\\s/\n\t;");
	good("{\"u\":\"\\u00e9\\u20ac\\ud83d\\ude00\"}", 1,
	     "u=\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80;");
	good("{\"raw\":\"caf\xc3\xa9\"}", 1, "raw=caf\xc3\xa9;");

	bad("", "does not start with {");
	bad("[1]", "does not start with {");
	bad("{", "not closed");
	bad("{\"a\":\"b\"", "not closed");
	bad("{\"a\":\"b", "not closed");
	bad("{\"a\"}", "expected :");
	bad("{\"a\":}", "not a string, number or boolean");
	bad("{\"a\":1,}", "property name in quotes");
	bad("{a:1}", "property name in quotes");
	bad("{\"\":1}", "name is empty");
	bad("{\"a b\":1}", "not printable ASCII");
	bad("{\"a\":{\"b\":1}}", "object or array");
	bad("{\"a\":[1]}", "object or array");
	bad("{\"a\":null}", "null");
	bad("{\"a\":tru}", "not a string, number or boolean");
	bad("{\"a\":01}", "expected , or }");
	bad("{\"a\":1.}", "after its point");
	bad("{\"a\":1e}", "exponent");
	bad("{\"a\":1} x", "more after");
	bad("{\"a\":1}{}", "more after");
	bad("{\"a\":\"x\ty\"}", "control character");
	bad("{\"a\":\"\\x\"}", "unknown escape");
	bad("{\"a\":\"\\u12\"}", "four hex digits");
	bad("{\"a\":\"\\u0000\"}", "\\u0000");
	bad("{\"a\":\"\\ud800\"}", "lone high surrogate");
	bad("{\"a\":\"\\ud800\\u0041\"}", "lone high surrogate");
	bad("{\"a\":\"\\udc00\"}", "lone low surrogate");
	/* a NUL inside the bytes ends nothing early: it is a byte like another, refused in names */
	CHECK(!rs_json_props("{\"a\0\":1}", 8, out, sizeof(out), &count, why, sizeof(why)));

	/* 64 properties, not 65 */
	char many[2048];
	size_t n = 0;
	n += (size_t)snprintf(many + n, sizeof(many) - n, "{");
	for (int i = 0; i < 64; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s\"p%d\":%d", i ? "," : "", i,
				      i);
	snprintf(many + n, sizeof(many) - n, "}");
	CHECK(parse(many) && count == 64);
	snprintf(many + n, sizeof(many) - n, ",\"p64\":64}");
	bad(many, "more than 64");

	/* a name longer than 255 bytes */
	char longname[400];
	memset(longname, 'n', sizeof(longname));
	memcpy(longname, "{\"", 2);
	memcpy(longname + 258, "\":1}", 5);
	bad(longname, "longer than 255");

	/* the output bound: len + 1 always fits; one byte less, a clean refusal */
	const char *j = "{\"k\":1}";
	char small[8];
	CHECK(rs_json_props(j, strlen(j), small, strlen(j) + 1, &count, why, sizeof(why)));
	CHECK(!rs_json_props(j, strlen(j), small, 4, &count, why, sizeof(why)) && small[0] == 0);
	CHECK(!rs_json_props(j, strlen(j), small, 0, &count, why, sizeof(why)));
	return check_result();
}
