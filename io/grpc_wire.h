/* gRPC's framing and status rules apart from HTTP/2 (see grpc_wire.c); rs_grpc_frame itself is
 * declared in grpc_client.h, where the exporters find it. */
#ifndef RS_IO_GRPC_WIRE_H
#define RS_IO_GRPC_WIRE_H

#include "../proto/buf.h"

#include <stdint.h>

/* Appends the gunzipped in[0..n) to out, never letting out grow past max bytes. 0, -EMSGSIZE
 * (more than max), -EPROTO (not a whole gzip stream) or -ENOMEM. */
int rs_grpc_gunzip(const void *in, size_t n, size_t max, struct rs_buf *out);

/* The grpc-timeout value for ns ("250m", "30S"): at most 8 digits and a unit. */
void rs_grpc_timeout_text(uint64_t ns, char *out, size_t cap);

/* grpc-message, percent-decoded into out (NUL-terminated, cut to cap). */
void rs_grpc_message_text(const uint8_t *v, size_t n, char *out, size_t cap);

/* The gRPC status for an HTTP status that came without grpc-status, and for a stream the server
 * reset with an HTTP/2 error code. */
int rs_grpc_status_of_http(int http);
int rs_grpc_status_of_rst(uint32_t code);

#endif
