/* The bump allocator (see arena.h): chunks of 64 KiB, or one larger chunk for a larger ask. */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

struct rs_arena_chunk {
	struct rs_arena_chunk *next;
	size_t size;
	_Alignas(16) char data[];
};

#define CHUNK 65536

void *rs_arena_alloc(struct rs_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (n > a->left) {
		size_t size = RS_MAX((size_t)CHUNK, n);
		struct rs_arena_chunk *c = malloc(sizeof(*c) + size);
		if (!c) {
			a->failed = true;
			return NULL;
		}
		c->size = size;
		c->next = a->chunks;
		a->chunks = c;
		a->cur = c->data;
		a->left = size;
	}
	void *p = a->cur;
	a->cur += n;
	a->left -= n;
	return p;
}

char *rs_arena_strndup(struct rs_arena *a, const char *s, size_t n)
{
	char *p = rs_arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

void rs_arena_reset(struct rs_arena *a)
{
	struct rs_arena_chunk *c = a->chunks, *keep = NULL;
	while (c) {
		struct rs_arena_chunk *next = c->next;
		if (!next) {
			keep = c; /* the oldest stays */
		} else {
			free(c);
		}
		c = next;
	}
	a->chunks = keep;
	a->cur = keep ? keep->data : NULL;
	a->left = keep ? keep->size : 0;
	a->failed = false;
}

void rs_arena_free(struct rs_arena *a)
{
	rs_arena_reset(a);
	free(a->chunks);
	*a = (struct rs_arena){0};
}
