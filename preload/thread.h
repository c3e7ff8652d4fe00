/* Per-thread state: the reentrancy guard, the thread's ring, its id generator. All of it lives in
 * initial-exec TLS, zero-initialised, so a thread needs no setup until its first record. */
#ifndef RS_THREAD_H
#define RS_THREAD_H

#include "process.h"
#include "otel_ctx.h"
#include "record.h"
#include "ring.h"
#include "rs.h"

#include <sys/types.h>

/* Which trace and span a thread's work belongs to. */
struct rs_ctx {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t flags; /* W3C trace-flags */
	bool valid;
	bool remote; /* it came from another process */
};

struct rs_thread {
	int guard;	  /* > 0 while the shim itself is working on this thread */
	bool internal;	  /* a thread of the shim's own: never traced */
	int slot;	  /* ring slot + 1; 0 when the thread has none */
	struct rs_ring *ring;
	pid_t tid;	  /* cached; refreshed in a fork child */
	bool emitting;	  /* between rs_emit_reserve and rs_emit_commit */
	/* Handed down by the creating thread through pthread_create (or, on the main thread, read
	 * from TRACEPARENT): the parent of spans this thread starts when it serves nothing. */
	struct rs_ctx inherited;
	/* The span this thread is serving now. A signal handler on this thread reads it: while
	 * active_seq is odd the writer is mid-update and the handler must not trust it. */
	struct rs_ctx active;
	uint32_t active_seq;
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
	bool behind = rs_ring_commit(rs_t.ring);
	atomic_signal_fence(memory_order_release);
	rs_t.emitting = false;
	if (rs_unlikely(behind))
		rs_process_wake_reporter();
}

/* Claims this thread's ring now if it has none (a signal handler must never claim one). False
 * when no ring is available. Not from a signal handler. */
bool rs_thread_attach_ring(void);

/* For records of more than one slot: a zeroed RS_REC_MAX-byte scratch record (thread-local) to
 * build in, or NULL when this thread is already emitting (a signal handler interrupted it; the
 * drop is counted). Finish with rs_emit_push or rs_emit_abandon. */
union rs_rec *rs_emit_build(void);

/* Copies the built record (hdr.len bytes; hdr.nslots is set here) into the ring. False when it
 * did not fit: dropped and counted. */
bool rs_emit_push(void);

/* Copies a record built elsewhere (hdr.type, hdr.len set) into this thread's ring. False when
 * it did not fit, or a signal handler interrupted this thread's own emission: dropped, counted. */
bool rs_emit_copy(union rs_rec *rec);

static inline void rs_emit_abandon(void)
{
	rs_t.emitting = false;
}

/* Fills a random non-zero 16-byte trace id / 8-byte span id (no system call). */
void rs_new_trace_id(uint8_t id[16]);
void rs_new_span_id(uint8_t id[8]);

/* The calling thread's kernel id, cached. */
pid_t rs_thread_tid(void);

/* Marks the calling thread as the shim's own: every hook passes through on it. */
void rs_thread_set_internal(void);

/* Sets (c != NULL) or clears the span this thread serves, with the sequence protocol above. */
static inline void rs_thread_set_active(const struct rs_ctx *c)
{
	rs_t.active_seq++;
	atomic_signal_fence(memory_order_seq_cst);
	if (c)
		rs_t.active = *c;
	else
		rs_t.active.valid = false;
	atomic_signal_fence(memory_order_seq_cst);
	rs_t.active_seq++;
	/* Other profilers see it too (OpenTelemetry's thread-context record). */
	rs_otel_ctx_publish(c && c->valid ? c->trace_id : NULL, c ? c->span_id : NULL);
}

/* Registers fn to run at the start of every thread created through pthread_create, on that
 * thread, before its start routine (and not on the shim's own threads). Up to 8. */
void rs_thread_at_start(void (*fn)(void));

/* Runs the registered start functions; called by the pthread_create trampoline. */
void rs_thread_started(void);

/* Process-life hooks for thread state (called by process.c). */
void rs_thread_init_process(void);
void rs_thread_after_fork_child(void);

#endif
