/* The direct OTLP protobuf span writer (proto/otlp_pb.c) against the protobuf-c encoder it
 * replaced (otlp_pb_ref.c): the same bytes for varied spans and resources, which protobuf-c's
 * generated code then decodes to the fields put in; pb_writer.h's length patching; and the
 * IPv4 text span_view writes itself. */
#include "../../proto/pb_writer.h"
#include "../../proto/span_view.h"
#include "otlp_pb_ref.h"
#include "check.h"

#include "otlp/trace.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_SPANS 700

static union rs_rec recs[MAX_SPANS][RS_REC_MAX_SLOTS];
static const struct rs_rec_span *view[MAX_SPANS];
static size_t nspans;

static union rs_rec *new_span(uint16_t what, uint8_t kind)
{
	union rs_rec *r = recs[nspans];
	memset(r, 0, sizeof(recs[0]));
	struct rs_rec_span *s = &r->span;
	s->h.type = RS_REC_SPAN;
	s->h.len = RS_HTTP_TLV_START;
	s->h.tid = 4242;
	s->what = what;
	s->kind = kind;
	for (int i = 0; i < 16; i++)
		s->trace_id[i] = (uint8_t)(0xa0 + i + nspans);
	for (int i = 0; i < 8; i++)
		s->span_id[i] = (uint8_t)(0x10 + i + nspans);
	s->start_ns = 1700000000000000000ull + nspans;
	s->end_ns = s->start_ns + 123456;
	view[nspans++] = s;
	return r;
}

static void tlv(union rs_rec *r, uint8_t key, const char *v)
{
	rs_tlv_put(r, key, v, strlen(v));
}

static void finish(union rs_rec *r)
{
	r->hdr.nslots = (uint8_t)((r->hdr.len + RS_REC_SIZE - 1) / RS_REC_SIZE);
}

