/* The gRPC client against an HTTP/2 server built on nghttp2's server side (a thread of this test),
 * on both loop backends: concurrent calls and a client stream on one connection, metadata and
 * grpc-timeout, gzip both ways, a trailers-only error, an HTTP status without grpc-status, a
 * deadline (the server sees RST_STREAM CANCEL), a 64 MiB answer refused while the connection
 * lives on, GOAWAY then a reconnect, close with a call open, and a refused connection. The
 * server does what grpc-js cannot be made to do; the grpc-js peer is in the integration tests. */
#include "../../io/grpc_client.h"
#include "../../preload/thread.h"
#include "../../proto/gzip.h"
#include "check.h"
#include "loopback.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- the server --- */

static struct {
	int ls;
	uint16_t port;
	_Atomic bool stop;
	_Atomic int conns, rst_cancel, gzip_msgs;
	_Atomic uint64_t huge_sent;
	char tenant[64], timeout[32];
	_Atomic bool te_ok;
} S;

struct sstream {
	char path[64];
	size_t body;
	bool first_seen;
	uint8_t reply[256];
	size_t reply_len, reply_off;
	bool huge;
};

struct sconn {
	int fd;
	bool close_after_send;
};

static ssize_t srv_send(nghttp2_session *s, const uint8_t *d, size_t n, int flags, void *user)
{
	(void)s, (void)flags;
	struct sconn *k = user;
	for (size_t off = 0; off < n;) {
		ssize_t w = send(k->fd, d + off, n - off, MSG_NOSIGNAL);
		if (w <= 0)
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		off += (size_t)w;
	}
	return (ssize_t)n;
}

static int srv_begin(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	(void)user;
	if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
		nghttp2_session_set_stream_user_data(s, f->hd.stream_id,
						     calloc(1, sizeof(struct sstream)));
	return 0;
}

static int srv_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
		      const uint8_t *value, size_t vl, uint8_t flags, void *user)
{
	(void)flags, (void)user;
	struct sstream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (!st)
		return 0;
	char v[128];
	snprintf(v, sizeof(v), "%.*s", (int)vl, (const char *)value);
	if (nl == 5 && memcmp(name, ":path", 5) == 0)
		snprintf(st->path, sizeof(st->path), "%.63s", v);
	else if (nl == 8 && memcmp(name, "x-tenant", 8) == 0)
		snprintf(S.tenant, sizeof(S.tenant), "%.63s", v);
	else if (nl == 12 && memcmp(name, "grpc-timeout", 12) == 0)
		snprintf(S.timeout, sizeof(S.timeout), "%.31s", v);
	else if (nl == 2 && memcmp(name, "te", 2) == 0)
		S.te_ok = strcmp(v, "trailers") == 0;
	return 0;
}

static int srv_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t n,
		    void *user)
{
	(void)flags, (void)user;
	struct sstream *st = nghttp2_session_get_stream_user_data(s, id);
	if (!st)
		return 0;
	if (!st->first_seen && n) {
		st->first_seen = true;
		if (d[0] == 1)
			S.gzip_msgs++;
	}
	st->body += n;
	/* Window updates by hand: the "early" stream is given none, so its request cannot finish.
	 */
	if (strcmp(st->path, "/test.Service/early") == 0)
		nghttp2_session_consume_connection(s, n);
	else
		nghttp2_session_consume(s, id, n);
	return 0;
}

static ssize_t srv_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
			nghttp2_data_source *src, void *user)
{
	(void)src, (void)user;
	struct sstream *st = nghttp2_session_get_stream_user_data(s, id);
	if (st->huge) { /* a 64 MiB message, without end */
		size_t n = RS_MIN(len, (size_t)16384);
		memset(buf, 'x', n);
		if (S.huge_sent == 0)
			memcpy(buf, "\0\x04\0\0\0", 5);
		S.huge_sent += n;
		return (ssize_t)n;
	}
	size_t n = RS_MIN(len, st->reply_len - st->reply_off);
	memcpy(buf, st->reply + st->reply_off, n);
	st->reply_off += n;
	if (st->reply_off == st->reply_len) {
		*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
		nghttp2_nv tr[] = {{(uint8_t *)"grpc-status", (uint8_t *)"0", 11, 1, 0}};
		nghttp2_submit_trailer(s, id, tr, 1);
	}
	return (ssize_t)n;
}

#define HNV(n, v)                                                                                  \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE         \
	}

