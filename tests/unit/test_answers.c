/* The text exporters read from the environment and from collectors: header lists
 * (OTEL_EXPORTER_OTLP_HEADERS), Retry-After, and what an OTLP answer means for its batch. */
#include "../../io/header_list.h"
#include "../../io/otlp_answer.h"
#include "check.h"

#include <string.h>

static const char *headers(const char *text, bool *ok)
{
	static struct rs_buf b;
	static char why[120];
	b.len = 0;
	*ok = rs_header_list_parse(text, &b, why, sizeof(why));
	rs_buf_putc(&b, 0);
	return *ok ? b.p : why;
}

static void test_header_list(void)
{
	bool ok;
	CHECK(strcmp(headers("api-key=s3cr3t,X-Tenant = blue%20team%2C1 ,,", &ok),
		     "api-key: s3cr3t\r\nx-tenant: blue team,1\r\n") == 0 && ok);
	CHECK(strcmp(headers("", &ok), "") == 0 && ok);
	CHECK(strcmp(headers("a=", &ok), "a: \r\n") == 0 && ok);
	CHECK(strcmp(headers("Authorization=Basic%20dTpw", &ok), "authorization: Basic dTpw\r\n") == 0);
	/* Refused whole: nothing is half-added. */
	CHECK(strstr(headers("a=1,novalue", &ok), "without '='") && !ok);
	CHECK(strstr(headers("bad name=1", &ok), "not an HTTP token") && !ok);
	CHECK(strstr(headers("=1", &ok), "without a name") && !ok);
	CHECK(strstr(headers("a=%4", &ok), "percent escape") && !ok);
	CHECK(strstr(headers("a=%zz", &ok), "percent escape") && !ok);
	/* A value that would forge a header line. */
	CHECK(strstr(headers("a=1%0d%0aevil: yes", &ok), "control character") && !ok);
	CHECK(strstr(headers("a=%00", &ok), "control character") && !ok);
}

static void test_retry_after(void)
{
	CHECK_EQ_U(rs_retry_after_ms("3", 1), 3000);
	CHECK_EQ_U(rs_retry_after_ms(" 120", 4), 120000);
	CHECK_EQ_U(rs_retry_after_ms("99999999", 8), 3600000); /* capped at an hour */
	CHECK_EQ_U(rs_retry_after_ms("", 0), 0);
	CHECK_EQ_U(rs_retry_after_ms("soon", 4), 0);
	CHECK_EQ_U(rs_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 29), 0); /* in the past */
	const char *future = "Fri, 31 Dec 2100 23:59:59 GMT";
	CHECK_EQ_U(rs_retry_after_ms(future, strlen(future)), 3600000);
}

static void test_http_answers(void)
{
	struct rs_otlp_answer a;
	rs_otlp_http_answer(200, false, "", 0, &a);
	CHECK(a.outcome == RS_DELIVERED && a.rejected == 0);
	/* ExportTraceServiceResponse{partial_success{rejected_spans: 3, error_message: "no"}} */
	static const char pb[] = {0x0a, 0x06, 0x08, 0x03, 0x12, 0x02, 'n', 'o'};
	rs_otlp_http_answer(200, false, pb, sizeof(pb), &a);
	CHECK(a.outcome == RS_DELIVERED && a.rejected == 3);
	CHECK(strcmp(a.why, "partial success: no") == 0);
	const char *js = "{\"partialSuccess\": {\"errorMessage\":\"too \\\"old\\\"\x01\",\"rejectedSpans\":\"7\"}}";
	rs_otlp_http_answer(202, true, js, strlen(js), &a);
	CHECK(a.outcome == RS_DELIVERED && a.rejected == 7);
	CHECK(strcmp(a.why, "partial success: too \\\"old\\\"?") == 0);
	js = "{\"partialSuccess\":{\"rejectedDataPoints\":12}}";
	rs_otlp_http_answer(200, true, js, strlen(js), &a);
	CHECK(a.rejected == 12);
	/* Garbage after a 200 is still a delivery. */
	rs_otlp_http_answer(200, false, "\x07\xff\xff", 3, &a);
	CHECK(a.outcome == RS_DELIVERED && a.rejected == 0);
	static const int retry[] = {429, 502, 503, 504};
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
		rs_otlp_http_answer(retry[i], false, "", 0, &a);
		CHECK(a.outcome == RS_RETRY);
	}
	static const int refuse[] = {400, 401, 403, 404, 405, 413, 415, 500, 501, 505, 302};
	for (size_t i = 0; i < sizeof(refuse) / sizeof(refuse[0]); i++) {
		rs_otlp_http_answer(refuse[i], false, "", 0, &a);
		CHECK(a.outcome == RS_REJECTED);
	}
	/* google.rpc.Status{code: 3, message: "bad span"} */
	static const char st[] = {0x08, 0x03, 0x12, 0x08, 'b', 'a', 'd', ' ', 's', 'p', 'a', 'n'};
	rs_otlp_http_answer(400, false, st, sizeof(st), &a);
	CHECK(strcmp(a.why, "HTTP 400: bad span") == 0);
	js = "{\"code\":3,\"message\":\"bad json span\"}";
	rs_otlp_http_answer(400, true, js, strlen(js), &a);
	CHECK(strcmp(a.why, "HTTP 400: bad json span") == 0);
	rs_otlp_http_answer(-111, false, NULL, 0, &a);
	CHECK(a.outcome == RS_RETRY && strcmp(a.why, "Connection refused") == 0);
}

static void test_grpc_answers(void)
{
	struct rs_otlp_answer a;
	rs_otlp_grpc_answer(0, NULL, NULL, "", 0, &a);
	CHECK(a.outcome == RS_DELIVERED);
	static const int retry[] = {1, 4, 10, 11, 14, 15};
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
		rs_otlp_grpc_answer(retry[i], "x", NULL, NULL, 0, &a);
		CHECK(a.outcome == RS_RETRY);
	}
	static const int refuse[] = {2, 3, 5, 6, 7, 8, 9, 12, 13, 16};
	for (size_t i = 0; i < sizeof(refuse) / sizeof(refuse[0]); i++) {
		rs_otlp_grpc_answer(refuse[i], "x", "", NULL, 0, &a);
		CHECK(a.outcome == RS_REJECTED);
	}
	rs_otlp_grpc_answer(3, "bad\nline", NULL, NULL, 0, &a);
	CHECK(strcmp(a.why, "grpc-status 3: bad?line") == 0);
	/* Details that are not a Status with a RetryInfo leave RESOURCE_EXHAUSTED refused. */
	rs_otlp_grpc_answer(8, "x", "not base64!", NULL, 0, &a);
	CHECK(a.outcome == RS_REJECTED && a.retry_after_ms == 0);
	rs_otlp_grpc_answer(8, "x", "CAgSAXg", NULL, 0, &a); /* Status{code 8, message "x"} */
	CHECK(a.outcome == RS_REJECTED && a.retry_after_ms == 0);
	/* protobufjs's encoding of Status{8, "slow down", [Any{RetryInfo{2.5 s}}]}, unpadded. */
	rs_otlp_grpc_answer(8, "x",
			    "CAgSCXNsb3cgZG93bho2Cih0eXBlLmdvb2dsZWFwaXMuY29tL2dvb2dsZS5ycGMuUmV0cnlJ"
			    "bmZvEgoKCAgCEIDKte4B",
			    NULL, 0, &a);
	CHECK(a.outcome == RS_RETRY && a.retry_after_ms == 2500);
}

int main(void)
{
	test_header_list();
	test_retry_after();
	test_http_answers();
	test_grpc_answers();
	return check_result();
}