/* Spans that between them take every branch of span_view and of the writer. */
static void varied_spans(void)
{
	/* HTTP server: remote parent, repeated tracestate, unicode, an error status. */
	union rs_rec *r = new_span(RS_SPAN_HTTP, RS_KIND_SERVER);
	struct rs_rec_span *s = &r->span;
	memset(s->parent_id, 0x77, 8);
	s->flags = RS_SPAN_PARENT_REMOTE;
	s->trace_flags = 1;
	s->status = RS_STATUS_ERROR;
	s->u.http = (struct rs_http_info){.req_body = 17, .resp_body = 5, .status = 503,
					  .method = RS_M_POST, .version = 1, .local_port = 8080,
					  .end = RS_HTTP_END_CLOSE};
	s->u.http.peer = (struct rs_addr){.family = AF_INET, .port = 51000, .addr = {10, 0, 0, 9}};
	tlv(r, RS_T_TARGET, "/caf\xc3\xa9/42?q=secret&x=1");
	tlv(r, RS_T_HOST, "h\xc3\xb4te.example:8443");
	tlv(r, RS_T_USER_AGENT, "curl/8 \xe2\x9c\x93 \xf0\x9f\x9a\x80");
	tlv(r, RS_T_TRACESTATE, "rojo=00f067aa0ba902b7");
	tlv(r, RS_T_TRACESTATE, "congo=t61rcWkgMzE");
	finish(r);

	/* HTTP client, IPv6 peer, no Host, a method of its own, no status. */
	r = new_span(RS_SPAN_HTTP, RS_KIND_CLIENT);
	s = &r->span;
	s->u.http = (struct rs_http_info){.method = RS_M_OTHER, .end = RS_HTTP_END_ABORTED};
	s->u.http.peer = (struct rs_addr){.family = AF_INET6, .port = 8443, .addr = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}};
	s->status = RS_STATUS_ERROR;
	tlv(r, RS_T_METHOD, "PROPFIND");
	tlv(r, RS_T_TARGET, "/dav/");
	tlv(r, RS_T_USER_AGENT, "");
	finish(r);

	/* HTTP server whose strings fill the record: a span over several slots. */
	r = new_span(RS_SPAN_HTTP, RS_KIND_SERVER);
	s = &r->span;
	s->u.http = (struct rs_http_info){.method = RS_M_GET, .status = 200, .end = RS_HTTP_END_LENGTH,
					  .resp_body = UINT64_MAX, .req_body = 1ull << 63};
	static char big[RS_REC_MAX];
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	big[700] = 0;
	tlv(r, RS_T_TARGET, big);
	big[700] = 'u';
	big[900] = 0;
	tlv(r, RS_T_USER_AGENT, big + 1);
	finish(r);

	/* TCP client: refused (status message, error.type), a shutdown event, every flag. */
	r = new_span(RS_SPAN_TCP, RS_KIND_CLIENT);
	s = &r->span;
	s->err = ECONNREFUSED;
	s->status = RS_STATUS_ERROR;
	s->flags = RS_SPAN_ENDED_BY_EXIT | RS_SPAN_INHERITED | RS_SPAN_FD_REUSED | RS_SPAN_UNFINISHED;
	s->u.tcp = (struct rs_tcp_info){.local_port = 40000, .shutdown_how = 3,
					.shutdown_ns = s->start_ns + 99, .bytes_in = 0,
					.bytes_out = (uint64_t)-5};
	s->u.tcp.peer = (struct rs_addr){.family = AF_INET, .port = 6379, .addr = {127, 0, 0, 1}};
	finish(r);

	/* TCP server: zero ids, zero times (left out), an unknown shutdown, no peer. */
	r = new_span(RS_SPAN_TCP, RS_KIND_SERVER);
	s = &r->span;
	memset(s->trace_id, 0, 16);
	memset(s->span_id, 0, 8);
	s->start_ns = s->end_ns = 0;
	s->status = RS_STATUS_OK;
	s->u.tcp = (struct rs_tcp_info){.local_port = 0, .shutdown_how = 9};
	finish(r);

	/* A kind of span the view does not know, kind 0, end before start: a tiny span. */
	r = new_span(0, 0);
	r->span.end_ns = r->span.start_ns - 1;
	finish(r);
}

/* The same request from both encoders: byte for byte, and decodable to what was put in. */
static void compare(const struct rs_resource *res, size_t from, size_t n)
{
	struct rs_arena a = {0};
	struct rs_buf want = {0}, got = {0}, rbody = {0};
	Otlp__Resource *rmsg = rs_otlp_pb_resource(res, &a);
	CHECK(rmsg != NULL);
	CHECK(ref_otlp_pb_traces(&want, rmsg, view + from, n, &a));
	CHECK(rs_otlp_pb_resource_body(&rbody, res));
	rs_buf_put(&got, "prefix", 6); /* appends, as into a gRPC frame's buffer */
	CHECK(rs_otlp_pb_traces(&got, rbody.p, rbody.len, view + from, n));
	CHECK_EQ_U(got.len - 6, want.len);
	CHECK(memcmp(got.p, "prefix", 6) == 0);
	CHECK(got.len - 6 == want.len && memcmp(got.p + 6, want.p, want.len) == 0);

	Otlp__ExportTraceServiceRequest *req = otlp__export_trace_service_request__unpack(
		NULL, got.len - 6, (const uint8_t *)got.p + 6);
	CHECK(req != NULL);
	if (req) {
		CHECK_EQ_U(req->n_resource_spans, 1);
		Otlp__ResourceSpans *rs = req->resource_spans[0];
		CHECK_EQ_U(rs->resource->n_attributes, res->n);
		CHECK_EQ_U(rs->n_scope_spans, 1);
		Otlp__ScopeSpans *ss = rs->scope_spans[0];
		CHECK(strcmp(ss->scope->name, "ringside") == 0);
		CHECK_EQ_U(ss->n_spans, n);
		for (size_t i = 0; i < ss->n_spans; i++) {
			const struct rs_rec_span *s = view[from + i];
			Otlp__Span *m = ss->spans[i];
			CHECK(m->trace_id.len == 16 && memcmp(m->trace_id.data, s->trace_id, 16) == 0);
			CHECK(m->span_id.len == 8 && memcmp(m->span_id.data, s->span_id, 8) == 0);
			CHECK_EQ_U(m->start_time_unix_nano, s->start_ns);
			CHECK_EQ_U(m->kind, s->kind);
			CHECK_EQ_U(m->status ? m->status->code : 0, s->status);
			CHECK(m->n_attributes >= 1);
		}
		otlp__export_trace_service_request__free_unpacked(req, NULL);
	}
	rs_buf_free(&want);
	rs_buf_free(&got);
	rs_buf_free(&rbody);
	rs_arena_free(&a);
}

