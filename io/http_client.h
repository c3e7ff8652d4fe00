/* A keep-alive HTTP/1.1 client for the reporter: one connection to one collector, one request at
 * a time, every step an operation on the reporter's loop (io_uring or poll). Responses are parsed
 * with the same bounded parser the hooks use; a response larger than 4 MiB is refused. */
#ifndef RS_IO_HTTP_CLIENT_H
#define RS_IO_HTTP_CLIENT_H

#include "../preload/http_parse.h"
#include "../proto/buf.h"
#include "header_list.h"
#include "loop.h"
#include "tls.h"

#include <netinet/in.h>
#include <sys/socket.h>

struct rs_endpoint {
	char host[256];
	uint16_t port;
	char path[512]; /* with its query, "/" when none was given */
	bool tls;	/* https:// */
};

/* Parses "http://host:port/path" (or "host:port", as SkyWalking's variables give it). Returns
 * false with a reason when the text is not a usable endpoint. */
bool rs_endpoint_parse(const char *text, uint16_t default_port, struct rs_endpoint *e, char *why,
		       size_t whylen);

/* How a request ended: status is the HTTP status, or -errno (no answer); retry_after_ms is the
 * collector's Retry-After (0 when none); body the first 64 KiB of a Content-Length body. */
typedef void (*rs_http_done_fn)(void *arg, int status, uint32_t retry_after_ms, const char *body,
				size_t len);

struct rs_http_client {
	struct rs_loop *loop;
	struct rs_endpoint ep;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int sock; /* loop handle, -1 when not connected */
	struct rs_tls_ctx *tls_ctx; /* https://: set by the owner after init (it keeps it) */
	struct rs_tls *tls;	    /* the connection's session */
	int state;
	bool reused;	  /* the request went out on a connection that carried an earlier one */
	bool retried;	  /* ... and was sent again on a fresh one */
	struct rs_loop_op op;
	uint64_t deadline_ns;
	/* the request */
	struct rs_buf head;
	const char *body;
	size_t body_len;
	size_t sent; /* over head and body */
	rs_http_done_fn done;
	void *arg;
	/* the response */
	struct rs_hp resp;
	int status;
	bool head_done;
	bool keep; /* the server keeps the connection open */
	uint32_t retry_after_ms;
	char retry_after[40];
	size_t retry_after_len;
	size_t received;
	struct rs_buf resp_body;
	char rbuf[16384];
};

void rs_http_client_init(struct rs_http_client *c, struct rs_loop *loop,
			 const struct rs_endpoint *ep);

/* An https:// endpoint without tls_ctx fails every request with -EPROTONOSUPPORT. */

/* Starts a POST of body (which stays valid until done runs) to path. extra_headers: more header
 * lines, each ending in CRLF, or NULL. Returns 0, or -EBUSY while a request is in flight. */
int rs_http_client_post(struct rs_http_client *c, const char *path, const char *content_type,
			const char *content_encoding, const char *extra_headers, const void *body,
			size_t len, uint64_t timeout_ns, rs_http_done_fn done, void *arg);

bool rs_http_client_busy(const struct rs_http_client *c);

/* Drops the connection (the next request opens a new one). */
void rs_http_client_close(struct rs_http_client *c);

/* Resolves host:port into addr (the first address getaddrinfo gives). 0 or -errno. Blocking:
 * the reporter calls it once per connection attempt. Shared with the gRPC client. */
int rs_resolve(const char *host, uint16_t port, struct sockaddr_storage *addr, socklen_t *len);

#endif
