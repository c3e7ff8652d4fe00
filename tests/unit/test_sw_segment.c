/* SkyWalking segments: how span records are assembled (complete, bounded wait, late parts,
 * bounds), what each span becomes (types, refs from sw8 and across threads, tags, peer), and both
 * encodings: protobuf read back with the generated decoder, JSON checked field by field. The wire
 * against SkyWalking's own generated code is tests/integration/t_export_skywalking.sh. */
#include "../../io/stats.h"
#include "../../io/sw_segments.h"
#include "../../preload/http_route.h"
#include "../../proto/span_view.h"
#include "../../proto/sw_segment.h"
#include "check.h"

#include "skywalking/management.pb-c.h"
#include "skywalking/tracing.pb-c.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct rs_io_stats rs_io_stats;

static const uint8_t TRACE[16] = {0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 7,  8,
				  9,	10,   11,   12,	  13,	14,   15, 16};

/* The OpenTelemetry span id the hooks give span index of segment seg (8 bytes). */
static void span_id_of(const uint8_t seg[8], int32_t index, uint8_t out[8])
{
	char hex[16];
	rs_hex(seg, 8, hex);
	rs_sw_span_id(rs_hash64(hex, 16), index, out);
}

struct spec {
	uint8_t kind;
	uint8_t seg[8];
	int32_t index, parent;
	const char *name, *target, *host, *sw8;
	const uint8_t *parent_id; /* NULL: none */
	bool remote;
	uint16_t status;
};

static union rs_rec *make(const struct spec *p)
{
	static union rs_rec rec[RS_REC_MAX_SLOTS];
	memset(rec, 0, sizeof(rec));
	struct rs_rec_span *s = &rec[0].span;
	s->h.type = RS_REC_SPAN;
	s->h.len = RS_HTTP_TLV_START;
	s->h.tid = 42;
	s->kind = p->kind;
	s->what = RS_SPAN_HTTP;
	s->flags = p->remote ? RS_SPAN_PARENT_REMOTE : 0;
	s->status = p->status >= 500 ? RS_STATUS_ERROR : RS_STATUS_UNSET;
	memcpy(s->trace_id, TRACE, 16);
	span_id_of(p->seg, p->index, s->span_id);
	if (p->parent_id)
		memcpy(s->parent_id, p->parent_id, 8);
	s->start_ns = 1700000000123456789ull;
	s->end_ns = 1700000000129456789ull;
	struct rs_http_info *h = &s->u.http;
	memcpy(h->seg_id, p->seg, 8);
	h->seg_index = p->index;
	h->seg_parent_index = p->parent;
	h->peer.family = AF_INET;
	h->peer.port = p->kind == RS_KIND_CLIENT ? 8080 : 40000;
	inet_pton(AF_INET, "10.0.0.7", h->peer.addr);
	h->local_port = 80;
	h->method = rs_http_method_code(p->name, strcspn(p->name, " "));
	h->version = 1;
	h->status = p->status;
	h->end = RS_HTTP_END_LENGTH;
	rs_tlv_put(rec, RS_T_TARGET, p->target, strlen(p->target));
	if (p->host)
		rs_tlv_put(rec, RS_T_HOST, p->host, strlen(p->host));
	if (p->sw8)
		rs_tlv_put(rec, RS_T_SW8, p->sw8, strlen(p->sw8));
	s->h.nslots = (uint8_t)((s->h.len + RS_REC_SIZE - 1) / RS_REC_SIZE);
	char name[RS_HTTP_NAME_MAX + 1]; /* the reporter names the span from method and target */
	rs_span_name(s, name, sizeof(name));
	CHECK(strcmp(name, p->name) == 0);
	return rec;
}

/* What the assembler emitted, kept as both encodings. */
static struct {
	int n;
	struct rs_buf json[8];
	struct rs_buf pb[8];
	size_t spans[8];
} E;

static void emit(const struct rs_sw_seg *seg, void *arg)
{
	(void)arg;
	struct rs_arena a = {0};
	if (E.n < 8) {
		rs_sw_json_segment(&E.json[E.n], seg);
		rs_buf_putc(&E.json[E.n], 0);
		CHECK(rs_sw_pb_segment(&E.pb[E.n], seg, &a));
		E.spans[E.n] = seg->n;
	}
	E.n++;
	rs_arena_free(&a);
}