static void respond(nghttp2_session *s, int32_t id, struct sstream *st, struct sconn *k)
{
	const char *m = strrchr(st->path, '/');
	m = m ? m + 1 : "";
	nghttp2_data_provider prd = {.read_callback = srv_read};
	nghttp2_nv ok[] = {HNV(":status", "200"), HNV("content-type", "application/grpc"),
			   HNV("grpc-encoding", "gzip")};
	if (strcmp(m, "ok") == 0 || strcmp(m, "gzip") == 0) {
		char text[64];
		snprintf(text, sizeof(text), "pong:%zu", st->body);
		struct rs_buf b = {0};
		rs_grpc_frame(&b, text, strlen(text), strcmp(m, "gzip") == 0);
		memcpy(st->reply, b.p, b.len);
		st->reply_len = b.len;
		rs_buf_free(&b);
		nghttp2_submit_response(s, id, ok, strcmp(m, "gzip") == 0 ? 3 : 2, &prd);
	} else if (strcmp(m, "trailers_only") == 0) {
		nghttp2_nv nv[] = {HNV(":status", "200"), HNV("content-type", "application/grpc"),
				   HNV("grpc-status", "7"), HNV("grpc-message", "no%20way%ZZ")};
		nghttp2_submit_response(s, id, nv, 4, NULL);
	} else if (strcmp(m, "http503") == 0) {
		nghttp2_nv nv[] = {HNV(":status", "503")};
		nghttp2_submit_response(s, id, nv, 1, NULL);
	} else if (strcmp(m, "huge") == 0) {
		st->huge = true;
		nghttp2_submit_response(s, id, ok, 2, &prd);
	} else if (strcmp(m, "goaway") == 0) {
		nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, 0, NGHTTP2_NO_ERROR, NULL, 0);
		k->close_after_send = true;
	} /* "stall": never answered */
}

static int srv_frame(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	if (f->hd.type == NGHTTP2_RST_STREAM && f->rst_stream.error_code == NGHTTP2_CANCEL)
		S.rst_cancel++;
	struct sstream *early = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (f->hd.type == NGHTTP2_HEADERS && early &&
	    strcmp(early->path, "/test.Service/early") == 0) {
		/* Refused as soon as the request's headers are in, as a size limit would. */
		nghttp2_nv nv[] = {HNV(":status", "200"), HNV("content-type", "application/grpc"),
				   HNV("grpc-status", "8"), HNV("grpc-message", "too big")};
		nghttp2_submit_response(s, f->hd.stream_id, nv, 4, NULL);
		return 0;
	}
	if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) &&
	    (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
		struct sstream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
		if (st)
			respond(s, f->hd.stream_id, st, user);
	}
	return 0;
}

static int srv_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
	(void)code, (void)user;
	free(nghttp2_session_get_stream_user_data(s, id));
	return 0;
}

static void serve(int fd)
{
	struct sconn k = {.fd = fd};
	nghttp2_session_callbacks *cb;
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_send_callback(cb, srv_send);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cb, srv_begin);
	nghttp2_session_callbacks_set_on_header_callback(cb, srv_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, srv_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, srv_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, srv_close);
	nghttp2_session *s;
	nghttp2_option *opt;
	nghttp2_option_new(&opt);
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_session_server_new2(&s, cb, &k, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0);
	while (!S.stop) {
		if (nghttp2_session_send(s) != 0 || k.close_after_send)
			break;
		if (!nghttp2_session_want_read(s) && !nghttp2_session_want_write(s))
			break;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		uint8_t buf[16384];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0 || nghttp2_session_mem_recv(s, buf, (size_t)n) < 0)
			break;
	}
	nghttp2_session_del(s);
	close(fd);
}

static void *server(void *arg)
{
	(void)arg;
	rs_thread_set_internal();
	while (!S.stop) {
		struct pollfd p = {.fd = S.ls, .events = POLLIN};
		if (poll(&p, 1, 50) <= 0)
			continue;
		int fd = accept(S.ls, NULL, NULL);
		if (fd < 0)
			continue;
		int one = 1; /* as gRPC servers do; else Nagle holds back WINDOW_UPDATEs */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		S.conns++;
		serve(fd);
	}
	return NULL;
}

/* --- the client --- */

struct result {
	bool done;
	int status;
	char message[256], reply[256];
	size_t len;
};

