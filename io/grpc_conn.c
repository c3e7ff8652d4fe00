/* The gRPC client's HTTP/2 connection (see grpc_int.h): nghttp2 frames and parses, and its bytes
 * move through the reporter's loop: one send at a time out of a buffer filled by
 * nghttp2_session_mem_send, one receive always armed while the connection is open, fed to
 * nghttp2_session_mem_recv. nghttp2's callbacks only record what arrived; done callbacks run after
 * nghttp2 has returned (rs_grpc_deliver), so they may start or drop calls freely. A connection
 * outlives its socket until every loop operation on it has completed (a closed socket's
 * operations complete later, with an error). */
#include "../preload/clock.h"
#include "grpc_int.h"
#include "grpc_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONN_OF(op, field) ((struct conn *)((char *)(op)-offsetof(struct conn, field)))

/* Ends a call (once); its done callback runs from rs_grpc_deliver(). */
void rs_grpc_finish(struct call *call, int result)
{
	if (call->state != CALL_OPEN)
		return;
	if (call->stream > 0 && call->conn && !call->conn->dead)
		nghttp2_session_set_stream_user_data(call->conn->s, call->stream, NULL);
	call->state = CALL_DONE;
	call->result = result;
}

/* The stream ends early: RST_STREAM CANCEL goes out, the call ends with err. */
void rs_grpc_abandon(struct call *call, int err)
{
	struct conn *k = call->conn;
	if (call->stream > 0 && k && !k->dead)
		nghttp2_submit_rst_stream(k->s, NGHTTP2_FLAG_NONE, call->stream, NGHTTP2_CANCEL);
	rs_grpc_finish(call, err);
}

void rs_grpc_conn_kill(struct conn *k, int err)
{
	if (k->dead)
		return;
	k->dead = true;
	struct rs_grpc_client *c = k->c;
	for (size_t i = 0; i < MAX_CALLS; i++)
		if (c->calls[i].state == CALL_OPEN && c->calls[i].conn == k)
			rs_grpc_finish(&c->calls[i], err);
	if (c->conn == k)
		c->conn = NULL;
	if (c->ping_pending && c->ping_conn == k->id)
		c->ping_pending = false; /* nothing left to ask about */
	rs_loop_close(c->loop, k->sock); /* what is in flight completes later, with an error */
	rs_tls_free(k->tls);		 /* ... and through TLS, too */
	k->tls = NULL;
}

/* Frees a dead connection once nothing in the loop refers to it. */
void rs_grpc_release(struct conn *k)
{
	if (!k->dead || k->holds)
		return;
	nghttp2_session_del(k->s);
	rs_buf_free(&k->out);
	free(k);
}

/* --- nghttp2's callbacks: record what arrived --- */

static struct call *stream_call(nghttp2_session *s, int32_t id)
{
	return id > 0 ? nghttp2_session_get_stream_user_data(s, id) : NULL;
}

/* The length in the first message's prefix (at least 5 bytes arrived). */
static size_t prefix_len(const struct call *call)
{
	const uint8_t *d = (const uint8_t *)call->data.p;
	return (size_t)((uint32_t)d[1] << 24 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 8 | d[4]);
}

static int small_number(const uint8_t *v, size_t n)
{
	if (n == 0 || n > 4)
		return -2;
	int x = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -2;
		x = x * 10 + (v[i] - '0');
	}
	return x;
}

static bool name_is(const uint8_t *name, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(name, want, n) == 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
		     void *user)
{
	(void)flags;
	(void)user;
	struct call *call = stream_call(s, frame->hd.stream_id);
	if (frame->hd.type != NGHTTP2_HEADERS || !call)
		return 0;
	if (name_is(name, namelen, ":status")) {
		call->http = RS_MAX(small_number(value, valuelen), 0);
	} else if (name_is(name, namelen, "grpc-status")) {
		call->grpc = small_number(value, valuelen);
	} else if (name_is(name, namelen, "grpc-message")) {
		rs_grpc_message_text(value, valuelen, call->message, sizeof(call->message));
	} else if (name_is(name, namelen, "grpc-status-details-bin")) {
		if (valuelen < sizeof(call->details)) {
			memcpy(call->details, value, valuelen);
			call->details[valuelen] = 0;
		}
	} else if (name_is(name, namelen, "grpc-encoding")) {
		call->resp_gzip = valuelen == 4 && memcmp(value, "gzip", 4) == 0;
	}
	return 0;
}

/* DATA keeps the first message only, and refuses an answer over MAX_REPLY as soon as its prefix
 * (or its running total) says so, without waiting for the rest. */
