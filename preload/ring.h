/* Lock-free single-producer single-consumer rings of fixed-size records, one per application
 * thread, and the registry through which the reporter finds them. The producer never blocks,
 * allocates or makes a system call: a full ring drops the record and counts it. */
#ifndef RS_RING_H
#define RS_RING_H

#include "record.h"
#include "rs.h"

struct rs_ring {
	/* Producer's cache line. */
	_Alignas(64) _Atomic uint64_t head; /* next slot to fill; published with release */
	uint64_t tail_cache;		    /* producer's last view of tail */
	_Atomic uint64_t dropped;	    /* records refused because the ring was full */
	uint32_t mask;			    /* slots - 1; immutable after creation */
	_Atomic uint32_t wake_sent;	    /* the producer woke the reporter; it clears this */
	/* Consumer's cache line. */
	_Alignas(64) _Atomic uint64_t tail; /* next slot to read; published with release */
	_Alignas(64) union rs_rec slots[];
};

/* Bytes for a ring of the given size (a power of two). */
static inline size_t rs_ring_bytes(uint32_t slots)
{
	return sizeof(struct rs_ring) + (size_t)slots * sizeof(union rs_rec);
}

/* Prepares ring memory of rs_ring_bytes(slots) bytes; slots must be a power of two. */
void rs_ring_init(struct rs_ring *r, uint32_t slots);

/* Producer: a slot to fill, or NULL when the ring is full (the drop is counted). */
static inline union rs_rec *rs_ring_reserve(struct rs_ring *r)
{
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (rs_unlikely(h - r->tail_cache > r->mask)) {
		/* Acquire pairs with the consumer's release of tail: slots it has read are free. */
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (h - r->tail_cache > r->mask) {
			atomic_store_explicit(&r->dropped,
					      atomic_load_explicit(&r->dropped,
								   memory_order_relaxed) + 1,
					      memory_order_relaxed);
			return NULL;
		}
	}
	return &r->slots[h & r->mask];
}

/* Producer, every 256 slots: true when the ring is more than half full and the reporter has not
 * been woken for it since it last drained it. The caller then wakes the reporter: the one system
 * call an application thread makes, and only when the reporter has fallen behind. */
static inline bool rs_ring_behind(struct rs_ring *r, uint64_t h)
{
	if (rs_likely((h & 255) != 0) || rs_load_relaxed(&r->wake_sent))
		return false;
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (h - t <= (r->mask + 1ull) / 2)
		return false;
	atomic_store_explicit(&r->wake_sent, 1, memory_order_relaxed);
	return true;
}

/* Producer: copies a whole record of len bytes (at most RS_REC_MAX) into the next slots, wrapping
 * at the end of the ring, and publishes it; false when it does not fit (the drop is counted).
 * *behind tells the caller to wake the reporter (see rs_ring_behind). */
static inline bool rs_ring_push(struct rs_ring *r, const void *rec, size_t len, bool *behind)
{
	uint64_t n = (len + RS_REC_SIZE - 1) / RS_REC_SIZE;
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	if (rs_unlikely(h + n - r->tail_cache > r->mask + 1ull)) {
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (h + n - r->tail_cache > r->mask + 1ull) {
			atomic_store_explicit(&r->dropped,
					      atomic_load_explicit(&r->dropped,
								   memory_order_relaxed) + 1,
					      memory_order_relaxed);
			return false;
		}
	}
	const uint8_t *src = rec;
	for (uint64_t i = 0; i < n; i++) {
		size_t chunk = RS_MIN(len - i * RS_REC_SIZE, (size_t)RS_REC_SIZE);
		__builtin_memcpy(&r->slots[(h + i) & r->mask], src + i * RS_REC_SIZE, chunk);
	}
	/* Release: the record's bytes are visible before the consumer sees the new head. */
	atomic_store_explicit(&r->head, h + n, memory_order_release);
	*behind = false;
	for (uint64_t i = 1; i <= n && !*behind; i++)
		*behind = rs_ring_behind(r, h + i);
	return true;
}

/* Producer: publishes the slot returned by the last rs_ring_reserve. Returns true when the caller
 * should wake the reporter (see rs_ring_behind). */
static inline bool rs_ring_commit(struct rs_ring *r)
{
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	/* Release: the record's bytes are visible before the consumer sees the new head. */
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return rs_ring_behind(r, h + 1);
}

/* Consumer: number of records ready from *first on. */
static inline uint64_t rs_ring_ready(struct rs_ring *r, uint64_t *first)
{
	*first = atomic_load_explicit(&r->tail, memory_order_relaxed);
	/* Acquire pairs with the producer's release of head. */
	return atomic_load_explicit(&r->head, memory_order_acquire) - *first;
}

static inline const union rs_rec *rs_ring_at(struct rs_ring *r, uint64_t pos)
{
	return &r->slots[pos & r->mask];
}

/* Consumer: the record of nslots slots at pos as one contiguous block: in place, or copied into
 * buf (RS_REC_MAX bytes) when it wraps around the end of the ring. */
static inline const union rs_rec *rs_ring_record(struct rs_ring *r, uint64_t pos, unsigned nslots,
						 union rs_rec *buf)
{
	uint64_t first = pos & r->mask;
	if (first + nslots <= r->mask + 1ull)
		return &r->slots[first];
	for (unsigned i = 0; i < nslots; i++)
		__builtin_memcpy(&buf[i], &r->slots[(pos + i) & r->mask], RS_REC_SIZE);
	return buf;
}

/* Consumer: frees every slot before pos. */
static inline void rs_ring_release(struct rs_ring *r, uint64_t pos)
{
	/* Release: our reads of the slots happen before the producer may overwrite them. */
	atomic_store_explicit(&r->tail, pos, memory_order_release);
}

/* --- registry --- */

#define RS_MAX_RINGS 4096

enum rs_slot_state {
	RS_SLOT_FREE = 0, /* no memory */
	RS_SLOT_CLAIMING, /* a thread is setting it up; the reporter skips it */
	RS_SLOT_OWNED,	  /* a live thread produces into it */
	RS_SLOT_ORPHAN,	  /* its thread has exited; the reporter drains it, then idles it */
	RS_SLOT_IDLE,	  /* memory kept for the next thread */
};

struct rs_ring_slot {
	_Atomic uint32_t state;
	uint32_t tid;
	struct rs_ring *ring;
	size_t bytes;
};

struct rs_ring_registry {
	struct rs_ring_slot slot[RS_MAX_RINGS];
	_Atomic uint32_t high; /* slots in use are below this */
	_Atomic uint64_t alloc_failed;  /* rings that could not be created */
	_Atomic uint64_t no_ring_drops; /* records dropped for want of a ring to hold them */
};

extern struct rs_ring_registry rs_rings;

/* Application thread: claims a ring of `slots` records for thread tid, reusing an idle one when it
 * can (else one mmap). Returns the slot index, or -1 when none is available (counted). */
int rs_ring_acquire(uint32_t tid, uint32_t slots);

/* Application thread at exit: hands its ring to the reporter to drain and recycle. */
void rs_ring_orphan(int slot);

/* Reporter: an orphaned ring has been drained; keep its memory for the next thread. */
void rs_ring_recycle(int slot);

/* Reporter: gives the pages of idle rings beyond the first keep back to the kernel (the mapping
 * stays; a thread that takes one of them faults fresh pages in). */
void rs_ring_trim_idle(unsigned keep);

/* Fork child: every ring but keep_slot (the forking thread's, or -1) becomes idle and the kept one
 * is emptied, since what they hold belongs to the parent. */
void rs_ring_registry_after_fork(int keep_slot);

#endif