static void test_spans(void)
{
	struct rs_resource *res = calloc(1, sizeof(*res));
	CHECK(res != NULL);
	if (!res)
		return;
	varied_spans();
	size_t varied = nspans;
	/* An empty resource, one span at a time, then all of them. */
	for (size_t i = 0; i < varied; i++)
		compare(res, i, 1);
	rs_resource_set_str(res, "service.name", "caf\xc3\xa9", 5);
	rs_resource_set_str(res, "empty", "", 0);
	rs_resource_set_int(res, "process.pid", 4242);
	rs_resource_set_int(res, "negative", -7);
	rs_resource_set_strs(res, "process.command_args", "nginx\0-g\0\0", 10, 3);
	static char huge[3000];
	memset(huge, 'v', sizeof(huge) - 1);
	rs_resource_set_str(res, "huge", huge, sizeof(huge) - 1);
	compare(res, 0, varied);
	compare(res, 0, 0);
	/* A full batch and more: lengths of three bytes. */
	while (nspans < MAX_SPANS) {
		size_t k = nspans % varied;
		memcpy(recs[nspans], recs[k], sizeof(recs[0]));
		view[nspans] = &recs[nspans][0].span;
		nspans++;
	}
	compare(res, 0, nspans);
	free(res);
}

/* rs_pb_open/rs_pb_close against lengths computed by hand: guessed right, too long, too short. */
static void test_patch(void)
{
	static const size_t lens[] = {0, 1, 127, 128, 300, 16383, 16384, 20000, 2097152};
	static char body[2097152];
	memset(body, 'x', sizeof(body));
	for (size_t g = 1; g <= 3; g++) {
		for (size_t i = 0; i < RS_ARRAY_LEN(lens); i++) {
			struct rs_buf b = {0};
			rs_buf_put(&b, "ab", 2);
			size_t at = rs_pb_open(&b, 11, g);
			rs_buf_put(&b, body, lens[i]);
			rs_pb_close(&b, at, g);
			rs_buf_put(&b, "z", 1);
			size_t vs = rs_pb_varint_size(lens[i]);
			CHECK_EQ_U(b.len, 2 + 1 + vs + lens[i] + 1);
			char head[12];
			size_t hl = rs_pb_varint_at(head, 11 << 3 | 2);
			hl += rs_pb_varint_at(head + hl, lens[i]);
			CHECK(memcmp(b.p + 2, head, hl) == 0);
			CHECK(memcmp(b.p + 2 + hl, body, lens[i]) == 0 && b.p[b.len - 1] == 'z');
			rs_buf_free(&b);
		}
	}
	char v[10];
	CHECK_EQ_U(rs_pb_varint_at(v, UINT64_MAX), 10);
	CHECK((uint8_t)v[9] == 1 && (uint8_t)v[0] == 0xff);
	CHECK_EQ_U(rs_pb_varint_size(UINT64_MAX), 10);
	CHECK_EQ_U(rs_pb_varint_size(127), 1);
	CHECK_EQ_U(rs_pb_varint_size(128), 2);
}

