/* The reporter's gRPC client (see grpc_client.h): calls, their deadlines and the delivery of
 * their ends; the connection itself is grpc_conn.c. Loop timers end calls at their deadline: one
 * is armed for the earliest deadline whenever no armed timer comes before it (they cannot be
 * cancelled; a few may be in flight at once). */
#include "../preload/clock.h"
#include "grpc_int.h"
#include "grpc_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void schedule(struct rs_grpc_client *c)
{
	if (!c->kick_posted && rs_loop_post(c->loop, &c->kick_op) == 0)
		c->kick_posted = true;
}

/* Runs the done callbacks of ended calls, in slot order, until none is left (a callback may end
 * more calls or start new ones). */
void rs_grpc_deliver(struct rs_grpc_client *c)
{
	if (c->delivering)
		return;
	c->delivering = true;
	for (bool again = true; again;) {
		again = false;
		for (size_t i = 0; i < MAX_CALLS; i++) {
			struct call *call = &c->calls[i];
			if (call->state != CALL_DONE)
				continue;
			again = true;
			int r = call->result;
			const void *reply = NULL;
			size_t rlen = 0;
			struct rs_buf plain = {0};
			if (r == 0 && call->data.len >= 5) {
				const uint8_t *d = (const uint8_t *)call->data.p;
				rlen = call->data.len - 5;
				reply = d + 5;
				if (d[0] & 1) {
					/* A compressed message needs the encoding it was compressed
					 * with. */
					r = !call->resp_gzip
						? 13
						: rs_grpc_gunzip(reply, rlen, MAX_REPLY, &plain);
					reply = plain.p;
					rlen = plain.len;
				}
				if (r != 0)
					reply = NULL, rlen = 0;
			}
			c->details = call->details;
			call->done(call->arg, r, call->message, reply, rlen);
			c->details = "";
			rs_buf_free(&plain);
			if (call->data.cap > (64u << 10))
				rs_buf_free(&call->data);
			call->data.len = 0;
			call->data.failed = false;
			call->state = CALL_FREE;
		}
	}
	c->delivering = false;
}

const char *rs_grpc_status_details(const struct rs_grpc_client *c)
{
	return c->details ? c->details : "";
}

/* Calls past their deadline end with -ETIMEDOUT; their streams are reset. When the connection
 * has been silent for the whole of such a call, a PING asks whether the peer is still there (it
 * may be gone without a FIN); without an answer within PING_TIMEOUT_NS the connection is dropped,
 * so later calls do not wait on it too. */
static void expire(struct rs_grpc_client *c)
{
	uint64_t now = rs_mono_ns();
	struct conn *cur = c->conn;
	if (c->ping_pending && now >= c->ping_deadline) {
		c->ping_pending = false;
		if (cur && cur->id == c->ping_conn && cur->last_rx < c->ping_sent) {
			rs_grpc_conn_kill(cur, -ETIMEDOUT);
			rs_grpc_release(cur);
		}
	}
	for (size_t i = 0; i < MAX_CALLS; i++) {
		struct call *call = &c->calls[i];
		if (call->state != CALL_OPEN || call->deadline > now)
			continue;
		struct conn *k = call->conn;
		rs_grpc_abandon(call, -ETIMEDOUT);
		if (!k || k->dead)
			continue;
		if (k == c->conn && k->connected && k->last_rx < call->started &&
		    !c->ping_pending && nghttp2_submit_ping(k->s, NGHTTP2_FLAG_NONE, NULL) == 0) {
			c->ping_pending = true;
			c->ping_conn = k->id;
			c->ping_sent = now;
			c->ping_deadline = now + PING_TIMEOUT_NS;
		}
		rs_grpc_pump(k); /* the RST_STREAM (and PING) */
		rs_grpc_release(k);
	}
}

static void on_timer(struct rs_loop_op *op, int res);

/* Makes sure a timer fires by the earliest deadline of the open calls. */
static void arm_timer(struct rs_grpc_client *c)
{
	uint64_t earliest = c->ping_pending ? c->ping_deadline : UINT64_MAX;
	for (size_t i = 0; i < MAX_CALLS; i++)
		if (c->calls[i].state == CALL_OPEN)
			earliest = RS_MIN(earliest, c->calls[i].deadline);
	struct timer *free_t = NULL;
	for (size_t i = 0; i < MAX_TIMERS; i++) {
		if (c->timers[i].armed && c->timers[i].at <= earliest)
			return; /* one comes first; when it fires it looks again */
		if (!c->timers[i].armed)
			free_t = &c->timers[i];
	}
	if (earliest == UINT64_MAX || !free_t)
		return; /* all in flight: the first to fire arms this one */
	uint64_t now = rs_mono_ns();
	free_t->op.cb = on_timer;
	free_t->c = c;
	free_t->at = earliest;
	if (rs_loop_timer(c->loop, earliest > now ? earliest - now : 1, &free_t->op) == 0)
		free_t->armed = true;
}

static void on_timer(struct rs_loop_op *op, int res)
{
	(void)res;
	struct timer *t = (struct timer *)op;
	struct rs_grpc_client *c = t->c;
	t->armed = false;
	expire(c);
	arm_timer(c);
	rs_grpc_deliver(c);
}

