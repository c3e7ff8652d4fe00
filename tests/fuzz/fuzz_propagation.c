/* libFuzzer target for the trace-context text formats and the path helpers: no crash, bounded
 * output, and the round trips hold (what parses formats back to the same context; a cleaned
 * tracestate is clean; a parsed sw8 formats to a value that parses to the same fields). */
#include "../../preload/http_route.h"
#include "../../preload/propagation.h"
#include "fuzz_require.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	struct rs_ctx c, d;
	if (rs_traceparent_parse(s, size, &c)) {
		char tp[RS_TRACEPARENT_LEN];
		rs_traceparent_format(&c, tp);
		REQUIRE(rs_traceparent_parse(tp, sizeof(tp), &d));
		REQUIRE(memcmp(c.trace_id, d.trace_id, 16) == 0 && memcmp(c.span_id, d.span_id, 8) == 0);
	}

	char ts[RS_TRACESTATE_MAX], ts2[RS_TRACESTATE_MAX];
	size_t n = rs_tracestate_clean(s, size, ts, sizeof(ts));
	REQUIRE(n <= sizeof(ts));
	if (n) {
		size_t m = rs_tracestate_clean(ts, n, ts2, sizeof(ts2));
		REQUIRE(m == n && memcmp(ts, ts2, n) == 0);
	}

	static struct rs_sw8 a, b;
	if (rs_sw8_parse(s, size, &a)) {
		char v[2048];
		size_t vl;
		REQUIRE(rs_sw8_format(&a, v, sizeof(v), &vl));
		REQUIRE(rs_sw8_parse(v, vl, &b));
		REQUIRE(a.span_index == b.span_index && a.trace_id_len == b.trace_id_len &&
			memcmp(a.trace_id, b.trace_id, a.trace_id_len) == 0 &&
			a.address_len == b.address_len);
	}

	char out[256];
	long l = rs_b64_decode(s, size, out, sizeof(out));
	REQUIRE(l <= (long)sizeof(out));
	uint8_t t[16];
	rs_trace_id_from_text(s, size, t);

	const char *p;
	size_t pl;
	rs_http_target_path(s, size, &p, &pl);
	REQUIRE(p >= s || pl == 1);
	REQUIRE(pl <= size || pl == 1);
	REQUIRE(rs_http_fold_path(p, pl, out, sizeof(out)) <= sizeof(out));
	REQUIRE(rs_http_redact_query(s, size, out, sizeof(out)) <= sizeof(out));
	const char *h;
	size_t hl;
	unsigned port;
	rs_http_host_port(s, size, &h, &hl, &port);
	REQUIRE(hl <= size && port <= 65535);
	return 0;
}
