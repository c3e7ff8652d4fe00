/* A gRPC client for the reporter: one HTTP/2 connection (h2c with prior knowledge, or TLS) to one
 * collector, nghttp2 doing the framing (nghttp2_session_mem_send/mem_recv) while the bytes move
 * through the reporter's loop (io_uring or poll). Several calls may be open at once, each its own
 * stream; a call carries one or more length-prefixed messages (unary or client streaming) and
 * ends with the server's grpc-status. Deadlines are kept with the loop's timers; an idle
 * connection costs the loop nothing. Reporter thread only. */
#ifndef RS_IO_GRPC_CLIENT_H
#define RS_IO_GRPC_CLIENT_H

#include "../proto/buf.h"
#include "header_list.h"
#include "http_client.h" /* struct rs_endpoint, rs_resolve */
#include "loop.h"

/* How a call ended. status: the grpc-status (0 OK, 1..16; an unknown code is 2 UNKNOWN); when
 * none came, what gRPC derives: an HTTP status other than 200 mapped as gRPC maps it (503 is 14
 * UNAVAILABLE, ...), a stream the server reset (REFUSED_STREAM and streams above a GOAWAY's last
 * id are 14 UNAVAILABLE, CANCEL 1, others 13 INTERNAL); else -errno (-ECONNREFUSED,
 * -ECONNRESET, -ETIMEDOUT for the call's deadline, -EPROTO for a malformed answer or a server
 * that broke HTTP/2, -EMSGSIZE for an answer over the 4 MiB bound, which resets only that
 * stream). message: grpc-message, percent-decoded (NUL-terminated, may be empty). reply/len: the
 * first response message, unprefixed and decompressed (NULL/0 when none, and unless status is
 * 0). All pointers are valid only during the callback, which may start and end calls. */
typedef void (*rs_grpc_done_fn)(void *arg, int status, const char *message, const void *reply,
				size_t len);

struct rs_grpc_client; /* opaque */

/* A client for ep (host and port; ep->path is ignored). metadata: extra headers sent on every
 * call (OTEL_EXPORTER_OTLP_HEADERS, SkyWalking's "authentication"), as rs_header_list_parse
 * writes them ("name: value\r\n" lines, names lowercase), or NULL; copied. Connects lazily on
 * the first call. NULL on ENOMEM. */
struct rs_grpc_client *rs_grpc_client_new(struct rs_loop *loop, const struct rs_endpoint *ep,
					  const char *metadata_lines);

/* For an https:// ep: connections speak TLS (ALPN h2) with x's settings, which the caller keeps
 * for the client's life. Without it, calls to an https:// endpoint end with -EPROTONOSUPPORT. */
struct rs_tls_ctx;
void rs_grpc_client_set_tls(struct rs_grpc_client *c, struct rs_tls_ctx *x);

/* Starts a call of method path ("/pkg.Service/Method") carrying body: one or more messages,
 * each already framed by rs_grpc_frame (so a client stream of N messages is N frames end to
 * end). body stays valid until done runs. gzip: the messages were compressed by rs_grpc_frame
 * and the call announces grpc-encoding: gzip. timeout_ns: the call's deadline (0: 10 s), also
 * sent as grpc-timeout. done runs exactly once, always later, from the loop (never inside this
 * call). Returns a call id > 0, or -errno (-EBUSY when 64 calls are open, -EINVAL for a path of 160
 * bytes or more). */
long rs_grpc_call(struct rs_grpc_client *c, const char *path, const void *body, size_t len,
		  bool gzip, uint64_t timeout_ns, rs_grpc_done_fn done, void *arg);

/* Appends one message to out with its 5-byte prefix (compressed flag, big-endian length),
 * gzip-compressing it first when gzip is set. 0 or -ENOMEM. */
int rs_grpc_frame(struct rs_buf *out, const void *msg, size_t len, bool gzip);

/* During a done callback: the call's grpc-status-details-bin trailer (base64 of a
 * google.rpc.Status, as it came; "" when none or over 511 bytes). */
const char *rs_grpc_status_details(const struct rs_grpc_client *c);

/* Calls open (sent and not yet answered). */
unsigned rs_grpc_open_calls(const struct rs_grpc_client *c);

/* Drops the connection: open calls end with -ECONNABORTED (their done callbacks run later, from
 * the loop); the next call reconnects. */
void rs_grpc_client_close(struct rs_grpc_client *c);

/* In a fork child: forget the parent's connection without touching it. */
void rs_grpc_client_forget(struct rs_grpc_client *c);

#endif
