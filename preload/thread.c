/* Thread life for the shim: claiming a ring on a thread's first record, handing it back when the
 * thread ends (a pthread key destructor runs on return, pthread_exit and cancellation alike), and
 * the per-thread id generator. */
#include "thread.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "process.h"
#include "sys.h"

#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>

RS_TLS struct rs_thread rs_t;
_Atomic bool rs_active;

static pthread_key_t exit_key;
static bool exit_key_ok;
static uint32_t ring_slots;

static void on_thread_exit(void *value)
{
	int slot = (int)(intptr_t)value - 1;
	if (rs_t.slot == slot + 1) {
		rs_t.ring = NULL;
		rs_t.slot = 0;
	}
	rs_ring_orphan(slot);
}

void rs_thread_init_process(void)
{
	uint32_t n = (uint32_t)((uint64_t)rs_cfg.ring_kb * 1024 / RS_REC_SIZE);
	ring_slots = 1;
	while (ring_slots * 2 <= n)
		ring_slots *= 2;
	/* Created in the constructor, this key gets a low index, whose value glibc keeps in the
	 * thread descriptor: pthread_setspecific will not allocate. */
	exit_key_ok = pthread_key_create(&exit_key, on_thread_exit) == 0;
}

pid_t rs_thread_tid(void)
{
	if (rs_unlikely(rs_t.tid == 0))
		rs_t.tid = rs_sys_gettid();
	return rs_t.tid;
}

static RS_NOINLINE RS_COLD bool attach_ring(void)
{
	int slot = rs_ring_acquire((uint32_t)rs_thread_tid(), ring_slots);
	if (slot < 0)
		return false;
	rs_t.ring = rs_rings.slot[slot].ring;
	rs_t.slot = slot + 1;
	if (exit_key_ok)
		pthread_setspecific(exit_key, (void *)(intptr_t)(slot + 1));
	rs_process_need_reporter();
	return true;
}

bool rs_thread_attach_ring(void)
{
	return rs_t.ring || attach_ring();
}

union rs_rec *rs_emit_reserve(void)
{
	if (rs_unlikely(rs_t.emitting)) {
		/* A signal handler interrupted this thread's own emission. */
		rs_add_relaxed(&rs_rings.no_ring_drops, 1);
		return NULL;
	}
	if (rs_unlikely(!rs_t.ring) && !attach_ring()) {
		rs_add_relaxed(&rs_rings.no_ring_drops, 1);
		return NULL;
	}
	union rs_rec *rec = rs_ring_reserve(rs_t.ring);
	if (rec) {
		rs_t.emitting = true;
		/* The flag is set before the slot is written, as a handler on this thread sees it. */
		atomic_signal_fence(memory_order_acquire);
	}
	return rec;
}

static RS_TLS union rs_rec scratch[RS_REC_MAX_SLOTS];

union rs_rec *rs_emit_build(void)
{
	if (rs_unlikely(rs_t.emitting)) {
		rs_add_relaxed(&rs_rings.no_ring_drops, 1);
		return NULL;
	}
	rs_t.emitting = true;
	atomic_signal_fence(memory_order_acquire);
	__builtin_memset(scratch, 0, sizeof(union rs_rec)); /* the fixed part; the tail is appended */
	scratch[0].hdr.len = sizeof(union rs_rec);
	return scratch;
}

/* With rs_t.emitting set: fills in the header and copies rec into the ring. */
static bool push(union rs_rec *rec)
{
	size_t len = RS_MIN((size_t)rec->hdr.len, (size_t)RS_REC_MAX);
	rec->hdr.nslots = (uint8_t)((len + RS_REC_SIZE - 1) / RS_REC_SIZE);
	rec->hdr.tid = (uint32_t)rs_thread_tid();
	bool ok = false, behind = false;
	if (rs_t.ring || attach_ring())
		ok = rs_ring_push(rs_t.ring, rec, len, &behind);
	else
		rs_add_relaxed(&rs_rings.no_ring_drops, 1);
	atomic_signal_fence(memory_order_release);
	rs_t.emitting = false;
	if (rs_unlikely(behind))
		rs_process_wake_reporter();
	return ok;
}

bool rs_emit_push(void)
{
	return push(scratch);
}

bool rs_emit_copy(union rs_rec *rec)
{
	if (rs_unlikely(rs_t.emitting)) {
		rs_add_relaxed(&rs_rings.no_ring_drops, 1);
		return false;
	}
	rs_t.emitting = true;
	atomic_signal_fence(memory_order_acquire);
	return push(rec);
}

static void (*start_fns[8])(void);
static _Atomic int n_start_fns;

void rs_thread_at_start(void (*fn)(void))
{
	int i = atomic_fetch_add(&n_start_fns, 1);
	if (i < (int)RS_ARRAY_LEN(start_fns))
		start_fns[i] = fn;
}

void rs_thread_started(void)
{
	int n = RS_MIN(rs_load_relaxed(&n_start_fns), (int)RS_ARRAY_LEN(start_fns));
	for (int i = 0; i < n; i++)
		start_fns[i]();
}

void rs_thread_set_internal(void)
{
	rs_t.internal = true;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Seeds from the 16 random bytes the kernel gives every process (AT_RANDOM), mixed with the
 * thread, process and time so that threads and fork children never share a sequence. */
static RS_COLD __attribute__((noinline)) void seed_random(void)
{
	uint64_t seed[2] = {0, 0};
	const void *at = (const void *)getauxval(AT_RANDOM);
	if (at)
		memcpy(seed, at, sizeof(seed));
	uint64_t s = seed[0] ^ (seed[1] * 0x2545f4914f6cdd1dull) ^
		     ((uint64_t)rs_thread_tid() << 32) ^ (uint64_t)rs_process_pid() ^ rs_mono_ns() ^
		     (uint64_t)(uintptr_t)&rs_t;
	splitmix64(&s);
	rs_t.rng = s | 1;
}

/* Inline in the id makers (ids are made on every request); seeding once, out of line. */
static inline uint64_t next_random(void)
{
	if (rs_unlikely(rs_t.rng == 0))
		seed_random();
	return splitmix64(&rs_t.rng);
}

void rs_new_trace_id(uint8_t id[16])
{
	uint64_t a, b;
	do {
		a = next_random();
		b = next_random();
	} while ((a | b) == 0);
	memcpy(id, &a, 8);
	memcpy(id + 8, &b, 8);
}

void rs_new_span_id(uint8_t id[8])
{
	uint64_t a;
	do
		a = next_random();
	while (a == 0);
	memcpy(id, &a, 8);
}

void rs_thread_after_fork_child(void)
{
	rs_t.tid = rs_sys_gettid();
	rs_t.rng = 0;
	rs_t.emitting = false;
	rs_ring_registry_after_fork(rs_t.slot - 1);
}
