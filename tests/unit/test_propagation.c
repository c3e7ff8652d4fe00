/* Trace context on the wire: traceparent per the W3C processing model (the cases of its test
 * suite), tracestate clean-up and bounds, base64, sw8 both ways, and how (segment, index) pairs
 * name spans; and the path folding and query redaction behind span names. */
#include "../../preload/http_route.h"
#include "../../preload/propagation.h"
#include "check.h"

#include <string.h>

#define TP(s) rs_traceparent_parse((s), strlen(s), &c)

static void test_traceparent(void)
{
	struct rs_ctx c;
	CHECK(TP("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
	CHECK(c.valid && c.flags == 1 && c.trace_id[0] == 0x4b && c.span_id[7] == 0xb7);
	CHECK(TP(" \t00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00 "));
	CHECK(c.flags == 0);
	/* A later version may add fields after a dash. */
	CHECK(TP("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future"));
	CHECK(TP("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09"));
	static const char *const bad[] = {
		"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* version ff */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", /* 00 plus more */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", /* uppercase */
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01", /* zero trace */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", /* zero span */
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",	 /* short */
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
		"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", /* not a dash after */
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (TP(bad[i]) || c.valid) {
			fprintf(stderr, "accepted %s\n", bad[i]);
			check_failures++;
		}
	}
	CHECK(TP("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff"));
	char out[RS_TRACEPARENT_LEN + 1] = {0};
	rs_traceparent_format(&c, out);
	/* Only the defined flags go on. */
	CHECK(strcmp(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03") == 0);
}

static void expect_ts(const char *in, size_t cap, const char *want)
{
	char out[600];
	size_t n = rs_tracestate_clean(in, strlen(in), out, cap);
	out[n] = 0;
	if (strcmp(out, want) != 0) {
		fprintf(stderr, "tracestate %s: got \"%s\", want \"%s\"\n", in, out, want);
		check_failures++;
	}
}

static void test_tracestate(void)
{
	expect_ts("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", 512, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
	expect_ts(" a=1 ,, \tb=2\t, ", 512, "a=1,b=2");
	expect_ts("tenant@vendor=x,a-b_c*d/e=y", 512, "tenant@vendor=x,a-b_c*d/e=y");
	expect_ts("A=1", 512, "");		/* uppercase key */
	expect_ts("a=1,a=2", 512, "");		/* duplicate key */
	expect_ts("a=x=y", 512, "");		/* '=' in value */
	expect_ts("a=tab\there", 512, "");	/* control byte in value */
	expect_ts("a=1,b=2,c=3", 7, "a=1,b=2"); /* from the right */
	char many[400] = "";
	for (int i = 0; i < 40; i++) /* 40 members: 32 kept */
		sprintf(many + strlen(many), "%sk%d=v", i ? "," : "", i);
	char out[600];
	size_t n = rs_tracestate_clean(many, strlen(many), out, sizeof(out));
	out[n] = 0;
	CHECK(strstr(out, "k31=v") && !strstr(out, "k32=v"));
	/* Long members go first when cutting. */
	char longm[400];
	sprintf(longm, "a=1,big=%0150d,c=3", 0);
	expect_ts(longm, 20, "a=1,c=3");
}

static void test_b64_sw8(void)
{
	char enc[64], dec[64];
	CHECK_EQ_U(rs_b64_encode("ab", 2, enc, sizeof(enc)), 4);
	CHECK(memcmp(enc, "YWI=", 4) == 0);
	CHECK_EQ_U(rs_b64_decode("YWI=", 4, dec, sizeof(dec)), 2);
	CHECK_EQ_U(rs_b64_decode("YWI", 3, dec, sizeof(dec)), 2); /* padding optional */
	CHECK(rs_b64_decode("Y", 1, dec, sizeof(dec)) == -1);
	CHECK(rs_b64_decode("Y-I=", 4, dec, sizeof(dec)) == -1);
	CHECK(rs_b64_decode("YWJjZA==", 8, dec, 3) == -1); /* does not fit */

	static struct rs_sw8 in, out;
	memset(&in, 0, sizeof(in));
	in.sampled = true;
	memcpy(in.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736", 32);
	in.trace_id_len = 32;
	memcpy(in.segment, "00f067aa0ba902b7", 16);
	in.segment_len = 16;
	in.span_index = 3;
	memcpy(in.service, "checkout", 8);
	in.service_len = 8;
	memcpy(in.instance, "i-1@host", 8);
	in.instance_len = 8;
	memcpy(in.endpoint, "GET /items/{id}", 15);
	in.endpoint_len = 15;
	memcpy(in.address, "10.0.0.1:8080", 13);
	in.address_len = 13;
	char val[512];
	size_t len;
	CHECK(rs_sw8_format(&in, val, sizeof(val), &len));
	CHECK(rs_sw8_parse(val, len, &out));
	CHECK(out.sampled && out.span_index == 3 && out.trace_id_len == 32 &&
	      memcmp(out.endpoint, "GET /items/{id}", 15) == 0 && out.address_len == 13);
	/* What the Java agent sends (unpadded base64 accepted too). */
	const char *java = "1-YWJjLjEyMy40NTY=-ZGVmLjc4OS4w-2-c3Zj-aW5zdA==-L2FwaS94-MTAuMC4wLjE6ODA";
	CHECK(rs_sw8_parse(java, strlen(java), &out));
	CHECK(out.trace_id_len == 11 && memcmp(out.trace_id, "abc.123.456", 11) == 0);
	CHECK(out.span_index == 2 && out.address_len == 11);
	static const char *const bad[] = {
		"1-YWJj-ZGVm-2-c3Zj-aW5zdA==-L2FwaS94",	     /* seven fields */
		"1-YWJj-ZGVm-2-c3Zj-aW5zdA==-L2FwaS94-MQ==-x", /* nine */
		"2-YWJj-ZGVm-2-c3Zj-aW5zdA==-L2FwaS94-MQ==",   /* sample flag */
		"1-YWJj-ZGVm-x-c3Zj-aW5zdA==-L2FwaS94-MQ==",   /* span index */
		"1-YW!j-ZGVm-2-c3Zj-aW5zdA==-L2FwaS94-MQ==",   /* base64 */
		"1--ZGVm-2-c3Zj-aW5zdA==-L2FwaS94-MQ==",       /* empty trace id */
		"1-YWJj-ZGVm-99999999999-c3Zj-aW5zdA==-L2FwaS94-MQ==",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rs_sw8_parse(bad[i], strlen(bad[i]), &out)) {
			fprintf(stderr, "accepted sw8 %s\n", bad[i]);
			check_failures++;
		}
}

static void test_ids(void)
{
	uint8_t a[8], b[8], c[8];
	rs_sw_span_id(42, 0, a);
	rs_sw_span_id(42, 0, b);
	rs_sw_span_id(42, 1, c);
	CHECK(memcmp(a, b, 8) == 0 && memcmp(a, c, 8) != 0);
	uint8_t t[16];
	rs_trace_id_from_text("4bf92f3577b34da6a3ce929d0e0e4736", 32, t);
	CHECK(t[0] == 0x4b && t[15] == 0x36);
	uint8_t u[16], v[16];
	rs_trace_id_from_text("abc.123.456", 11, u);
	rs_trace_id_from_text("abc.123.456", 11, v);
	CHECK(memcmp(u, v, 16) == 0);
	/* A segment's hash, taken from its id without writing the hex, is the hash of that hex
	 * (what a peer hashes when sw8 brings it the id as text). */
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 1000; i++) {
		uint8_t id[8];
		char hex[16];
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		memcpy(id, &x, 8);
		rs_hex(id, 8, hex);
		CHECK(rs_hash64_hex(id, 8) == rs_hash64(hex, 16));
	}
}

static void expect_fold(const char *path, const char *want)
{
	char out[64];
	size_t n = rs_http_fold_path(path, strlen(path), out, sizeof(out));
	out[n] = 0;
	if (strcmp(out, want)) {
		fprintf(stderr, "fold %s: got %s, want %s\n", path, out, want);
		check_failures++;
	}
}

static void test_route(void)
{
	expect_fold("/items/42", "/items/{id}");
	expect_fold("/u/3f2504e0-4f89-11d3-9a0c-0305e82c3301/x", "/u/{uuid}/x");
	expect_fold("/blob/0123456789abcdef0123", "/blob/{hex}");
	expect_fold("/v2/users/abc", "/v2/users/abc");
	expect_fold("/", "/");
	expect_fold("", "");
	expect_fold("/deadbeef", "/deadbeef"); /* short hex stays */
	expect_fold("/a/very/long/path/that/does/not/fit/in/sixty/four/bytes/at/all", "/a/very/long/path/that/does/not/fit/in/sixty/four/bytes/at/...");
	const char *p;
	size_t l;
	rs_http_target_path("http://h:1/a/b?c", 16, &p, &l);
	CHECK(l == 4 && memcmp(p, "/a/b", 4) == 0);
	rs_http_target_path("/x?y#z", 6, &p, &l);
	CHECK(l == 2);
	rs_http_target_path("http://h", 8, &p, &l);
	CHECK(l == 1 && *p == '/');
	char q[64];
	size_t n = rs_http_redact_query("/p?user=bob&token=s3cret&flag", 29, q, sizeof(q));
	q[n] = 0;
	CHECK(strcmp(q, "user=REDACTED&token=REDACTED&flag") == 0);
	CHECK_EQ_U(rs_http_redact_query("/p", 2, q, sizeof(q)), 0);
	const char *h;
	size_t hl;
	unsigned port;
	rs_http_host_port("example.com:8080", 16, &h, &hl, &port);
	CHECK(hl == 11 && port == 8080);
	rs_http_host_port("[::1]:81", 8, &h, &hl, &port);
	CHECK(hl == 3 && memcmp(h, "::1", 3) == 0 && port == 81);
	rs_http_host_port("h:99999", 7, &h, &hl, &port);
	CHECK(hl == 1 && port == 0);
	/* Every method by its name, and near misses (case, length, last byte) as other. */
	for (uint8_t m = RS_M_GET; m <= RS_M_QUERY; m++) {
		const char *name = rs_http_method_name(m);
		CHECK(name && rs_http_method_code(name, strlen(name)) == m);
	}
	static const char *const other[] = {"get", "GETS", "GE", "", "PUTT", "OPTION", "CONNECTS",
					    "DELETF", "PATCHES", "QUER", "XET", "POSS", "HEAd"};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		CHECK(rs_http_method_code(other[i], strlen(other[i])) == RS_M_OTHER);
	/* A request's first bytes, by the same names. */
	CHECK_EQ_U(rs_http_sniff_request("GET / HTTP/1.1", 14), 1);
	CHECK_EQ_U(rs_http_sniff_request("OPTIONS * HTTP/1.1", 18), 1);
	CHECK(rs_http_sniff_request("GE", 2) == -1);
	CHECK(rs_http_sniff_request("GET", 3) == -1);
	CHECK(rs_http_sniff_request("", 0) == -1);
	CHECK(rs_http_sniff_request("\x16\x03\x01", 3) == 0); /* TLS */
	CHECK(rs_http_sniff_request("GETX", 4) == 0);
	CHECK(rs_http_sniff_request("PRI * HTTP/2.0", 14) == 0); /* HTTP/2 preface */
}

int main(void)
{
	test_traceparent();
	test_tracestate();
	test_b64_sw8();
	test_ids();
	test_route();
	return check_result();
}