static int on_data(nghttp2_session *s, uint8_t flags, int32_t stream, const uint8_t *data,
		   size_t len, void *user)
{
	(void)flags;
	(void)user;
	struct call *call = stream_call(s, stream);
	if (!call)
		return 0;
	call->data_total += len;
	if (call->data_total > MAX_REPLY + 5) {
		rs_grpc_abandon(call, -EMSGSIZE);
		return 0;
	}
	size_t want = call->data.len >= 5 ? 5 + prefix_len(call) : 5;
	while (len && call->data.len < want) {
		size_t k = RS_MIN(len, want - call->data.len);
		rs_buf_put(&call->data, data, k);
		if (rs_buf_failed(&call->data)) {
			rs_grpc_abandon(call, -ENOMEM);
			return 0;
		}
		data += k;
		len -= k;
		if (call->data.len == 5) {
			if (prefix_len(call) > MAX_REPLY) {
				rs_grpc_abandon(call, -EMSGSIZE);
				return 0;
			}
			want = 5 + prefix_len(call);
		}
	}
	return 0;
}

/* How the answer ends the call, once the server's side of the stream has ended (code: the
 * RST_STREAM error, if it was reset). */
static int answer_status(const struct call *call, uint32_t code)
{
	int r;
	if (call->grpc >= 0)
		r = call->grpc <= 16 ? call->grpc : 2; /* an unknown code is UNKNOWN */
	else if (call->http && call->http != 200)
		r = rs_grpc_status_of_http(call->http);
	else if (code != NGHTTP2_NO_ERROR)
		r = rs_grpc_status_of_rst(code);
	else
		r = -EPROTO; /* ended without a status */
	if (r == 0 && call->data.len &&
	    (call->data.len < 5 || call->data.len - 5 != prefix_len(call)))
		r = -EPROTO; /* a message cut short */
	return r;
}

static int on_close(nghttp2_session *s, int32_t stream, uint32_t code, void *user)
{
	(void)user;
	struct call *call = stream_call(s, stream);
	if (call)
		rs_grpc_finish(call, answer_status(call, code));
	return 0;
}

static int on_frame(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
	struct conn *k = user;
	struct call *call = stream_call(s, frame->hd.stream_id);
	if (call && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
	    (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
	    !nghttp2_session_get_stream_local_close(s, frame->hd.stream_id)) {
		/* The server answered before the request was all sent (a refusal): the call ends
		 * now, and the rest of the request is not sent (RST_STREAM NO_ERROR). */
		rs_grpc_finish(call, answer_status(call, NGHTTP2_NO_ERROR));
		nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
					  NGHTTP2_NO_ERROR);
	}
	if (frame->hd.type == NGHTTP2_GOAWAY) {
		/* Streams above its last id end as REFUSED_STREAM (nghttp2 closes them); the
		 * others may still be answered here. New calls go to a new connection. */
		k->goaway = true;
		if (k->c->conn == k)
			k->c->conn = NULL;
	}
	return 0;
}

static int on_frame_sent(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
	(void)s;
	struct conn *k = user;
	if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR)
		k->proto_error = true;
	return 0;
}