static void reset(void)
{
	for (int i = 0; i < 8; i++) {
		rs_buf_free(&E.json[i]);
		rs_buf_free(&E.pb[i]);
	}
	memset(&E, 0, sizeof(E));
}

static Skywalking__V3__SegmentObject *decode(int i)
{
	return skywalking__v3__segment_object__unpack(NULL, E.pb[i].len,
						      (const uint8_t *)E.pb[i].p);
}

static bool has(int i, const char *text)
{
	bool ok = i < E.n && strstr(E.json[i].p, text) != NULL;
	if (!ok)
		fprintf(stderr, "segment %d JSON lacks %s: %s\n", i, text,
			i < E.n ? E.json[i].p : "-");
	return ok;
}

static const char *tag(const Skywalking__V3__SpanObject *s, const char *key)
{
	for (size_t i = 0; i < s->n_tags; i++)
		if (!strcmp(s->tags[i]->key, key))
			return s->tags[i]->value;
	return NULL;
}

#define MS   1000000ull
#define WAIT (100 * MS)

/* An upstream's exit span sent sw8; the server's entry and its own exit make one segment, sent
 * as soon as both are in, whose ref is exactly what sw8 said. */
static void test_entry_segment(void)
{
	reset();
	CHECK(rs_sw_asm_init(WAIT, "svc", "inst@host", emit, NULL));
	/* The upstream (ringside) wrote this for its exit span 3 of segment 0102..08. */
	struct rs_sw8 up = {.sampled = true, .span_index = 3};
	rs_hex(TRACE, 16, up.trace_id);
	up.trace_id_len = 32;
	memcpy(up.segment, "0102030405060708", 16);
	up.segment_len = 16;
	memcpy(up.service, "up", 2), up.service_len = 2;
	memcpy(up.instance, "up-1", 4), up.instance_len = 4;
	memcpy(up.endpoint, "GET /x", 6), up.endpoint_len = 6;
	memcpy(up.address, "10.0.0.1:80", 11), up.address_len = 11;
	char sw8[600];
	size_t sl;
	CHECK(rs_sw8_format(&up, sw8, sizeof(sw8) - 1, &sl));
	sw8[sl] = 0;

	uint8_t seg[8] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11};
	uint8_t entry_id[8];
	span_id_of(seg, 0, entry_id);
	struct spec exitp = {
	    RS_KIND_CLIENT, {0},      1,     0,	 "GET /db/{id}", "/db/7?q=secret", "db:8080",
	    NULL,	    entry_id, false, 503};
	memcpy(exitp.seg, seg, 8);
	CHECK(rs_sw_asm_add(make(&exitp), 10 * MS));
	CHECK(E.n == 0 && rs_sw_asm_spans() == 1); /* waits for its entry */
	struct spec entryp = {RS_KIND_SERVER,
			      {0},
			      0,
			      -1,
			      "GET /items/{id}",
			      "/items/5?a=1&b=2",
			      "shop.example:8000",
			      sw8,
			      NULL,
			      true,
			      200};
	memcpy(entryp.seg, seg, 8);
	CHECK(rs_sw_asm_add(make(&entryp), 11 * MS));
	CHECK(E.n == 1 && rs_sw_asm_spans() == 0);

	CHECK(has(0, "\"traceId\":\"a1b2c3d4e5f60708090a0b0c0d0e0f10\""));
	CHECK(has(0, "\"traceSegmentId\":\"aabbccddeeff0011\""));
	CHECK(has(0, "\"refs\":[{\"refType\":\"CrossProcess\",\"traceId\":"
		     "\"a1b2c3d4e5f60708090a0b0c0d0e0f10\","
		     "\"parentTraceSegmentId\":\"0102030405060708\",\"parentSpanId\":3,"
		     "\"parentService\":\"up\","
		     "\"parentServiceInstance\":\"up-1\",\"parentEndpoint\":\"GET /x\","
		     "\"networkAddressUsedAtPeer\":\"10.0.0.1:80\"}]"));
	CHECK(has(0, "\"spanType\":\"Entry\""));
	CHECK(has(0, "\"spanType\":\"Exit\""));
	CHECK(has(0, "\"peer\":\"10.0.0.7:8080\""));
	CHECK(has(0, "\"startTime\":1700000000123,\"endTime\":1700000000129"));

	Skywalking__V3__SegmentObject *m = decode(0);
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK(!strcmp(m->traceid, "a1b2c3d4e5f60708090a0b0c0d0e0f10"));
	CHECK(!strcmp(m->tracesegmentid, "aabbccddeeff0011"));
	CHECK(!strcmp(m->service, "svc") && !strcmp(m->serviceinstance, "inst@host"));
	CHECK_EQ_U(m->n_spans, 2);
	if (m->n_spans == 2) {
		Skywalking__V3__SpanObject *e = m->spans[0], *x = m->spans[1];
		CHECK(e->spanid == 0 && e->parentspanid == -1 && e->spantype == RS_SW_ENTRY);
		CHECK(e->spanlayer == 3 && e->componentid == 49 && !e->iserror);
		CHECK(e->starttime == 1700000000123 && e->endtime == 1700000000129);
		CHECK(!strcmp(e->operationname, "GET /items/{id}") && !strcmp(e->peer, ""));
		CHECK_EQ_U(e->n_refs, 1);
		if (e->n_refs == 1) {
			Skywalking__V3__SegmentReference *r = e->refs[0];
			CHECK(r->reftype == RS_SW_CROSS_PROCESS && r->parentspanid == 3);
			CHECK(!strcmp(r->parenttracesegmentid, "0102030405060708"));
			CHECK(!strcmp(r->networkaddressusedatpeer, "10.0.0.1:80"));
		}
		/* The server's url: its Host, path, and the query with values redacted. */
		const char *u = tag(e, "url");
		CHECK(u && !strncmp(u, "http://shop.example:8000/items/5?a=", 35));
		CHECK(u && !strstr(u, "=1"));
		CHECK(tag(e, "http.method") && !strcmp(tag(e, "http.method"), "GET"));
		CHECK(tag(e, "http.status_code") && !strcmp(tag(e, "http.status_code"), "200"));
		CHECK(x->spanid == 1 && x->parentspanid == 0 && x->spantype == RS_SW_EXIT);
		CHECK(!strcmp(x->peer, "10.0.0.7:8080") && x->n_refs == 0 && x->iserror);
		CHECK(tag(x, "url") && !strncmp(tag(x, "url"), "http://db:8080/db/7?q=", 22));
		CHECK(tag(x, "http.status_code") && !strcmp(tag(x, "http.status_code"), "503"));
	}
	skywalking__v3__segment_object__free_unpacked(m, NULL);
}

