/* The gRPC pieces that are not HTTP/2: message framing (with gzip), bounded gunzip of a
 * compressed reply, grpc-timeout and grpc-message text, and the mappings of HTTP statuses and
 * RST_STREAM codes to gRPC statuses (grpc/grpc doc/PROTOCOL-HTTP2.md). Used by grpc_client.c. */
#include "grpc_wire.h"
#include "../proto/gzip.h"

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <zlib.h>

int rs_grpc_frame(struct rs_buf *out, const void *msg, size_t len, bool gzip)
{
	size_t at = out->len;
	uint8_t pre[5] = {gzip ? 1 : 0};
	rs_buf_put(out, pre, sizeof(pre));
	if (rs_buf_failed(out))
		return -ENOMEM;
	if (gzip) {
		if (!rs_gzip(msg, len, out)) {
			out->len = at;
			return -ENOMEM;
		}
	} else {
		rs_buf_put(out, msg, len);
	}
	size_t n = out->len - at - 5;
	if (rs_buf_failed(out) || n > UINT32_MAX) {
		out->len = at;
		return -ENOMEM;
	}
	uint8_t *p = (uint8_t *)out->p + at;
	p[1] = (uint8_t)(n >> 24);
	p[2] = (uint8_t)(n >> 16);
	p[3] = (uint8_t)(n >> 8);
	p[4] = (uint8_t)n;
	return 0;
}

int rs_grpc_gunzip(const void *in, size_t n, size_t max, struct rs_buf *out)
{
	if (n > UINT32_MAX)
		return -EMSGSIZE;
	z_stream z = {0};
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)n;
	int r = Z_OK, e = 0;
	/* In steps, so a small bomb cannot make us hold more than max. */
	while (r == Z_OK) {
		size_t room = RS_MIN((size_t)65536, max + 1 - RS_MIN(out->len, max + 1));
		if (room == 0) {
			e = -EMSGSIZE;
			break;
		}
		if (!rs_buf_reserve(out, room)) {
			e = -ENOMEM;
			break;
		}
		z.next_out = (Bytef *)out->p + out->len;
		z.avail_out = (uInt)room;
		r = inflate(&z, Z_NO_FLUSH);
		out->len += room - z.avail_out;
		if (r == Z_BUF_ERROR && z.avail_in == 0)
			break; /* truncated */
	}
	if (!e && r != Z_STREAM_END)
		e = -EPROTO;
	if (!e && out->len > max)
		e = -EMSGSIZE;
	inflateEnd(&z);
	return e;
}

void rs_grpc_timeout_text(uint64_t ns, char *out, size_t cap)
{
	/* At most 8 digits: milliseconds while they fit, else seconds, else hours. */
	uint64_t ms = (ns + 999999) / 1000000;
	if (ms == 0)
		ms = 1;
	if (ms < 100000000)
		snprintf(out, cap, "%llum", (unsigned long long)ms);
	else if (ms / 1000 < 100000000)
		snprintf(out, cap, "%lluS", (unsigned long long)(ms / 1000));
	else
		snprintf(out, cap, "%lluH", (unsigned long long)RS_MIN(ms / 3600000, 99999999ull));
}

void rs_grpc_message_text(const uint8_t *v, size_t n, char *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < cap; i++) {
		char c = (char)v[i];
		int h, l;
		/* A malformed escape is kept as written, as the specification asks. */
		if (c == '%' && i + 2 < n && (h = rs_hexval(v[i + 1])) >= 0 &&
		    (l = rs_hexval(v[i + 2])) >= 0) {
			c = (char)(h << 4 | l);
			i += 2;
		}
		out[k++] = c;
	}
	out[k] = 0;
}

int rs_grpc_status_of_http(int http)
{
	switch (http) {
	case 400:
	case 431:
		return 13; /* INTERNAL */
	case 401:
		return 16; /* UNAUTHENTICATED */
	case 403:
		return 7; /* PERMISSION_DENIED */
	case 404:
		return 12; /* UNIMPLEMENTED */
	case 429:
	case 502:
	case 503:
	case 504:
		return 14; /* UNAVAILABLE */
	default:
		return 2; /* UNKNOWN */
	}
}

int rs_grpc_status_of_rst(uint32_t code)
{
	switch (code) {
	case NGHTTP2_REFUSED_STREAM:
		return 14; /* UNAVAILABLE: not processed, safe to retry */
	case NGHTTP2_CANCEL:
		return 1; /* CANCELLED */
	case NGHTTP2_ENHANCE_YOUR_CALM:
		return 8; /* RESOURCE_EXHAUSTED */
	case NGHTTP2_INADEQUATE_SECURITY:
		return 7; /* PERMISSION_DENIED */
	default:
		return 13; /* INTERNAL */
	}
}
