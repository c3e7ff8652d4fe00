/* The HTTP/1.x parser: what it reports for requests and responses of every framing, that any
 * split of the bytes (every single cut, and one byte at a time) reports exactly the same, that it
 * never reads past its input (inputs end at a PROT_NONE page), and that bad input stops it. */
#include "check.h"
#include "hp_driver.h"
#include "../../preload/http_scan.h"

#include <stdlib.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

/* Copies msg so it ends right before an inaccessible page: any over-read faults. */
static const char *guarded(const char *msg, size_t len)
{
	static char *map;
	static size_t page;
	if (!map) {
		page = (size_t)sysconf(_SC_PAGESIZE);
		map = mmap(NULL, 33 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			   0);
		mprotect(map + 32 * page, page, PROT_NONE);
	}
	if (len > 32 * page)
		abort();
	char *p = map + 32 * page - len;
	memcpy(p, msg, len);
	return p;
}

/* Parses msg whole, at every single cut, and byte by byte: all must log the same, and the whole
 * run must contain want. */
static void expect(enum rs_hp_mode mode, const char *msg, bool no_body, const char *want)
{
	size_t len = strlen(msg);
	const char *g = guarded(msg, len);
	static struct hp_log whole, split;
	hp_run(mode, g, len, NULL, 0, no_body, &whole);
	if (!strstr(whole.text, want)) {
		fprintf(stderr, "parsing %.60s...\n  got  %s\n  want %s\n", msg, whole.text, want);
		check_failures++;
		return;
	}
	for (size_t cut = 0; cut <= len; cut++) {
		hp_run(mode, g, len, &cut, 1, no_body, &split);
		if (strcmp(whole.text, split.text) != 0) {
			fprintf(stderr, "split at %zu differs:\n  %s\n  %s\n", cut, whole.text,
				split.text);
			check_failures++;
			return;
		}
	}
	size_t *cuts = malloc(len * sizeof(size_t));
	for (size_t i = 0; i < len; i++)
		cuts[i] = i + 1;
	hp_run(mode, g, len, cuts, len, no_body, &split);
	free(cuts);
	if (strcmp(whole.text, split.text) != 0) {
		fprintf(stderr, "byte by byte differs:\n  %s\n  %s\n", whole.text, split.text);
		check_failures++;
	}
}

/* Event codes in the log: 1 line end, 2 head done, 3 message done; errors show as <error>. */
static void test_requests(void)
{
	expect(RS_HP_REQUEST, "GET /a?b=1 HTTP/1.1\r\nHost: x:8080\r\nUser-Agent: ua/1 \r\n\r\n",
	       false,
	       "[1:GET][2:/a?b=1]<1@21 s=0 f=0 b=0>[3:x:8080][4:ua/1 ]<2@56 s=0 f=0 b=0>"
	       "<3@56 s=0 f=0 b=0><close 0>"); /* the value's trailing space is the caller's */
	/* A body by Content-Length, then a pipelined request without one. */
	expect(RS_HP_REQUEST,
	       "POST /p HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.0\r\n\r\n", false,
	       "<2@39 s=0 f=2 b=0>{hello}<3@44 s=0 f=0 b=5>[1:GET][2:/]<1@60 s=0 f=0 b=5>"
	       "<2@62 s=0 f=0 b=5><3@62 s=0 f=0 b=0><close 0>");
	/* Chunked, with extensions and trailers. */
	expect(RS_HP_REQUEST,
	       "PUT /c HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
	       "5;ext=1\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: t\r\n\r\n",
	       false, "<2@53 s=0 f=1 b=0>{hello0123456789abcdef}<3@110 s=0 f=0 b=21><close 0>");
	/* Trace context headers, case-insensitive names, tracestate twice. */
	expect(RS_HP_REQUEST,
	       "GET / HTTP/1.1\r\nTRACEPARENT: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331"
	       "-01\r\ntracestate: a=1\r\ntracestate: b=2\r\nsw8: 1-dA==-cw==-3-cw==-aQ==-ZQ==-YQ==\r\n"
	       "\r\n",
	       false,
	       "[5:00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01][6:a=1]"
	       "[6:b=2][7:1-dA==-cw==-3-cw==-aQ==-ZQ==-YQ==]<2@162");
	/* Bytes from 0x80 up pass in a target (UTF-8 sent raw), however long the run. */
	expect(RS_HP_REQUEST, "GET /caf\xc3\xa9/\xe2\x82\xac\xe2\x82\xac?q=\xff HTTP/1.1\r\n"
	       "User-Agent: a b\tc d e f g h i j k\r\n\r\n", false,
	       "[2:/caf\xc3\xa9/\xe2\x82\xac\xe2\x82\xac?q=\xff]<1@32 s=0 f=0 b=0>"
	       "[4:a b\tc d e f g h i j k]<2@69");
	/* Leading empty lines and bare LF line ends are tolerated. */
	expect(RS_HP_REQUEST, "\r\nGET /x HTTP/1.1\nHost: h\n\n", false, "[3:h]<2@");
	/* Connection's final token, case-insensitive, after other tokens; not a longer word. */
	expect(RS_HP_REQUEST, "GET / HTTP/1.1\r\nConnection: TE, Keep-Alive\r\n\r\n", false,
	       "<2@46 s=0 f=8 b=0>");
	expect(RS_HP_REQUEST, "GET / HTTP/1.1\r\nConnection: x,close\r\n\r\n", false,
	       "<2@39 s=0 f=4 b=0>");
	expect(RS_HP_REQUEST, "GET / HTTP/1.1\r\nConnection: notclose\r\n\r\n", false,
	       "<2@40 s=0 f=0 b=0>");
	expect(RS_HP_REQUEST, "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", false,
	       "<2@48 s=0 f=0 b=0>");
	/* A request asking to upgrade, then its websocket bytes (no body of its own). */
	expect(RS_HP_REQUEST, "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
	       false, "<2@61 s=0 f=10 b=0><3@61");
}