/* A gap (index 1 missing) keeps the segment open until the bounded wait is over; what arrives
 * after it went out is a later part tied to the first by a CrossThread ref. */
static void test_wait_and_parts(void)
{
	reset();
	rs_sw_asm_free();
	CHECK(rs_sw_asm_init(WAIT, "svc", "inst", emit, NULL));
	uint8_t seg[8] = {1, 1, 1, 1, 2, 2, 2, 2};
	uint8_t entry_id[8];
	span_id_of(seg, 0, entry_id);
	struct spec e = {RS_KIND_SERVER, {0}, 0, -1, "GET /", "/", NULL, NULL, NULL, false, 200};
	struct spec x = {RS_KIND_CLIENT, {0},  2,	 0,	"GET /b", "/b",
			 NULL,		 NULL, entry_id, false, 200};
	memcpy(e.seg, seg, 8);
	memcpy(x.seg, seg, 8);
	CHECK(rs_sw_asm_add(make(&x), 0));
	CHECK(rs_sw_asm_add(make(&e), 1 * MS));
	CHECK(E.n == 0);
	CHECK(rs_sw_asm_tick(50 * MS) == 51 * MS && E.n == 0);
	CHECK(rs_sw_asm_tick(101 * MS) == UINT64_MAX && E.n == 1);
	CHECK_EQ_U(E.spans[0], 2);
	/* Index 1 ends late. */
	x.index = 1;
	CHECK(rs_sw_asm_add(make(&x), 200 * MS));
	CHECK(E.n == 1);
	rs_sw_asm_flush();
	CHECK(E.n == 2);
	CHECK(has(1, "\"traceSegmentId\":\"0101010102020202.1\""));
	CHECK(has(1, "\"spanId\":1,\"parentSpanId\":-1"));
	CHECK(has(1, "\"refType\":\"CrossThread\",\"traceId\":\"a1b2c3d4e5f60708090a0b0c0d0e0f10\","
		     "\"parentTraceSegmentId\":\"0101010102020202\",\"parentSpanId\":0"));
	CHECK(has(1, "\"parentEndpoint\":\"GET /\""));
}

