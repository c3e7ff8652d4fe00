/* The JSON building blocks and OTEL_RESOURCE_ATTRIBUTES parsing. The OTLP/JSON lines themselves
 * are checked against Python's json module and the OTLP field rules in the integration tests. */
#include "../../proto/buf.h"
#include "../../proto/resource.h"
#include "check.h"

#include <string.h>

static void expect_json(const char *in, size_t n, const char *want)
{
	struct rs_buf b = {0};
	rs_buf_json_str(&b, in, n);
	rs_buf_putc(&b, 0);
	if (strcmp(b.p, want) != 0) {
		fprintf(stderr, "json_str: got %s, want %s\n", b.p, want);
		check_failures++;
	}
	rs_buf_free(&b);
}

static void test_json_str(void)
{
	expect_json("plain", 5, "\"plain\"");
	expect_json("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	expect_json("\n\t\x01", 3, "\"\\u000a\\u0009\\u0001\"");
	expect_json("caf\xc3\xa9", 5, "\"caf\xc3\xa9\"");		  /* valid UTF-8 kept */
	expect_json("\xff" "a", 2, "\"\\ufffda\"");			  /* invalid byte */
	expect_json("\xc3", 1, "\"\\ufffd\"");				  /* truncated sequence */
	expect_json("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");	  /* surrogate */
	expect_json("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");		  /* overlong */
	expect_json("\xf0\x9f\x98\x80!", 5, "\"\xf0\x9f\x98\x80!\""); /* 4-byte */
	expect_json("nul\0x", 5, "\"nul\\u0000x\"");
}

static void test_numbers(void)
{
	struct rs_buf b = {0};
	rs_buf_u64(&b, 0);
	rs_buf_putc(&b, ' ');
	rs_buf_u64(&b, 18446744073709551615ull);
	rs_buf_putc(&b, ' ');
	rs_buf_i64(&b, -9223372036854775807ll - 1);
	rs_buf_putc(&b, ' ');
	uint8_t id[4] = {0x00, 0xab, 0x10, 0xff};
	rs_buf_hex(&b, id, 4);
	rs_buf_putc(&b, 0);
	CHECK(strcmp(b.p, "0 18446744073709551615 -9223372036854775808 00ab10ff") == 0);
	rs_buf_free(&b);
}

static void test_resource_env(void)
{
	static struct rs_resource r;
	char why[160];
	rs_resource_set_str(&r, "service.name", "x", 1);
	CHECK(rs_resource_parse_env(&r, " deployment.environment = prod ,service.name=a%2Cb,,k=", why,
				    sizeof(why)));
	const struct rs_attr *a = rs_resource_get(&r, "deployment.environment");
	CHECK(a && a->len == 4 && memcmp(a->str, "prod", 4) == 0);
	a = rs_resource_get(&r, "service.name"); /* replaced, percent-decoded */
	CHECK(a && a->len == 3 && memcmp(a->str, "a,b", 3) == 0);
	a = rs_resource_get(&r, "k");
	CHECK(a && a->len == 0);
	size_t before = r.n;
	/* Any bad pair rejects the whole value, and nothing of it is applied. */
	CHECK(!rs_resource_parse_env(&r, "good=1,bad", why, sizeof(why)));
	CHECK(strstr(why, "bad") != NULL);
	CHECK(!rs_resource_parse_env(&r, "x=%zz", why, sizeof(why)));
	CHECK(!rs_resource_parse_env(&r, "=v", why, sizeof(why)));
	CHECK(!rs_resource_parse_env(&r, "x=%4", why, sizeof(why)));
	CHECK_EQ_U(r.n, before);
	CHECK(rs_resource_get(&r, "good") == NULL);
}

int main(void)
{
	test_json_str();
	test_numbers();
	test_resource_env();
	return check_result();
}
