/* HTTP/1.x on a followed connection: what the connection layer calls once it has decided a
 * connection speaks HTTP, and the state both sides of it keep. Server connections parse requests
 * in and responses out; client connections the other way round, and their requests can be
 * rewritten to carry trace context (http_inject.c). */
#ifndef RS_HOOKS_HTTP_H
#define RS_HOOKS_HTTP_H

#include "../preload/record.h"
#include "conn.h"
#include "../preload/http_parse.h"

#define RS_HTTP_PIPELINE 8 /* requests awaiting their responses, per connection */
#define RS_HTTP_INJECT_MAX 1400 /* trace-context header lines for one request */

/* A request whose response has not ended. */
struct rs_http_pending {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint64_t req_body;
	uint64_t resp_start_ns;
	uint16_t status;
	uint8_t method;
};

/* A client span decided when its request line is written: ids, segment, what is injected. */
struct rs_http_prep {
	struct rs_ctx ctx;	/* the span itself */
	uint8_t parent_id[8];	/* zero when it is a root */
	uint8_t seg_id[8];
	int32_t seg_index, seg_parent;
	uint8_t prop;
	bool parent_remote;
};

struct rs_http {
	uint32_t pool_index;
	bool server;
	bool dead; /* stopped parsing: the bytes stopped being HTTP */
	struct rs_hp req;  /* requests: in on a server, out on a client */
	struct rs_hp resp; /* responses: out on a server, in on a client */
	/* The request head being read (server) or written (client), captured into rec. */
	bool building;
	uint8_t tlv_key;   /* TLV being extended, 0 when none */
	uint16_t tlv_off;  /* its offset in rec */
	uint16_t tlv_seen; /* TLV keys met in this head (bit per key) */
	uint64_t req_start_ns;
	char traceparent[64];
	uint8_t traceparent_len;
	/* Requests awaiting responses, oldest first. */
	struct rs_http_pending pend[RS_HTTP_PIPELINE];
	uint8_t pend_head, pend_n;
	/* Client: spans prepared by a write's pre-scan, one per request line in it, taken in order
	 * as the request lines are really sent; and the injected bytes still to send. */
	struct rs_http_prep prep[4];
	uint8_t prep_n, prep_used;
	struct rs_http_prep cur;
	bool cur_valid;
	uint16_t inj_pending_len;
	char inj_pending[RS_HTTP_INJECT_MAX];
	union rs_rec rec[RS_REC_MAX_SLOTS];
};

/* The connection was found to speak HTTP: its state (NULL when the pool is exhausted). */
struct rs_http *rs_http_open(struct rs_conn *c, bool server);

/* Bytes of the request direction (server: received; client: sent) and of the response
 * direction (server: sent; client: received), as they passed. */
void rs_http_requests(struct rs_conn *c, struct rs_http *h, const char *buf, size_t n);
void rs_http_responses(struct rs_conn *c, struct rs_http *h, const char *buf, size_t n);
/* Body bytes that bypassed the program's buffers (sendfile), in either direction. */
void rs_http_skip(struct rs_conn *c, struct rs_http *h, bool requests, uint64_t n);

/* The connection ends (end: RS_HTTP_END_ABORTED on close, RS_HTTP_END_EXIT at exit): responses
 * that run to the close end normally; requests still waiting end as `end`. Frees h. */
void rs_http_close(struct rs_conn *c, struct rs_http *h, uint8_t end);

/* HTTP states allocated and not closed (for the exit check). */
uint32_t rs_http_held(void);

/* In a fork child: the parent's requests are the parent's; forget them. */
void rs_http_after_fork(struct rs_http *h);

/* Client: the span for the next request line (parent: the span this thread serves, else its
 * inherited context), and the header lines that carry it (returns their length, 0 if none fit).
 * For http_inject.c. */
void rs_http_prepare_client(struct rs_conn *c, struct rs_http_prep *p);
size_t rs_http_inject_text(const struct rs_conn *c, const struct rs_http_prep *p, char *out,
			   size_t cap);

/* The current trace context to hand to a child process (TRACEPARENT), if any. */
bool rs_http_current_context(struct rs_ctx *out);

#endif