/* A thread without a server span of its own makes a call under the span another thread serves:
 * its segment points at that span across threads, with that segment's endpoint. A span whose
 * parent is only known by traceparent has no ref, and sw8 of another trace is not used. */
static void test_cross_thread(void)
{
	reset();
	rs_sw_asm_free();
	CHECK(rs_sw_asm_init(WAIT, "svc", "inst", emit, NULL));
	uint8_t a[8] = {0xa, 0, 0, 0, 0, 0, 0, 1}, b[8] = {0xb, 0, 0, 0, 0, 0, 0, 2};
	uint8_t a_entry[8];
	span_id_of(a, 0, a_entry);
	struct spec e = {RS_KIND_SERVER, {0},  0,    -1,    "POST /jobs", "/jobs",
			 NULL,		 NULL, NULL, false, 202};
	memcpy(e.seg, a, 8);
	CHECK(rs_sw_asm_add(make(&e), 0));
	CHECK(E.n == 1);
	struct spec x = {RS_KIND_CLIENT, {0},  0,	-1,    "GET /w", "/w",
			 NULL,		 NULL, a_entry, false, 200};
	memcpy(x.seg, b, 8);
	CHECK(rs_sw_asm_add(make(&x), 0));
	rs_sw_asm_flush();
	CHECK(E.n == 2);
	CHECK(has(1, "\"refs\":[{\"refType\":\"CrossThread\",\"traceId\":"
		     "\"a1b2c3d4e5f60708090a0b0c0d0e0f10\","
		     "\"parentTraceSegmentId\":\"0a00000000000001\",\"parentSpanId\":0,"
		     "\"parentService\":\"svc\","
		     "\"parentServiceInstance\":\"inst\",\"parentEndpoint\":\"POST /jobs\""));

	/* Remote parent (traceparent only), and an sw8 of another trace: no refs. */
	uint8_t c[8] = {0xc, 0, 0, 0, 0, 0, 0, 3}, d[8] = {0xd, 0, 0, 0, 0, 0, 0, 4};
	struct spec r = {RS_KIND_CLIENT, {0},  0,	-1,   "GET /r", "/r",
			 NULL,		 NULL, a_entry, true, 200};
	memcpy(r.seg, c, 8);
	CHECK(rs_sw_asm_add(make(&r), 0));
	struct spec o = {RS_KIND_SERVER, {0},  0,    -1,
			 "GET /o",	 "/o", NULL, "1-b3RoZXI=-c2Vn-0-c3Zj-aW5zdA==-ZXA=-YTox",
			 NULL,		 true, 200};
	memcpy(o.seg, d, 8);
	CHECK(rs_sw_asm_add(make(&o), 0));
	rs_sw_asm_flush();
	CHECK(E.n == 4);
	CHECK(E.n == 4 && !strstr(E.json[2].p, "refs") && !strstr(E.json[3].p, "refs"));
	CHECK(has(3, "\"traceId\":\"a1b2c3d4e5f60708090a0b0c0d0e0f10\""));

	/* A bare TCP connection has no SkyWalking span. */
	union rs_rec *t = make(&o);
	t->span.what = RS_SPAN_TCP;
	CHECK(!rs_sw_asm_add(t, 0));
}

/* Names from the wire are any bytes: protobuf strings go out as valid UTF-8, JSON escaped. */
static void test_hostile_text(void)
{
	reset();
	rs_sw_asm_free();
	CHECK(rs_sw_asm_init(WAIT, "svc", "inst", emit, NULL));
	char trace[33], b64[64], sw8[300];
	rs_hex(TRACE, 16, trace);
	size_t bl = rs_b64_encode(trace, 32, b64, sizeof(b64));
	b64[bl] = 0;
	/* service "\xff", instance "i\"\n", endpoint "e", address "a" */
	snprintf(sw8, sizeof(sw8), "1-%s-c2Vn-0-/w==-aSIK-ZQ==-YQ==", b64);
	uint8_t seg[8] = {7, 7, 7, 7, 7, 7, 7, 7};
	struct spec e = {RS_KIND_SERVER, {0}, 0,    -1,	  "GET /\xc3(", "/\xc3(",
			 NULL,		 sw8, NULL, true, 200};
	memcpy(e.seg, seg, 8);
	CHECK(rs_sw_asm_add(make(&e), 0));
	CHECK(E.n == 1);
	CHECK(has(0, "\"operationName\":\"GET /\\ufffd(\""));
	CHECK(has(0, "\"parentService\":\"\\ufffd\",\"parentServiceInstance\":\"i\\\"\\u000a\""));
	Skywalking__V3__SegmentObject *m = decode(0);
	CHECK(m && m->n_spans == 1 && m->spans[0]->n_refs == 1);
	if (m && m->n_spans == 1 && m->spans[0]->n_refs == 1) {
		CHECK(!strcmp(m->spans[0]->operationname, "GET /\xef\xbf\xbd("));
		CHECK(!strcmp(m->spans[0]->refs[0]->parentservice, "\xef\xbf\xbd"));
		CHECK(!strcmp(m->spans[0]->refs[0]->parentserviceinstance, "i\"\n"));
	}
	if (m)
		skywalking__v3__segment_object__free_unpacked(m, NULL);
}

