/* A bump allocator for building protobuf-c messages: everything for one batch comes from it and
 * goes at once with rs_arena_reset. Reporter thread only; failure sticks (rs_arena_failed). */
#ifndef RS_PROTO_ARENA_H
#define RS_PROTO_ARENA_H

#include "../preload/rs.h"

struct rs_arena_chunk;

struct rs_arena {
	struct rs_arena_chunk *chunks;
	char *cur;
	size_t left;
	bool failed;
};

/* n bytes, 16-byte aligned, not zeroed; NULL (and failed set) when out of memory. */
void *rs_arena_alloc(struct rs_arena *a, size_t n);

/* A NUL-terminated copy of n bytes of s. */
char *rs_arena_strndup(struct rs_arena *a, const char *s, size_t n);

/* Frees all but the first chunk and makes it empty again. */
void rs_arena_reset(struct rs_arena *a);
void rs_arena_free(struct rs_arena *a);

static inline bool rs_arena_failed(const struct rs_arena *a)
{
	return a->failed;
}

#endif
