/* TLS for the reporter's clients (OTLP over HTTP/1.1 and gRPC): OpenSSL over a memory BIO pair
 * whose network side is moved by the reporter's loop (rs_loop_send/recv), so TLS runs on io_uring
 * and poll alike. OpenSSL is loaded with dlopen on first use: a process that never talks TLS never
 * maps it. Reporter thread only. */
#ifndef RS_IO_TLS_H
#define RS_IO_TLS_H

#include "loop.h"

#include <stddef.h>

struct rs_tls_ctx;
struct rs_tls;

/* The settings for connections to one collector: peers are verified against ca_file (a PEM file
 * of CA certificates) or, when it is NULL or "", the system's CAs; cert_file and key_file (both or
 * neither) are the client's certificate chain and key for mutual TLS; alpn is the protocol to ask
 * for ("h2") or NULL. what names the export in stderr lines. NULL, said on stderr, when OpenSSL
 * cannot be loaded or a file is unusable. */
struct rs_tls_ctx *rs_tls_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
				  const char *alpn, const char *what);
void rs_tls_ctx_free(struct rs_tls_ctx *x);

/* A client session over sock, a connected socket handle of loop, expecting a certificate for host
 * (a name: checked and sent as SNI; an IP literal: checked against the certificate's addresses).
 * The handshake runs within the first send or receive. NULL with *err: -ENOMEM, -EINVAL (a host
 * OpenSSL cannot check), -ESHUTDOWN (OpenSSL was cleaned up: see tls.c). */
struct rs_tls *rs_tls_new(struct rs_tls_ctx *x, struct rs_loop *loop, int sock, const char *host,
			  int *err);

/* Like rs_loop_send and rs_loop_recv, in plaintext: op->cb gets the byte count (a receive of 0:
 * the peer closed), or -errno: -EKEYREJECTED the peer's certificate failed verification,
 * -EPROTO another TLS failure (both said on stderr), -ETIMEDOUT, or the socket's error. One send
 * and one receive may be outstanding at a time; callbacks run from the loop, never from inside
 * these calls. A failure is sticky: everything after it ends with the same error. 0, -EBUSY. */
int rs_tls_send(struct rs_tls *t, const void *buf, size_t len, uint64_t timeout_ns,
		struct rs_loop_op *op);
int rs_tls_recv(struct rs_tls *t, void *buf, size_t len, uint64_t timeout_ns,
		struct rs_loop_op *op);

/* The owner is done with the session; it closes the socket itself. Outstanding operations still
 * complete (with an error) and the memory goes once the loop holds nothing of it. */
void rs_tls_free(struct rs_tls *t);

#endif