/* Bounds: a segment of 300 spans goes at once; past 4096 open segments the oldest go early. */
static void test_bounds(void)
{
	reset();
	rs_sw_asm_free();
	CHECK(rs_sw_asm_init(WAIT, "svc", "inst", emit, NULL));
	uint8_t seg[8] = {9, 9, 9, 9, 9, 9, 9, 9};
	struct spec x = {RS_KIND_CLIENT, {0}, 0, -1, "GET /", "/", NULL, NULL, NULL, false, 200};
	memcpy(x.seg, seg, 8);
	for (int i = 0; i < 300; i++) {
		x.index = i;
		rs_sw_asm_add(make(&x), 0);
	}
	CHECK(E.n == 1 && E.spans[0] == 300 && rs_sw_asm_spans() == 0);
	for (uint32_t i = 0; i < 4100; i++) {
		memcpy(x.seg, &i, 4);
		x.index = 0;
		rs_sw_asm_add(make(&x), 0);
	}
	CHECK_EQ_U(E.n, 1 + 4);
	CHECK_EQ_U(rs_sw_asm_spans(), 4096);
	rs_sw_asm_flush();
	CHECK_EQ_U(E.n, 1 + 4100);
	CHECK_EQ_U(rs_io_stats.dropped_encode, 0);
}

static void test_management(void)
{
	const struct rs_sw_kv p[] = {
	    {"os_name", "Linux"}, {"ipv4", "10.0.0.1"}, {"ipv4", "10.0.0.2"}, {"language", "C"}};
	struct rs_buf j = {0}, b = {0};
	rs_sw_json_properties(&j, "svc", "in\"st", p, 4);
	rs_buf_putc(&j, 0);
	CHECK(!strcmp(
	    j.p,
	    "{\"service\":\"svc\",\"serviceInstance\":\"in\\\"st\",\"properties\":["
	    "{\"key\":\"os_name\",\"value\":\"Linux\"},{\"key\":\"ipv4\",\"value\":\"10.0.0.1\"},"
	    "{\"key\":\"ipv4\",\"value\":\"10.0.0.2\"},{\"key\":\"language\",\"value\":\"C\"}]}"));
	j.len = 0;
	rs_sw_json_ping(&j, "svc", "inst");
	rs_buf_putc(&j, 0);
	CHECK(!strcmp(j.p, "{\"service\":\"svc\",\"serviceInstance\":\"inst\"}"));
	CHECK(rs_sw_pb_properties(&b, "svc", "inst", p, 4));
	Skywalking__V3__InstanceProperties *m =
	    skywalking__v3__instance_properties__unpack(NULL, b.len, (const uint8_t *)b.p);
	CHECK(m && m->n_properties == 4 && !strcmp(m->properties[2]->value, "10.0.0.2"));
	if (m)
		skywalking__v3__instance_properties__free_unpacked(m, NULL);
	b.len = 0;
	CHECK(rs_sw_pb_ping(&b, "svc", "inst"));
	Skywalking__V3__InstancePingPkg *k =
	    skywalking__v3__instance_ping_pkg__unpack(NULL, b.len, (const uint8_t *)b.p);
	CHECK(k && !strcmp(k->serviceinstance, "inst"));
	if (k)
		skywalking__v3__instance_ping_pkg__free_unpacked(k, NULL);
	rs_buf_free(&j);
	rs_buf_free(&b);
}

int main(void)
{
	test_entry_segment();
	test_wait_and_parts();
	test_cross_thread();
	test_hostile_text();
	test_bounds();
	test_management();
	rs_sw_asm_free();
	reset();
	return check_result();
}
