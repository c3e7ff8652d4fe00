/* The ring registry: threads claim slots with compare-and-swap, never a lock, so a thread that
 * dies or forks at any point leaves nothing another thread could wait on. */
#include "ring.h"
#include "sys.h"

#include <string.h>
#include <sys/mman.h>

struct rs_ring_registry rs_rings;

void rs_ring_init(struct rs_ring *r, uint32_t slots)
{
	atomic_store_explicit(&r->head, 0, memory_order_relaxed);
	atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
	atomic_store_explicit(&r->dropped, 0, memory_order_relaxed);
	atomic_store_explicit(&r->wake_sent, 0, memory_order_relaxed);
	r->tail_cache = 0;
	r->mask = slots - 1;
}

static bool claim(struct rs_ring_slot *s, uint32_t from)
{
	uint32_t expect = from;
	return atomic_compare_exchange_strong_explicit(&s->state, &expect, RS_SLOT_CLAIMING,
						       memory_order_acquire, memory_order_relaxed);
}

static int publish(int i, uint32_t tid, uint32_t slots)
{
	struct rs_ring_slot *s = &rs_rings.slot[i];
	s->tid = tid;
	rs_ring_init(s->ring, slots);
	/* Release: the reporter sees an initialised ring once it sees OWNED. */
	atomic_store_explicit(&s->state, RS_SLOT_OWNED, memory_order_release);
	return i;
}

int rs_ring_acquire(uint32_t tid, uint32_t slots)
{
	size_t bytes = rs_ring_bytes(slots);
	uint32_t high = atomic_load_explicit(&rs_rings.high, memory_order_acquire);
	for (uint32_t i = 0; i < high; i++) {
		struct rs_ring_slot *s = &rs_rings.slot[i];
		if (rs_load_relaxed(&s->state) == RS_SLOT_IDLE && claim(s, RS_SLOT_IDLE)) {
			if (s->bytes == bytes)
				return publish((int)i, tid, slots);
			rs_sys_munmap(s->ring, s->bytes);
			s->ring = NULL;
			atomic_store_explicit(&s->state, RS_SLOT_FREE, memory_order_release);
		}
	}
	for (uint32_t i = 0; i < RS_MAX_RINGS; i++) {
		struct rs_ring_slot *s = &rs_rings.slot[i];
		if (rs_load_relaxed(&s->state) != RS_SLOT_FREE || !claim(s, RS_SLOT_FREE))
			continue;
		void *mem = rs_sys_mmap(NULL, bytes, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (rs_sys_mmap_failed(mem)) {
			atomic_store_explicit(&s->state, RS_SLOT_FREE, memory_order_release);
			break;
		}
		s->ring = mem;
		s->bytes = bytes;
		uint32_t h = atomic_load_explicit(&rs_rings.high, memory_order_relaxed);
		while (h < i + 1 &&
		       !atomic_compare_exchange_weak_explicit(&rs_rings.high, &h, i + 1,
							      memory_order_release,
							      memory_order_relaxed))
			;
		return publish((int)i, tid, slots);
	}
	rs_add_relaxed(&rs_rings.alloc_failed, 1);
	return -1;
}

void rs_ring_orphan(int slot)
{
	if (slot < 0 || slot >= RS_MAX_RINGS)
		return;
	/* Release: every record committed by the dying thread is visible to the reporter. */
	atomic_store_explicit(&rs_rings.slot[slot].state, RS_SLOT_ORPHAN, memory_order_release);
}

void rs_ring_recycle(int slot)
{
	atomic_store_explicit(&rs_rings.slot[slot].state, RS_SLOT_IDLE, memory_order_release);
}

void rs_ring_trim_idle(unsigned keep)
{
	uint32_t high = atomic_load_explicit(&rs_rings.high, memory_order_acquire);
	for (uint32_t i = 0; i < high; i++) {
		struct rs_ring_slot *s = &rs_rings.slot[i];
		if (rs_load_relaxed(&s->state) != RS_SLOT_IDLE)
			continue;
		if (keep) {
			keep--;
			continue;
		}
		/* Claimed first, so no thread initialises it while its pages go away. */
		if (!claim(s, RS_SLOT_IDLE))
			continue;
		madvise(s->ring, s->bytes, MADV_DONTNEED);
		atomic_store_explicit(&s->state, RS_SLOT_IDLE, memory_order_release);
	}
}

void rs_ring_registry_after_fork(int keep_slot)
{
	rs_store_relaxed(&rs_rings.no_ring_drops, 0); /* the parent's, reported by the parent */
	uint32_t high = rs_load_relaxed(&rs_rings.high);
	for (uint32_t i = 0; i < high; i++) {
		struct rs_ring_slot *s = &rs_rings.slot[i];
		uint32_t st = rs_load_relaxed(&s->state);
		if ((int)i == keep_slot) {
			struct rs_ring *r = s->ring;
			uint64_t h = rs_load_relaxed(&r->head);
			rs_store_relaxed(&r->tail, h);
			r->tail_cache = h;
			rs_store_relaxed(&r->dropped, 0);
		} else if (st == RS_SLOT_CLAIMING || st == RS_SLOT_FREE) {
			/* A claim interrupted by fork: its memory, if any, is unknown; forget it. */
			s->ring = NULL;
			rs_store_relaxed(&s->state, RS_SLOT_FREE);
		} else {
			rs_store_relaxed(&s->state, RS_SLOT_IDLE);
		}
	}
}
