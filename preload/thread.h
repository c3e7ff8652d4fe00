/* Per-thread state: the reentrancy guard, the thread's ring, its id generator. All of it lives in
 * initial-exec TLS, zero-initialised, so a thread needs no setup until its first record. */
#ifndef RS_THREAD_H
#define RS_THREAD_H

#include "record.h"
#include "ring.h"
#include "rs.h"

#include <sys/types.h>

struct rs_thread {
	int guard;	  /* > 0 while the shim itself is working on this thread */
	bool internal;	  /* a thread of the shim's own: never traced */
	int slot;	  /* ring slot + 1; 0 when the thread has none */
	struct rs_ring *ring;
	pid_t tid;	  /* cached; refreshed in a fork child */
	bool emitting;	  /* between rs_emit_reserve and rs_emit_commit */
	uint64_t rng;	  /* splitmix64 state; 0 until seeded */
};

extern RS_TLS struct rs_thread rs_t;

/* True when hooks on this thread must pass straight through: the shim is disabled or not yet
 * initialised, the thread is internal, or the shim itself is the caller. */
extern _Atomic bool rs_active;
static inline bool rs_thread_passthrough(void)
{
	return !rs_load_relaxed(&rs_active) || rs_t.guard || rs_t.internal;
}

/* Enter/leave the shim's own code on this thread. */
static inline void rs_guard_enter(void)
{
	rs_t.guard++;
}
static inline void rs_guard_leave(void)
{
	rs_t.guard--;
}

/* A slot to fill in this thread's ring (claiming the ring on first use), or NULL: the record is
 * dropped and counted. A signal handler that records while its thread is between reserve and
 * commit gets NULL too (one producer per ring). Must not be called from a signal handler before
 * the thread has a ring. */
union rs_rec *rs_emit_reserve(void);

static inline void rs_emit_commit(void)
{
	rs_ring_commit(rs_t.ring);
	atomic_signal_fence(memory_order_release);
	rs_t.emitting = false;
}

/* Fills a random non-zero 16-byte trace id / 8-byte span id (no system call). */
void rs_new_trace_id(uint8_t id[16]);
void rs_new_span_id(uint8_t id[8]);

/* The calling thread's kernel id, cached. */
pid_t rs_thread_tid(void);

/* Marks the calling thread as the shim's own: every hook passes through on it. */
void rs_thread_set_internal(void);

/* Process-life hooks for thread state (called by process.c). */
void rs_thread_init_process(void);
void rs_thread_after_fork_child(void);

#endif
