/* A lock-free pool of fixed-size objects for state that lives as long as something in the
 * program does (an HTTP connection): slabs of 64 objects mapped on first need, a bitmap word per
 * slab claimed with compare-and-swap. No lock, no malloc; a full pool says no (counted). */
#ifndef RS_POOL_H
#define RS_POOL_H

#include "rs.h"

#define RS_POOL_MAX_SLABS 16384 /* 2^20 objects */

struct rs_pool {
	size_t obj_size;
	uint32_t max_slabs;
	_Atomic uint32_t nslabs;
	_Atomic uint64_t exhausted; /* allocations refused */
	char *_Atomic slab[RS_POOL_MAX_SLABS];
	_Atomic uint64_t used[RS_POOL_MAX_SLABS];
};

/* Sets the pool up for up to max_objs objects of obj_size bytes. Maps nothing yet. */
void rs_pool_init(struct rs_pool *p, size_t obj_size, uint32_t max_objs);

/* A zeroed object and its index (for rs_pool_free), or NULL when the pool is full. May map a slab
 * (one mmap per 64 objects). */
void *rs_pool_alloc(struct rs_pool *p, uint32_t *index);

void rs_pool_free(struct rs_pool *p, uint32_t index);

/* Objects allocated and not freed: a count for the exit check, not for a hot path. */
uint32_t rs_pool_in_use(struct rs_pool *p);

#endif
