/* The send path of an HTTP client connection (hooks/http_inject.c), driven through a transport
 * that takes a scripted number of bytes per call, with EAGAIN in between: for every way the
 * program's writes and the kernel's acceptance can cut the stream, the bytes on the wire are the
 * program's with one traceparent line after each request line and the program's own traceparent
 * renamed, and each call returns exactly how many of the program's bytes went out. Linked with
 * the shim's objects, so this binary runs under its own hooks. */
#include "../../hooks/conn.h"
#include "../../hooks/http.h"
#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char wire[8192];
static size_t wire_len;
static const int *budget; /* bytes the transport takes per call; 0 = EAGAIN */
static size_t nbudget, call;

static ssize_t fake_sendmsg(int fd, const struct msghdr *m, int flags)
{
	(void)fd, (void)flags;
	int take = budget[call++ % nbudget];
	if (take == 0) {
		errno = EAGAIN;
		return -1;
	}
	size_t got = 0;
	for (size_t i = 0; i < (size_t)m->msg_iovlen && got < (size_t)take; i++) {
		size_t k = RS_MIN(m->msg_iov[i].iov_len, (size_t)take - got);
		memcpy(wire + wire_len, m->msg_iov[i].iov_base, k);
		wire_len += k;
		got += k;
	}
	return (ssize_t)got;
}

static const char app[] = "GET /a HTTP/1.1\r\nHost: h\r\ntraceparent: "
			  "00-11111111111111111111111111111111-2222222222222222-01\r\n\r\n"
			  "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
			  "GET /c HTTP/1.1\r\n\r\n";

/* Removes our "traceparent: ...\r\n" lines from the wire, checking each sits right after a
 * request line; returns how many there were. */
static int strip_injected(char *w, size_t *len)
{
	int n = 0;
	for (char *p = w; (p = memmem(p, *len - (size_t)(p - w), "\r\ntraceparent: 00-", 18));) {
		char *line = p + 2;
		/* Ours follow a request line: the line before ends in the HTTP version. */
		if (p - w < 8 || memcmp(p - 8, "HTTP/1.1", 8) != 0) {
			p += 2;
			continue;
		}
		size_t l = 13 + 55 + 2;
		memmove(line, line + l, *len - (size_t)(line + l - w));
		*len -= l;
		n++;
	}
	return n;
}

static void run(size_t app_chunk, const int *plan, size_t nplan)
{
	struct rs_conn c;
	memset(&c, 0, sizeof(c));
	atomic_store(&c.state, RS_CONN_CLIENT);
	c.peer.family = AF_INET;
	c.peer.port = 80;
	wire_len = 0;
	budget = plan;
	nbudget = nplan;
	call = 0;
	size_t sent = 0, total = sizeof(app) - 1;
	int guard = 0;
	while (sent < total && guard++ < 100000) {
		size_t want = RS_MIN(app_chunk, total - sent);
		struct iovec v = {(char *)app + sent, want};
		struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
		ssize_t r = rs_conn_send(&c, -1, &m, 0, fake_sendmsg);
		if (r < 0) {
			CHECK_EQ_U(errno, EAGAIN);
			continue;
		}
		CHECK((size_t)r <= want);
		sent += (size_t)r;
	}
	CHECK_EQ_U(sent, total);
	/* Injected bytes go out before the program's next byte, so none are left once its last
	 * byte has been sent. */
	CHECK(!c.http || c.http->inj_pending_len == 0);
	char w[8192];
	memcpy(w, wire, wire_len);
	size_t wl = wire_len;
	int injected = strip_injected(w, &wl);
	CHECK_EQ_U(injected, 3);
	/* The program's own traceparent went out renamed by one byte, or (when a write ended
	 * between its name and its colon) as it was; never anything else. */
	char *own = memmem(w, wl, "traceparenx: 00-1111", 20);
	if (own)
		own[10] = 't';
	if (app_chunk == 1000 && plan[0] >= 40)
		CHECK(own != NULL); /* whole headers in one write: always renamed */
	if (wl != total || memcmp(w, app, total) != 0) {
		fprintf(stderr, "chunk %zu, plan starting %d: the wire differs from the program's bytes\n",
			app_chunk, plan[0]);
		check_failures++;
	}
	if (c.http) {
		rs_http_close(&c, c.http, RS_HTTP_END_ABORTED);
		c.http = NULL;
	}
}

int main(void)
{
	static const size_t chunks[] = {1, 2, 7, 40, 1000};
	for (size_t ci = 0; ci < RS_ARRAY_LEN(chunks); ci++) {
		/* The transport takes k bytes per call, every k from 1 to 80 (the injected line is
		 * 70), and sometimes says EAGAIN. */
		for (int k = 1; k <= 80; k++) {
			int plan[] = {k};
			run(chunks[ci], plan, 1);
			int plan2[] = {k, 0, k + 3, 0, 0};
			run(chunks[ci], plan2, 5);
		}
	}
	return check_result();
}