static ssize_t read_body(nghttp2_session *s, int32_t stream, uint8_t *buf, size_t length,
			 uint32_t *flags, nghttp2_data_source *src, void *user)
{
	(void)src;
	(void)user;
	struct call *call = stream_call(s, stream);
	if (!call)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* the call is gone: reset */
	size_t n = RS_MIN(length, call->len - call->off);
	memcpy(buf, call->body + call->off, n);
	call->off += n;
	if (call->off == call->len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* --- calls onto the connection --- */

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE         \
	}

void rs_grpc_submit(struct call *call)
{
	struct conn *k = call->conn;
	struct rs_grpc_client *c = k->c;
	char timeout[24];
	rs_grpc_timeout_text(call->deadline - RS_MIN(call->deadline, rs_mono_ns()), timeout,
			     sizeof(timeout));
	nghttp2_nv nv[12 + MAX_META] = {
	    NV(":method", "POST"),
	    NV(":scheme", k->tls ? "https" : "http"),
	    NV(":path", call->path),
	    NV(":authority", c->authority),
	    NV("grpc-timeout", timeout),
	    NV("content-type", "application/grpc"),
	    NV("te", "trailers"),
	    NV("user-agent", "ringside/" RS_VERSION),
	    NV("grpc-accept-encoding", "identity,gzip"),
	};
	size_t n = 9;
	if (call->gzip)
		nv[n++] = (nghttp2_nv)NV("grpc-encoding", "gzip");
	memcpy(nv + n, c->meta, c->nmeta * sizeof(nv[0]));
	n += c->nmeta;
	nghttp2_data_provider prd = {.read_callback = read_body};
	int32_t id = nghttp2_submit_request(k->s, NULL, nv, n, &prd, call);
	if (id < 0) {
		/* Stream ids ran out, or the session is closing: the next call reconnects. */
		rs_grpc_finish(call, id == NGHTTP2_ERR_NOMEM ? -ENOMEM : -ECONNRESET);
		if (c->conn == k)
			c->conn = NULL;
		k->goaway = true;
		return;
	}
	call->stream = id;
}

bool rs_grpc_conn_has_calls(const struct conn *k)
{
	for (size_t i = 0; i < MAX_CALLS; i++)
		if (k->c->calls[i].state == CALL_OPEN && k->c->calls[i].conn == k)
			return true;
	return false;
}

static void on_send(struct rs_loop_op *op, int res);
static void on_recv(struct rs_loop_op *op, int res);

static void start_send(struct conn *k)
{
	/* Bounded by the latest deadline of its calls: a peer that stops reading cannot hold the
	 * connection longer than the calls on it may take. */
	uint64_t now = rs_mono_ns(), t = SEND_MIN_NS;
	for (size_t i = 0; i < MAX_CALLS; i++) {
		const struct call *call = &k->c->calls[i];
		if (call->state == CALL_OPEN && call->conn == k && call->deadline > now)
			t = RS_MAX(t, call->deadline - now);
	}
	k->sending = true;
	k->holds++;
	const void *p = k->out.p + k->out_off;
	size_t n = k->out.len - k->out_off;
	if ((k->tls ? rs_tls_send(k->tls, p, n, t, &k->send_op)
		    : rs_loop_send(k->c->loop, k->sock, p, n, t, &k->send_op)) < 0) {
		k->sending = false;
		k->holds--;
		rs_grpc_conn_kill(k, -EBUSY);
	}
}

/* Moves whatever nghttp2 wants to send into the loop, and keeps a receive armed. */
void rs_grpc_pump(struct conn *k)
{
	if (k->dead || !k->connected)
		return;
	if (!k->sending) {
		k->out.len = 0;
		k->out_off = 0;
		while (k->out.len < SEND_CHUNK) {
			const uint8_t *p;
			ssize_t n = nghttp2_session_mem_send(k->s, &p);
			if (n < 0) {
				rs_grpc_conn_kill(k, -EPROTO);
				return;
			}
			if (n == 0)
				break;
			rs_buf_put(&k->out, p, (size_t)n);
		}
		if (rs_buf_failed(&k->out)) {
			k->out.failed = false;
			rs_grpc_conn_kill(k, -ENOMEM);
			return;
		}
		if (k->out.len)
			start_send(k);
	}
	if (k->dead)
		return;
	bool idle = !rs_grpc_conn_has_calls(k);
	if ((k->goaway && idle && !k->sending) ||
	    (!nghttp2_session_want_read(k->s) && !nghttp2_session_want_write(k->s))) {
		rs_grpc_conn_kill(k, k->proto_error ? -EPROTO : -ECONNRESET);
		return;
	}
	if (!k->recv_armed) {
		k->recv_armed = true;
		k->holds++;
		/* No timeout: deadlines are the timers' business, and an idle connection
		 * costs nothing. */
		if ((k->tls ? rs_tls_recv(k->tls, k->rbuf, sizeof(k->rbuf), 0, &k->recv_op)
			    : rs_loop_recv(k->c->loop, k->sock, k->rbuf, sizeof(k->rbuf), 0,
					   &k->recv_op)) < 0) {
			k->recv_armed = false;
			k->holds--;
			rs_grpc_conn_kill(k, -EBUSY);
		}
	}
}

static void on_send(struct rs_loop_op *op, int res)
{
	struct conn *k = CONN_OF(op, send_op);
	struct rs_grpc_client *c = k->c;
	k->sending = false;
	if (!k->dead) {
		if (res <= 0) {
			rs_grpc_conn_kill(k, res < 0 ? res : -EPIPE);
		} else {
			k->out_off += (size_t)res;
			if (k->out_off < k->out.len)
				start_send(k);
			else
				rs_grpc_pump(k);
		}
	}
	k->holds--;
	rs_grpc_release(k);
	rs_grpc_deliver(c);
}

static void on_recv(struct rs_loop_op *op, int res)
{
	struct conn *k = CONN_OF(op, recv_op);
	struct rs_grpc_client *c = k->c;
	k->recv_armed = false;
	if (!k->dead) {
		if (res == 0) {
			rs_grpc_conn_kill(k, k->proto_error ? -EPROTO : -ECONNRESET);
		} else if (res < 0) {
			rs_grpc_conn_kill(k, res);
		} else {
			k->last_rx = rs_mono_ns();
			if (nghttp2_session_mem_recv(k->s, k->rbuf, (size_t)res) < 0)
				rs_grpc_conn_kill(k, -EPROTO);
		}
		rs_grpc_pump(k);
	}
	k->holds--;
	rs_grpc_release(k);
	rs_grpc_deliver(c);
}

static void on_connect(struct rs_loop_op *op, int res)
{
	struct conn *k = CONN_OF(op, conn_op);
	struct rs_grpc_client *c = k->c;
	if (!k->dead) {
		if (res < 0) {
			c->addr_len = 0; /* resolve again next time */
			rs_grpc_conn_kill(k, res);
		} else if (c->ep.tls && !(k->tls = rs_tls_new(c->tls_ctx, c->loop, k->sock,
								      c->ep.host, &res))) {
			rs_grpc_conn_kill(k, res);
		} else {
			/* With TLS, the handshake runs within the first send (the preface). */
			k->connected = true;
			for (size_t i = 0; i < MAX_CALLS; i++)
				if (c->calls[i].state == CALL_OPEN && c->calls[i].conn == k &&
				    !c->calls[i].stream)
					rs_grpc_submit(&c->calls[i]);
			rs_grpc_pump(k);
		}
	}
	k->holds--;
	rs_grpc_release(k);
	rs_grpc_deliver(c);
}

static struct conn *conn_new(struct rs_grpc_client *c, int *err)
{
	struct conn *k = calloc(1, sizeof(*k));
	nghttp2_session_callbacks *cb = NULL;
	*err = -ENOMEM;
	if (!k || nghttp2_session_callbacks_new(&cb) != 0) {
		free(k);
		return NULL;
	}
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame);
	nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_sent);
	int e = nghttp2_session_client_new(&k->s, cb, k);
	nghttp2_session_callbacks_del(cb);
	if (e != 0) {
		free(k);
		return NULL;
	}
	nghttp2_settings_entry iv[] = {
	    {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
	    {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, WINDOW},
	    {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 65536},
	};
	if (nghttp2_submit_settings(k->s, NGHTTP2_FLAG_NONE, iv, RS_ARRAY_LEN(iv)) != 0 ||
	    nghttp2_session_set_local_window_size(k->s, NGHTTP2_FLAG_NONE, 0, WINDOW) != 0) {
		nghttp2_session_del(k->s);
		free(k);
		return NULL;
	}
	k->c = c;
	k->id = ++c->conn_ids;
	k->sock = -1;
	k->conn_op.cb = on_connect;
	k->send_op.cb = on_send;
	k->recv_op.cb = on_recv;
	*err = 0;
	return k;
}