/* rs_addr_text formats IPv4 itself: the same text as inet_ntop. */
static void test_addr_text(void)
{
	static const uint8_t v4[][4] = {{0, 0, 0, 0}, {255, 255, 255, 255}, {10, 0, 100, 9},
					{1, 20, 3, 40}, {127, 0, 0, 1}, {99, 199, 109, 110}};
	for (size_t i = 0; i < RS_ARRAY_LEN(v4); i++) {
		struct rs_addr a = {.family = AF_INET};
		memcpy(a.addr, v4[i], 4);
		char got[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET, v4[i], want, sizeof(want));
		CHECK(strcmp(rs_addr_text(&a, got, sizeof(got)), want) == 0);
	}
	struct rs_addr none = {0}, v6 = {.family = AF_INET6, .addr = {0xfe, 0x80, [15] = 2}};
	char t[INET6_ADDRSTRLEN];
	CHECK(strcmp(rs_addr_text(&none, t, sizeof(t)), "") == 0);
	CHECK(strcmp(rs_addr_text(&v6, t, sizeof(t)), "fe80::2") == 0);
}

/* Bytes from the wire that are not UTF-8 (a Latin-1 path, a cut sequence, a lone continuation
 * byte) go out with U+FFFD in their place: protobuf strings must be valid UTF-8. */
static void test_invalid_utf8(void)
{
	nspans = 0;
	union rs_rec *r = new_span(RS_SPAN_HTTP, RS_KIND_SERVER);
	r->span.u.http = (struct rs_http_info){.status = 200, .method = RS_M_GET, .version = 1};
	tlv(r, RS_T_TARGET, "/caf\xe9/\xc3");
	tlv(r, RS_T_USER_AGENT, "agent \x80\xbf ok \xf0\x9f\x9a\x80");
	finish(r);
	struct rs_resource *res = calloc(1, sizeof(*res));
	CHECK(res != NULL);
	if (!res)
		return;
	struct rs_buf rbody = {0}, got = {0};
	CHECK(rs_otlp_pb_resource_body(&rbody, res));
	CHECK(rs_otlp_pb_traces(&got, rbody.p, rbody.len, view, 1));
	Otlp__ExportTraceServiceRequest *req =
		otlp__export_trace_service_request__unpack(NULL, got.len, (const uint8_t *)got.p);
	CHECK(req != NULL);
	if (req) {
		Otlp__Span *m = req->resource_spans[0]->scope_spans[0]->spans[0];
		CHECK(rs_utf8_valid(m->name, strlen(m->name)));
		bool path = false, ua = false;
		for (size_t i = 0; i < m->n_attributes; i++) {
			Otlp__KeyValue *kv = m->attributes[i];
			const char *v = kv->value->string_value;
			if (kv->value->value_case != OTLP__ANY_VALUE__VALUE_STRING_VALUE)
				continue;
			CHECK(rs_utf8_valid(v, strlen(v)));
			if (!strcmp(kv->key, "url.path")) {
				path = true;
				CHECK(strcmp(v, "/caf\xef\xbf\xbd/\xef\xbf\xbd") == 0);
			}
			if (!strcmp(kv->key, "user_agent.original")) {
				ua = true;
				CHECK(strcmp(v, "agent \xef\xbf\xbd\xef\xbf\xbd ok \xf0\x9f\x9a\x80") == 0);
			}
		}
		CHECK(path && ua);
		otlp__export_trace_service_request__free_unpacked(req, NULL);
	}
	CHECK(rs_utf8_valid("", 0) && rs_utf8_valid("plain ascii text, longer than 8", 31));
	CHECK(!rs_utf8_valid("12345678\xed\xa0\x80", 11)); /* a surrogate */
	rs_buf_free(&rbody);
	rs_buf_free(&got);
	free(res);
	nspans = 0; /* the byte-for-byte comparisons start from a fresh table */
}

int main(void)
{
	test_addr_text();
	test_invalid_utf8();
	test_patch();
	test_spans();
	return check_result();
}
