/* A small open-addressing hash map from a 64-bit hash to a non-zero 32-bit value (an index + 1
 * into the caller's own array), for the reporter's tables. Equal hashes are allowed: lookups hand
 * every candidate to the caller's comparison. Grows with malloc; allocation failure sticks. */
#ifndef RS_PROTO_HMAP_H
#define RS_PROTO_HMAP_H

#include "../preload/rs.h"

struct rs_hmap_slot {
	uint64_t hash;
	uint32_t value; /* 0: empty */
};

struct rs_hmap {
	struct rs_hmap_slot *slot;
	size_t cap; /* a power of two, or 0 */
	size_t used;
	bool failed;
};

/* The value stored under hash that eq(ctx, value) accepts, or 0. eq NULL accepts the first. */
uint32_t rs_hmap_get(const struct rs_hmap *m, uint64_t hash, bool (*eq)(void *ctx, uint32_t v),
		     void *ctx);

/* Adds value (non-zero) under hash. False when memory ran out. */
bool rs_hmap_put(struct rs_hmap *m, uint64_t hash, uint32_t value);

void rs_hmap_clear(struct rs_hmap *m); /* keeps the memory */
void rs_hmap_free(struct rs_hmap *m);

/* FNV-1a, then a final mix: good enough spread for addresses and short strings. */
static inline uint64_t rs_hash_bytes(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull ^ seed;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static inline uint64_t rs_hash_u64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

#endif
