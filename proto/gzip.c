/* gzip with zlib's deflate (see gzip.h). */
#include "gzip.h"

#include <string.h>
#include <zlib.h>

bool rs_gzip(const void *in, size_t n, struct rs_buf *out)
{
	if (n > UINT32_MAX / 2)
		return false; /* zlib counts in uInt; nothing the shim sends is this large */
	z_stream z;
	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip header and trailer rather than zlib's. Level 1 (Z_BEST_SPEED):
	 * on varied OTLP span batches it deflates 2.2x as fast as the default level 6 for 13% more
	 * bytes (6.2:1 rather than 7.0:1; docs/benchmarks.md), and this runs on the reporter thread
	 * while the bytes mostly go to a nearby collector, which accepts any level. */
	if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return false;
	size_t bound = deflateBound(&z, (uLong)n);
	bool ok = rs_buf_reserve(out, bound);
	if (ok) {
		z.next_in = (Bytef *)in;
		z.avail_in = (uInt)n;
		z.next_out = (Bytef *)out->p + out->len;
		z.avail_out = (uInt)bound;
		ok = deflate(&z, Z_FINISH) == Z_STREAM_END;
		if (ok)
			out->len += z.total_out;
	}
	deflateEnd(&z);
	return ok;
}