/* Opens a connection for the calls waiting for one; they end with the error if it cannot be. */
void rs_grpc_connect(struct rs_grpc_client *c)
{
	int e = 0;
	struct conn *k = NULL;
	if (c->ep.tls && !c->tls_ctx)
		e = -EPROTONOSUPPORT;
	else if (!c->addr_len && (e = rs_resolve(c->ep.host, c->ep.port, &c->addr, &c->addr_len)) < 0)
		c->addr_len = 0;
	if (e == 0)
		k = conn_new(c, &e);
	if (k && (k->sock = rs_loop_socket(c->loop, c->addr.ss_family)) < 0) {
		e = k->sock;
		nghttp2_session_del(k->s);
		free(k);
		k = NULL;
	}
	uint64_t earliest = CONNECT_TIMEOUT_NS;
	for (size_t i = 0; i < MAX_CALLS; i++) {
		struct call *call = &c->calls[i];
		if (call->state != CALL_OPEN || call->conn)
			continue;
		if (!k) {
			rs_grpc_finish(call, e);
			continue;
		}
		call->conn = k;
		uint64_t now = rs_mono_ns();
		earliest = RS_MIN(earliest, call->deadline > now ? call->deadline - now : 1000000);
	}
	if (!k)
		return;
	c->conn = k;
	k->holds++;
	if (rs_loop_connect(c->loop, k->sock, (struct sockaddr *)&c->addr, c->addr_len,
			    RS_MAX(earliest, 1000000ull), &k->conn_op) < 0) {
		k->holds--;
		rs_grpc_conn_kill(k, -EBUSY);
		rs_grpc_release(k);
	}
}