static bool in_client; /* done must never run inside rs_grpc_call or rs_grpc_client_close */

static void on_done(void *arg, int status, const char *message, const void *reply, size_t len)
{
	struct result *r = arg;
	CHECK(!in_client);
	CHECK(!r->done);
	r->done = true;
	r->status = status;
	snprintf(r->message, sizeof(r->message), "%s", message);
	r->len = len;
	if (len)
		memcpy(r->reply, reply, RS_MIN(len, sizeof(r->reply) - 1));
}

static struct rs_loop L;

static void start(struct rs_grpc_client *c, const char *method, const struct rs_buf *body,
		  bool gzip, uint64_t timeout_ns, struct result *r)
{
	char path[64];
	snprintf(path, sizeof(path), "/test.Service/%s", method);
	memset(r, 0, sizeof(*r));
	in_client = true;
	CHECK(rs_grpc_call(c, path, body->p, body->len, gzip, timeout_ns, on_done, r) > 0);
	in_client = false;
}

static void wait_for(struct result *r)
{
	for (int i = 0; i < 1000 && !r->done; i++)
		rs_loop_run(&L, 10000000);
	CHECK(r->done);
}

static struct result call(struct rs_grpc_client *c, const char *method, const struct rs_buf *body,
			  bool gzip, uint64_t timeout_ns)
{
	struct result r;
	start(c, method, body, gzip, timeout_ns, &r);
	wait_for(&r);
	return r;
}

