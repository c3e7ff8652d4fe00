/* gzip (RFC 1952) with zlib, for pprof files and for exporters whose protocol allows compressed
 * bodies (OTLP/HTTP Content-Encoding, gRPC's grpc-encoding). Reporter thread only. */
#ifndef RS_PROTO_GZIP_H
#define RS_PROTO_GZIP_H

#include "buf.h"

/* Appends the gzip stream of in[0..n) to out. False when zlib or memory failed (out is then
 * left as it was, unless it had already failed). */
bool rs_gzip(const void *in, size_t n, struct rs_buf *out);

#endif