static void test_responses(void)
{
	expect(RS_HP_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", false,
	       "<2@38 s=200 f=2 b=0>{abc}<3@41 s=0 f=0 b=3><close 0>");
	/* Chunked, then a second response on the same connection. */
	expect(RS_HP_RESPONSE,
	       "HTTP/1.1 404 Not Found\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
	       "HTTP/1.1 204 No Content\r\n\r\n",
	       false, "<2@54 s=404 f=1 b=0>{abc}<3@67 s=0 f=0 b=3><2@94 s=204 f=0 b=3><3@94 s=0 f=0 b=0>");
	/* No length: the body runs to the close. */
	expect(RS_HP_RESPONSE, "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of it", false,
	       "<2@30 s=200 f=20 b=0>{all of it}<close 3>");
	/* 100 Continue first, then the real response. */
	expect(RS_HP_RESPONSE,
	       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
	       false, "<2@25 s=100 f=0 b=0><2@68 s=201 f=2 b=0><3@68 s=0 f=0 b=0>");
	/* The answer to a HEAD request has no body whatever Content-Length says. */
	expect(RS_HP_RESPONSE, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", true,
	       "<2@41 s=200 f=2 b=0><3@41 s=0 f=0 b=0><close 0>");
	/* 101: what follows is another protocol. */
	expect(RS_HP_RESPONSE, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
	       false, "<2@56 s=101 f=10 b=0><3@56 s=101 f=10 b=0><close 0>");
	/* A status line without a reason phrase. */
	expect(RS_HP_RESPONSE, "HTTP/1.1 304\r\n\r\n", false, "<2@16 s=304 f=0 b=0><3@16");
}

static void expect_error(enum rs_hp_mode mode, const char *msg)
{
	struct hp_log l;
	hp_run(mode, guarded(msg, strlen(msg)), strlen(msg), NULL, 0, false, &l);
	if (!strstr(l.text, "<error>")) {
		fprintf(stderr, "expected an error for %.60s: %s\n", msg, l.text);
		check_failures++;
	}
}