static void on_kick(struct rs_loop_op *op, int res)
{
	(void)res;
	struct rs_grpc_client *c =
	    (struct rs_grpc_client *)((char *)op - offsetof(struct rs_grpc_client, kick_op));
	c->kick_posted = false;
	expire(c);
	bool waiting = false;
	for (size_t i = 0; i < MAX_CALLS; i++)
		waiting = waiting || (c->calls[i].state == CALL_OPEN && !c->calls[i].conn);
	if (waiting)
		rs_grpc_connect(c);
	rs_grpc_deliver(c);
}

/* --- the interface --- */

/* Metadata lines ("name: value\r\n") into name/value pairs pointing into c->meta_text. Names the
 * protocol owns (pseudo-headers, grpc-*, HTTP/2's connection headers, what the client sets) are
 * left out: a server would refuse the call, or see two. */
static void parse_metadata(struct rs_grpc_client *c)
{
	static const char *const reserved[] = {
	    "te",	  "content-type",     "user-agent",	   "connection",
	    "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
	    "host"};
	for (char *p = c->meta_text; *p && c->nmeta < MAX_META;) {
		char *eol = strstr(p, "\r\n"), *colon = strchr(p, ':');
		if (!eol)
			break;
		*eol = 0;
		if (colon && colon < eol) {
			*colon = 0;
			char *v = colon + 1;
			while (*v == ' ')
				v++;
			bool skip = strncmp(p, "grpc-", 5) == 0 || !*p;
			for (size_t i = 0; i < RS_ARRAY_LEN(reserved); i++)
				skip = skip || strcmp(p, reserved[i]) == 0;
			if (!skip)
				c->meta[c->nmeta++] =
				    (nghttp2_nv){(uint8_t *)p, (uint8_t *)v, strlen(p), strlen(v),
						 NGHTTP2_NV_FLAG_NONE};
		}
		p = eol + 2;
	}
}

struct rs_grpc_client *rs_grpc_client_new(struct rs_loop *loop, const struct rs_endpoint *ep,
					  const char *metadata_lines)
{
	struct rs_grpc_client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->loop = loop;
	c->ep = *ep;
	bool v6 = strchr(ep->host, ':') != NULL;
	snprintf(c->authority, sizeof(c->authority), "%s%s%s:%u", v6 ? "[" : "", ep->host,
		 v6 ? "]" : "", ep->port);
	c->meta_text = strdup(metadata_lines ? metadata_lines : "");
	if (!c->meta_text) {
		free(c);
		return NULL;
	}
	parse_metadata(c);
	c->kick_op.cb = on_kick;
	c->next_id = 1;
	return c;
}

void rs_grpc_client_set_tls(struct rs_grpc_client *c, struct rs_tls_ctx *x)
{
	c->tls_ctx = x;
}

long rs_grpc_call(struct rs_grpc_client *c, const char *path, const void *body, size_t len,
		  bool gzip, uint64_t timeout_ns, rs_grpc_done_fn done, void *arg)
{
	struct call *call = NULL;
	for (size_t i = 0; i < MAX_CALLS && !call; i++)
		if (c->calls[i].state == CALL_FREE)
			call = &c->calls[i];
	if (!call)
		return -EBUSY;
	if (strlen(path) >= sizeof(call->path))
		return -EINVAL;
	struct rs_buf keep = call->data;
	*call = (struct call){
	    .state = CALL_OPEN,
	    .id = c->next_id++,
	    .body = body,
	    .len = len,
	    .gzip = gzip,
	    .started = rs_mono_ns(),
	    .deadline = rs_mono_ns() + (timeout_ns ? timeout_ns : DEFAULT_TIMEOUT_NS),
	    .done = done,
	    .arg = arg,
	    .grpc = -1,
	    .data = keep,
	};
	strcpy(call->path, path);
	if (c->next_id <= 0)
		c->next_id = 1;
	if (c->conn && !c->conn->dead) {
		call->conn = c->conn;
		if (c->conn->connected) {
			rs_grpc_submit(call);
			rs_grpc_pump(c->conn);
		}
	}
	if (!call->conn || call->state == CALL_DONE)
		schedule(c); /* connects, or delivers, from the loop */
	arm_timer(c);
	return call->id;
}

unsigned rs_grpc_open_calls(const struct rs_grpc_client *c)
{
	unsigned n = 0;
	for (size_t i = 0; i < MAX_CALLS; i++)
		n += c->calls[i].state == CALL_OPEN;
	return n;
}

void rs_grpc_client_close(struct rs_grpc_client *c)
{
	for (size_t i = 0; i < MAX_CALLS; i++) {
		struct call *call = &c->calls[i];
		if (call->state != CALL_OPEN)
			continue;
		struct conn *k = call->conn;
		rs_grpc_finish(call, -ECONNABORTED);
		if (k && !k->dead) {
			rs_grpc_conn_kill(k, -ECONNABORTED); /* ends its other calls too */
			rs_grpc_release(k);
		}
	}
	if (c->conn) {
		struct conn *k = c->conn;
		rs_grpc_conn_kill(k, -ECONNABORTED);
		rs_grpc_release(k);
	}
	schedule(c);
}

void rs_grpc_client_forget(struct rs_grpc_client *c)
{
	/* The parent's sockets and sessions are left as they are (leaked in this child). */
	c->conn = NULL;
	c->kick_posted = false;
	c->delivering = false;
	c->ping_pending = false;
	for (size_t i = 0; i < MAX_CALLS; i++)
		c->calls[i].state = CALL_FREE;
	for (size_t i = 0; i < MAX_TIMERS; i++)
		c->timers[i].armed = false;
}
