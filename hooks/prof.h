/* The profiler inside hooks/: stacks unwound into sample records, from the CPU timer's signal
 * handler (profile.c) and from the hooks where threads wait (wait.c). */
#ifndef RS_HOOKS_PROF_H
#define RS_HOOKS_PROF_H

#include "../preload/clock.h"
#include "../preload/config.h"
#include "../preload/record.h"
#include "../preload/thread.h"

/* Per-thread profiler state, in initial-exec TLS: the handler may read it at any instant. */
struct rs_prof_thread {
	bool in_handler; /* the CPU handler is unwinding: dl_iterate_phdr must use the table */
	bool armed;	 /* this thread's timer exists */
	bool warm;	 /* libunwind's per-thread setup is done: the handler may unwind */
	int timer;	 /* kernel timer id */
	int slot;	 /* its entry in the timer registry + 1 */
};

extern RS_TLS struct rs_prof_thread rs_prof_t;

static inline bool rs_prof_in_handler(void)
{
	return rs_prof_t.in_handler;
}

/* Copies the span the calling thread serves into a sample (or marks it as having none when the
 * thread is mid-update: an odd active_seq). Async-signal-safe. */
static inline void rs_prof_fill_span(struct rs_rec_sample *s)
{
	uint32_t seq = rs_t.active_seq;
	atomic_signal_fence(memory_order_seq_cst);
	if ((seq & 1) || !rs_t.active.valid)
		return;
	/* A handler interrupts its own thread, so an even sequence cannot change under it; the
	 * check after the copy is for callers outside a handler. */
	__builtin_memcpy(s->trace_id, rs_t.active.trace_id, sizeof(s->trace_id));
	__builtin_memcpy(s->span_id, rs_t.active.span_id, sizeof(s->span_id));
	atomic_signal_fence(memory_order_seq_cst);
	if (rs_t.active_seq == seq)
		s->flags |= RS_SAMPLE_HAS_SPAN;
}

static inline bool rs_wait_enabled(void)
{
	return rs_profile_wait(&rs_cfg) && !rs_thread_passthrough();
}

/* Start of a call that may block: a timestamp, or 0 when wait profiling is off or the shim is
 * passing this thread through. */
static inline uint64_t rs_wait_begin(void)
{
	if (rs_likely(!rs_wait_enabled()))
		return 0;
	return rs_mono_ns();
}

/* End of such a call (t0 from rs_wait_begin): when it blocked RINGSIDE_WAIT_THRESHOLD_US or
 * longer, records a wait sample whose stack starts at leaf (the hook, so the wait reads as the
 * function waited in) and continues at the hook's caller, ret (__builtin_return_address(0)).
 * Keeps errno. */
void rs_wait_end_slow(uint64_t t0, enum rs_sample_kind kind, void *leaf, void *ret);

static inline void rs_wait_end(uint64_t t0, enum rs_sample_kind kind, void *leaf, void *ret)
{
	if (t0)
		rs_wait_end_slow(t0, kind, leaf, ret);
}

/* Unwinds the calling thread into frames (libunwind's fast trace, caching on). */
int rs_prof_unwind(uint64_t *frames, int max);

#endif
