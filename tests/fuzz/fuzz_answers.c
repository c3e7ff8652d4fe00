/* libFuzzer target for what the exporters read from outside: collectors' answers (OTLP/HTTP in
 * protobuf and JSON, OTLP/gRPC), Retry-After values, and header lists from the environment. No
 * crash, no read past the input, and what is kept for stderr stays printable and bounded. */
#include "../../io/header_list.h"
#include "../../io/otlp_answer.h"
#include "../../proto/otlp_pb.h"
#include "fuzz_require.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void printable(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	REQUIRE(n < cap);
	for (size_t i = 0; i < n; i++)
		REQUIRE((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy: the parsers get no NUL terminator to lean on. */
	char *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	struct rs_otlp_answer a;
	int status = size ? 100 + data[0] * 2 : 200;
	rs_otlp_http_answer(status, true, buf, size, &a);
	printable(a.why, sizeof(a.why));
	REQUIRE(a.outcome == RS_DELIVERED || a.outcome == RS_RETRY || a.outcome == RS_REJECTED);
	rs_otlp_http_answer(200, false, buf, size, &a);
	REQUIRE(a.outcome == RS_DELIVERED);
	printable(a.why, sizeof(a.why));
	rs_otlp_http_answer(400, false, buf, size, &a);
	printable(a.why, sizeof(a.why));
	rs_otlp_grpc_answer(0, NULL, NULL, buf, size, &a);
	printable(a.why, sizeof(a.why));
	REQUIRE(rs_otlp_pb_retry_delay_ms(buf, size) <= 3600000);
	uint64_t rej;
	char msg[64];
	rs_otlp_json_partial(buf, size, &rej, msg, sizeof(msg));
	REQUIRE(strnlen(msg, sizeof(msg)) < sizeof(msg));
	REQUIRE(rs_retry_after_ms(buf, size) <= 3600000);
	/* The header list parser reads a C string. */
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	struct rs_buf lines = {0};
	char why[120];
	if (rs_header_list_parse(text, &lines, why, sizeof(why))) {
		/* Only complete "name: value\r\n" lines, no bare CR or LF inside them. */
		for (size_t i = 0; i < lines.len; i++)
			if (lines.p[i] == '\r')
				REQUIRE(i + 1 < lines.len && lines.p[i + 1] == '\n');
			else if (lines.p[i] == '\n')
				REQUIRE(i > 0 && lines.p[i - 1] == '\r');
	} else {
		REQUIRE(lines.len == 0);
	}
	rs_buf_free(&lines);
	/* grpc-status-details-bin as it came: base64 of a Status, maybe with a RetryInfo. */
	rs_otlp_grpc_answer(8, "x", text, NULL, 0, &a);
	REQUIRE(a.retry_after_ms <= 3600000);
	printable(a.why, sizeof(a.why));
	free(text);
	free(buf);
	return 0;
}
