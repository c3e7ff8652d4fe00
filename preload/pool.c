/* The object pool (see pool.h). Objects keep their slab mapped for the process's life: a slab is
 * never unmapped, so a freed index can be claimed again by any thread without a lock. */
#include "pool.h"
#include "sys.h"

#include <string.h>
#include <sys/mman.h>

void rs_pool_init(struct rs_pool *p, size_t obj_size, uint32_t max_objs)
{
	p->obj_size = (obj_size + 63) & ~(size_t)63;
	p->max_slabs = RS_MIN((max_objs + 63) / 64, RS_POOL_MAX_SLABS);
	atomic_store(&p->nslabs, 0);
}

static char *slab_mem(struct rs_pool *p, uint32_t s)
{
	char *mem = atomic_load_explicit(&p->slab[s], memory_order_acquire);
	if (mem)
		return mem;
	size_t bytes = 64 * p->obj_size;
	char *fresh = rs_sys_mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (rs_sys_mmap_failed(fresh))
		return NULL;
	char *expect = NULL;
	if (!atomic_compare_exchange_strong(&p->slab[s], &expect, fresh)) {
		rs_sys_munmap(fresh, bytes); /* another thread mapped it first */
		return expect;
	}
	return fresh;
}

void *rs_pool_alloc(struct rs_pool *p, uint32_t *index)
{
	for (uint32_t s = 0; s < p->max_slabs; s++) {
		uint64_t word = atomic_load_explicit(&p->used[s], memory_order_relaxed);
		while (word != ~0ull) {
			unsigned bit = (unsigned)__builtin_ctzll(~word);
			if (!atomic_compare_exchange_weak_explicit(&p->used[s], &word,
								   word | (1ull << bit),
								   memory_order_acquire,
								   memory_order_relaxed))
				continue;
			char *mem = slab_mem(p, s);
			if (!mem) {
				atomic_fetch_and(&p->used[s], ~(1ull << bit));
				goto full;
			}
			uint32_t n = atomic_load(&p->nslabs);
			while (n < s + 1 && !atomic_compare_exchange_weak(&p->nslabs, &n, s + 1))
				;
			void *obj = mem + (size_t)bit * p->obj_size;
			memset(obj, 0, p->obj_size);
			*index = s * 64 + bit;
			return obj;
		}
	}
full:
	rs_add_relaxed(&p->exhausted, 1);
	return NULL;
}

uint32_t rs_pool_in_use(struct rs_pool *p)
{
	uint32_t n = 0, slabs = atomic_load(&p->nslabs);
	for (uint32_t s = 0; s < slabs; s++)
		n += (uint32_t)__builtin_popcountll(atomic_load(&p->used[s]));
	return n;
}

void rs_pool_free(struct rs_pool *p, uint32_t index)
{
	/* Release: our writes to the object happen before another thread claims it. */
	atomic_fetch_and_explicit(&p->used[index / 64], ~(1ull << (index % 64)),
				  memory_order_release);
}