static void run(enum rs_io_mode mode)
{
	CHECK_EQ_U(rs_loop_prepare(&L), 0);
	CHECK_EQ_U(rs_loop_init(&L, mode), 0);
	S.conns = S.rst_cancel = S.gzip_msgs = 0;
	S.huge_sent = 0;
	struct rs_endpoint ep = {.host = "127.0.0.1", .port = S.port};
	struct rs_grpc_client *c =
	    rs_grpc_client_new(&L, &ep, "x-tenant: blue team\r\nte: nope\r\ngrpc-timeout: 1H\r\n");
	CHECK(c != NULL);
	struct rs_buf ping = {0}, stream = {0}, zipped = {0};
	rs_grpc_frame(&ping, "ping", 4, false);
	rs_grpc_frame(&stream, "one", 3, false);
	rs_grpc_frame(&stream, "two", 3, false);
	rs_grpc_frame(&zipped, "ping", 4, true);
	const uint64_t sec = 1000000000ull;

	/* Two calls at once on one connection, one of them a client stream of two messages. */
	struct result a, b;
	start(c, "ok", &ping, false, 5 * sec, &a);
	start(c, "ok", &stream, false, 5 * sec, &b);
	CHECK_EQ_U(rs_grpc_open_calls(c), 2);
	wait_for(&a);
	wait_for(&b);
	CHECK(a.status == 0 && strcmp(a.reply, "pong:9") == 0);
	CHECK(b.status == 0 && strcmp(b.reply, "pong:16") == 0);
	CHECK_EQ_U(rs_grpc_open_calls(c), 0);
	CHECK(strcmp(S.tenant, "blue team") == 0);
	CHECK(S.te_ok); /* the metadata's te did not replace the protocol's */
	CHECK(strcmp(S.timeout, "5000m") == 0);

	/* A body far larger than the server's flow-control window: sent as the window opens. */
	struct rs_buf big = {0};
	char *junk = malloc(3u << 20);
	memset(junk, 'j', 3u << 20);
	rs_grpc_frame(&big, junk, 3u << 20, false);
	free(junk);
	struct result r = call(c, "ok", &big, false, 20 * sec);
	char want[32];
	snprintf(want, sizeof(want), "pong:%zu", big.len);
	CHECK(r.status == 0 && strcmp(r.reply, want) == 0);

	/* Refused before the request is all sent (the server opens no window for it): the answer
	 * ends the call, not the deadline; the connection goes on. */
	r = call(c, "early", &big, false, 20 * sec);
	CHECK(r.status == 8 && strcmp(r.message, "too big") == 0);
	r = call(c, "ok", &ping, false, 5 * sec);
	CHECK(r.status == 0);
	rs_buf_free(&big);

	/* gzip both ways. */
	r = call(c, "gzip", &zipped, true, 5 * sec);
	CHECK(r.status == 0 && strncmp(r.reply, "pong:", 5) == 0);
	CHECK_EQ_U(S.gzip_msgs, 1);

	/* Errors: trailers-only, and an HTTP status without grpc-status. */
	r = call(c, "trailers_only", &ping, false, 5 * sec);
	CHECK(r.status == 7 && strcmp(r.message, "no way%ZZ") == 0);
	r = call(c, "http503", &ping, false, 5 * sec);
	CHECK(r.status == 14);

	/* The deadline: -ETIMEDOUT here, RST_STREAM CANCEL there, the connection stays. */
	r = call(c, "stall", &ping, false, sec / 5);
	CHECK(r.status == -ETIMEDOUT);
	r = call(c, "ok", &ping, false, 5 * sec);
	CHECK(r.status == 0);
	CHECK_EQ_U(S.rst_cancel, 1);

	/* 64 MiB announced: refused at once, reset, and far less than that was sent. */
	r = call(c, "huge", &ping, false, 5 * sec);
	CHECK(r.status == -EMSGSIZE);
	r = call(c, "ok", &ping, false, 5 * sec);
	CHECK(r.status == 0);
	CHECK(S.huge_sent < (3u << 20)); /* the window, not the 4 MiB bound, limits it */
	CHECK_EQ_U(S.rst_cancel, 2);
	CHECK_EQ_U(S.conns, 1);

	/* GOAWAY: the call was not processed (UNAVAILABLE); the next one reconnects. */
	r = call(c, "goaway", &ping, false, 5 * sec);
	CHECK(r.status == 14);
	r = call(c, "ok", &ping, false, 5 * sec);
	CHECK(r.status == 0);
	CHECK_EQ_U(S.conns, 2);

	/* Close with a call open: it ends with -ECONNABORTED, from the loop. */
	start(c, "stall", &ping, false, 5 * sec, &r);
	for (int i = 0; i < 5; i++)
		rs_loop_run(&L, 10000000);
	in_client = true;
	rs_grpc_client_close(c);
	in_client = false;
	CHECK(!r.done);
	wait_for(&r);
	CHECK(r.status == -ECONNABORTED);

	/* A peer that accepts and then says nothing, not even SETTINGS (gone without a FIN): the
	 * call times out, an unanswered PING condemns the connection, the next call reconnects. */
	int quiet = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in qa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t ql = sizeof(qa);
	bind(quiet, (struct sockaddr *)&qa, sizeof(qa));
	listen(quiet, 8);
	getsockname(quiet, (struct sockaddr *)&qa, &ql);
	struct rs_endpoint qep = {.host = "127.0.0.1", .port = ntohs(qa.sin_port)};
	struct rs_grpc_client *mute = rs_grpc_client_new(&L, &qep, NULL);
	r = call(mute, "ok", &ping, false, sec / 5);
	CHECK(r.status == -ETIMEDOUT);
	r = call(mute, "ok", &ping, false, 3 * sec); /* outlives the PING's 2 s */
	CHECK(r.status == -ECONNRESET || r.status == -ETIMEDOUT);
	r = call(mute, "ok", &ping, false, sec / 5);
	CHECK(r.status == -ETIMEDOUT);
	int accepted = 0, fd;
	while ((fd = accept(quiet, NULL, NULL)) >= 0) {
		accepted++;
		close(fd);
	}
	CHECK_EQ_U(accepted, 2); /* the dead connection was dropped, the last call had a new one */
	close(quiet);

	/* Nobody listening. */
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	bind(ls, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(ls, (struct sockaddr *)&sa, &sl);
	close(ls);
	ep.port = ntohs(sa.sin_port);
	struct rs_grpc_client *gone = rs_grpc_client_new(&L, &ep, NULL);
	r = call(gone, "ok", &ping, false, 5 * sec);
	CHECK(r.status == -ECONNREFUSED);

	for (int i = 0; i < 20; i++) /* let closed sockets' operations complete */
		rs_loop_run(&L, 10000000);
	rs_buf_free(&ping);
	rs_buf_free(&stream);
	rs_buf_free(&zipped);
}

int main(void)
{
	rs_thread_set_internal();
	struct sockaddr_in a;
	S.ls = loopback_listen(8, &a);
	if (S.ls < 0)
		return 1;
	S.port = ntohs(a.sin_port);
	pthread_t t;
	pthread_create(&t, NULL, server, NULL);
	run(RS_IO_POLL);
	run(RS_IO_URING);
	S.stop = true;
	pthread_join(t, NULL);
	close(S.ls);
	return check_result();
}
