/* libFuzzer target for the HTTP/1.x parser. The first byte picks requests or responses (and a
 * HEAD expectation); the next picks how to split the rest. Besides what ASan and UBSan catch, it
 * checks the parser's own promise: any split of the bytes reports exactly what the whole does. */
#include "../unit/hp_driver.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	enum rs_hp_mode mode = data[0] & 1 ? RS_HP_RESPONSE : RS_HP_REQUEST;
	bool no_body = data[0] & 2;
	unsigned seed = data[1];
	const char *msg = (const char *)data + 2;
	size_t len = size - 2;
	static struct hp_log whole, split;
	hp_run(mode, msg, len, NULL, 0, no_body, &whole);

	size_t cuts[64], n = 0;
	if (seed == 0) { /* one byte at a time, as far as the cut list goes */
		for (; n < 64 && n + 1 <= len; n++)
			cuts[n] = n + 1;
	} else { /* cuts at pseudo-random places, in order */
		size_t at = 0;
		uint32_t x = seed * 2654435761u + (uint32_t)len;
		while (n < 64 && at < len) {
			x = x * 1103515245u + 12345u;
			at += 1 + (x >> 16) % (len / 4 + 1);
			if (at < len)
				cuts[n++] = at;
		}
	}
	hp_run(mode, msg, len, cuts, n, no_body, &split);
	if (whole.len != split.len || memcmp(whole.text, split.text, whole.len) != 0) {
		fprintf(stderr, "split changed the result:\n%s\n%s\n", whole.text, split.text);
		abort();
	}
	return 0;
}