static void test_errors(void)
{
	expect_error(RS_HP_REQUEST, "GET / HTTP/2.0\r\n\r\n");
	expect_error(RS_HP_REQUEST, "GET /\x01 HTTP/1.1\r\n\r\n");
	/* Targets and values are scanned eight bytes at a time: a bad byte past the first eight. */
	expect_error(RS_HP_REQUEST, "GET /abcdefghijk\x7fl HTTP/1.1\r\n\r\n");
	expect_error(RS_HP_REQUEST, "GET /abcdefghijk\tl HTTP/1.1\r\n\r\n");
	expect_error(RS_HP_REQUEST, "GET / HTTP/1.1\r\nHost: abcdefghijklmnop\rq\r\n\r\n");
	expect_error(RS_HP_REQUEST, "GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
	expect_error(RS_HP_REQUEST, "GET / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n");
	expect_error(RS_HP_REQUEST, "GET / HTTP/1.1\r\nContent-Length:\r\n\r\n");
	expect_error(RS_HP_REQUEST, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
	expect_error(RS_HP_REQUEST, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				    "fffffffffffffffff\r\n");
	expect_error(RS_HP_REQUEST, "GET / HTTP/1.1\r\n folded: no\r\n\r\n");
	expect_error(RS_HP_RESPONSE, "HTTP/1.1 20 OK\r\n\r\n");
	expect_error(RS_HP_RESPONSE, "SSH-2.0-OpenSSH_9.2\r\n");
	/* Bounds: a header line over 8 KiB, a head over 64 KiB. */
	static char big[100000];
	strcpy(big, "GET / HTTP/1.1\r\nX: ");
	memset(big + strlen(big), 'a', 9000);
	strcat(big, "\r\n\r\n");
	expect_error(RS_HP_REQUEST, big);
	strcpy(big, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 1500; i++) /* 69 KB */
		strcat(big, "X-Header: 0123456789012345678901234567890123\r\n");
	expect_error(RS_HP_REQUEST, big);
}

/* Where propagation header names end (for renaming): exact names only, whole or split, as long
 * as the colon is in the same buffer as the name's last byte. */
static void test_names(void)
{
	const char *msg = "GET / HTTP/1.1\r\nTraceParent: x\r\ntraceparentx: y\r\nsw8: z\r\n"
			  "tracestate-x: q\r\n\r\n";
	size_t len = strlen(msg);
	static struct hp_log l;
	l.names = true;
	hp_run(RS_HP_REQUEST, msg, len, NULL, 0, false, &l);
	CHECK(strstr(l.text, "[9:t][5:x]") && strstr(l.text, "[11:8][7:z]"));
	CHECK(!strstr(l.text, "[5:y]") && !strstr(l.text, "[10:"));
	/* Split inside the name: the same; split between the name and its colon: no rename. */
	size_t cut = (size_t)(strstr(msg, "Parent:") - msg) + 3;
	l.names = true;
	hp_run(RS_HP_REQUEST, msg, len, &cut, 1, false, &l);
	CHECK(strstr(l.text, "[9:t][5:x]") != NULL);
	cut = (size_t)(strstr(msg, "Parent:") - msg) + 6;
	l.names = true;
	hp_run(RS_HP_REQUEST, msg, len, &cut, 1, false, &l);
	CHECK(strstr(l.text, "[5:x]") && !strstr(l.text, "[9:"));
}

/* Header names are matched two ways: whole (by length, first byte and case-folded word compares)
 * when a name and its colon arrive together, byte by byte against every known name when a feed
 * splits them. For each known name and near misses of it (every byte swapped for a tchar that
 * folds to something else, case changes, one byte more or less), expect() checks that both ways
 * agree (whole, every cut, byte by byte), and a plain case-insensitive compare says whether the
 * header must have been recognised: its value captured, or its framing effect seen. */
static void test_name_variants(void)
{
	static const struct {
		const char *name, *value, *body, *seen;
	} known[] = {
		{"host", "v", "", "[3:v]"},
		{"user-agent", "v", "", "[4:v]"},
		{"traceparent", "v", "", "[5:v]"},
		{"tracestate", "v", "", "[6:v]"},
		{"sw8", "v", "", "[7:v]"},
		{"retry-after", "v", "", "[8:v]"},
		{"content-length", "1", "z", "f=2 "},
		{"transfer-encoding", "chunked", "0\r\n\r\n", "f=1 "},
		{"connection", "close", "", "f=4 "},
		{"upgrade", "x", "", "f=10 "},
	};
	static const char swaps[] = "^_~-|!x8A";
	char name[40], msg[200];
	for (size_t k = 0; k < RS_ARRAY_LEN(known); k++) {
		const char *canon = known[k].name;
		size_t n = strlen(canon);
		/* Variant v: 0 as is, 1 upper, 2 one byte longer, 3 one shorter, then swaps. */
		size_t variants = 4 + n * (sizeof(swaps) - 1) + n;
		for (size_t v = 0; v < variants; v++) {
			strcpy(name, canon);
			if (v == 0) {
				/* as it is */
			} else if (v == 1) {
				for (size_t i = 0; i < n; i++)
					if (name[i] >= 'a' && name[i] <= 'z')
						name[i] = (char)(name[i] - 32);
			} else if (v == 2) {
				strcat(name, "s");
			} else if (v == 3) {
				name[n - 1] = 0;
			} else if (v < 4 + n * (sizeof(swaps) - 1)) {
				size_t at = (v - 4) / (sizeof(swaps) - 1);
				name[at] = swaps[(v - 4) % (sizeof(swaps) - 1)];
			} else {
				size_t at = v - 4 - n * (sizeof(swaps) - 1);
				name[at] = (char)(name[at] ^ 0x20); /* case flip, or a non-letter's alias */
				if (!(name[at] >= 'A' && name[at] <= 'Z'))
					continue; /* the alias of '-' or a digit is not a tchar */
			}
			snprintf(msg, sizeof(msg), "POST / HTTP/1.1\r\n%s: %s\r\n\r\n%s", name,
				 known[k].value, known[k].body);
			expect(RS_HP_REQUEST, msg, false, "");
			static struct hp_log l;
			hp_run(RS_HP_REQUEST, msg, strlen(msg), NULL, 0, false, &l);
			bool same = strcasecmp(name, canon) == 0;
			if (same != (strstr(l.text, known[k].seen) != NULL)) {
				fprintf(stderr, "header name %s: %s\n", name, l.text);
				check_failures++;
			}
		}
	}
}

static void test_sniff(void)
{
	CHECK_EQ_U(rs_hp_sniff_response("HTTP/1.1 200", 12), 1);
	CHECK(rs_hp_sniff_response("HTTP/", 5) == -1);
	CHECK(rs_hp_sniff_response("220 smtp", 8) == 0);
}

/* A server's request parser without line-end events: the rest is reported as before, and the
 * head is parsed through in one feed. */
static void test_no_line_end(void)
{
	static const char req[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
	for (int quiet = 0; quiet < 2; quiet++) {
		struct rs_hp p;
		rs_hp_init(&p, RS_HP_REQUEST, 0, NULL, NULL);
		if (quiet)
			rs_hp_no_line_end(&p);
		enum rs_hp_event ev;
		size_t used = rs_hp_feed(&p, req, sizeof(req) - 1, &ev);
		if (!quiet) {
			CHECK(ev == RS_HP_LINE_END && used == 17);
			used += rs_hp_feed(&p, req + used, sizeof(req) - 1 - used, &ev);
		}
		CHECK(ev == RS_HP_HEAD_DONE && used == sizeof(req) - 1);
		rs_hp_feed(&p, "", 0, &ev);
		CHECK(ev == RS_HP_MSG_DONE);
	}
}

/* The word-at-a-time helpers against their byte-at-a-time meaning: every byte value in every
 * position of a word whose other bytes are random. */
static void test_word_helpers(void)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	for (unsigned v = 0; v < 256; v++)
		for (unsigned pos = 0; pos < 8; pos++)
			for (int round = 0; round < 8; round++) {
				seed = seed * 6364136223846793005ull + 1442695040888963407ull;
				uint64_t x = (seed & ~(0xffull << (8 * pos))) | (uint64_t)v << (8 * pos);
				unsigned char b[8];
				memcpy(b, &x, 8);
				uint64_t want;
				unsigned char l[8];
				bool space = false, tab = false;
				for (int k = 0; k < 8; k++) {
					l[k] = lower(b[k]);
					space |= b[k] == ' ';
					tab |= b[k] == '\t';
				}
				memcpy(&want, l, 8);
				CHECK(lower8(x) == want);
				CHECK(has_byte8(x, ' ') == space && has_byte8(x, '\t') == tab);
			}
}

int main(void)
{
	test_word_helpers();
	test_requests();
	test_responses();
	test_errors();
	test_names();
	test_name_variants();
	test_sniff();
	test_no_line_end();
	return check_result();
}
