/* libFuzzer target for the Kafka producer properties parser (preload/json_props.c): arbitrary
 * bytes. No crash or overrun, out never written past its size, and what is accepted walks back as
 * exactly count pairs of terminated, non-empty printable names inside the bytes written. */
#include "../../preload/json_props.h"
#include "fuzz_require.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first byte picks the output size, so short buffers are exercised too. */
	size_t cap = size ? (data[0] % 4 == 0 ? (size_t)data[0] : size + 1) : 1;
	const char *s = size ? (const char *)data + 1 : "";
	size_t len = size ? size - 1 : 0;
	char *out = malloc(cap + 16);
	REQUIRE(out);
	memset(out, 0x5a, cap + 16);
	unsigned count = 99;
	char why[100];
	bool ok = rs_json_props(s, len, out, cap, &count, why, sizeof(why));
	for (size_t i = cap; i < cap + 16; i++)
		REQUIRE(out[i] == 0x5a);
	if (!ok) {
		REQUIRE(count == 0 && memchr(why, 0, sizeof(why)) && why[0]);
		REQUIRE(cap == 0 || out[0] == 0);
	} else {
		REQUIRE(count <= RS_JSON_PROPS_MAX);
		const char *cur = out, *name, *value;
		unsigned n = 0;
		while ((name = rs_json_props_next(&cur, &value))) {
			size_t nl = strnlen(name, 256);
			REQUIRE(nl >= 1 && nl <= 255);
			for (size_t i = 0; i < nl; i++)
				REQUIRE((uint8_t)name[i] > 0x20 && (uint8_t)name[i] < 0x7f);
			REQUIRE(value == name + nl + 1);
			REQUIRE((size_t)(cur - out) <= cap);
			n++;
		}
		REQUIRE(n == count);
		REQUIRE((size_t)(cur - out) < cap && *cur == 0);
	}
	free(out);
	return 0;
}
