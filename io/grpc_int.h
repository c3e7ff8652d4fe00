/* The gRPC client's insides, shared by grpc_client.c (calls, deadlines, delivery, the interface)
 * and grpc_conn.c (the HTTP/2 connection: nghttp2 and the loop's socket operations). Reporter
 * thread only; nothing outside these two files includes it. */
#ifndef RS_IO_GRPC_INT_H
#define RS_IO_GRPC_INT_H

#include "grpc_client.h"
#include "tls.h"

#include <nghttp2/nghttp2.h>

#define MAX_CALLS	   64
#define MAX_REPLY	   (4u << 20) /* gRPC's default limit on a received message */
#define WINDOW		   (1u << 20) /* per stream and per connection: what a hostile peer may push unread */
#define SEND_CHUNK	   (64u << 10)
#define SEND_MIN_NS	   1000000000ull
#define DEFAULT_TIMEOUT_NS 10000000000ull
#define MAX_TIMERS	   4
#define PING_TIMEOUT_NS	   2000000000ull
#define CONNECT_TIMEOUT_NS 5000000000ull
#define MAX_META	   32

enum { CALL_FREE, CALL_OPEN, CALL_DONE };

struct conn;

struct call {
	int state;
	long id;
	struct conn *conn; /* NULL until a connection is being made for it */
	int32_t stream;	   /* 0 until submitted */
	char path[160];
	const uint8_t *body;
	size_t len, off;
	bool gzip;
	uint64_t deadline;
	rs_grpc_done_fn done;
	void *arg;
	/* the answer */
	int http;	/* :status, 0 when none */
	int grpc;	/* grpc-status, -1 none, -2 malformed */
	bool resp_gzip; /* grpc-encoding: gzip */
	uint64_t started;
	char message[256];
	char details[512]; /* grpc-status-details-bin (base64), "" when none or longer */
	struct rs_buf data; /* the first message, prefix included, as far as it arrived */
	size_t data_total;
	int result;
};

struct conn {
	struct rs_grpc_client *c;
	nghttp2_session *s;
	int sock;
	struct rs_tls *tls; /* https://: the socket's TLS session */
	bool connected, sending, recv_armed, dead, goaway;
	bool proto_error; /* nghttp2 sent GOAWAY with an error: the server broke the protocol */
	unsigned holds;	  /* loop operations in flight */
	uint64_t last_rx; /* when bytes last arrived */
	uint64_t id;
	struct rs_buf out;
	size_t out_off;
	struct rs_loop_op conn_op, send_op, recv_op;
	uint8_t rbuf[16384];
};

struct rs_grpc_client {
	struct rs_loop *loop;
	struct rs_endpoint ep;
	struct rs_tls_ctx *tls_ctx; /* https://: the owner's; NULL: refused */
	char authority[300];
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char *meta_text;
	nghttp2_nv meta[MAX_META];
	size_t nmeta;
	struct conn *conn; /* where new calls go; NULL: the next call connects */
	struct call calls[MAX_CALLS];
	long next_id;
	struct rs_loop_op kick_op;
	bool kick_posted, delivering;
	const char *details; /* of the call whose done callback runs */
	uint64_t conn_ids;
	bool ping_pending; /* on the connection whose id is ping_conn */
	uint64_t ping_conn, ping_sent, ping_deadline;
	struct timer {
		struct rs_loop_op op;
		struct rs_grpc_client *c;
		uint64_t at; /* monotonic ns */
		bool armed;
	} timers[MAX_TIMERS];
};

/* grpc_conn.c */

/* Ends a call (once); its done callback runs from rs_grpc_deliver. */
void rs_grpc_finish(struct call *call, int result);
/* The stream ends early: RST_STREAM CANCEL goes out, the call ends with err. */
void rs_grpc_abandon(struct call *call, int err);
/* Ends the connection's calls with err and closes its socket; freed by rs_grpc_release. */
void rs_grpc_conn_kill(struct conn *k, int err);
/* Frees a dead connection once nothing in the loop refers to it. */
void rs_grpc_release(struct conn *k);
/* Starts a call's stream on its (connected) connection. */
void rs_grpc_submit(struct call *call);
/* Moves what nghttp2 wants to send into the loop, and keeps a receive armed. */
void rs_grpc_pump(struct conn *k);
/* Opens a connection for the calls waiting for one; they end with the error if it cannot be. */
void rs_grpc_connect(struct rs_grpc_client *c);
bool rs_grpc_conn_has_calls(const struct conn *k);

/* grpc_client.c */

/* Runs the done callbacks of ended calls (never nested). */
void rs_grpc_deliver(struct rs_grpc_client *c);

#endif
