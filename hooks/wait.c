/* Wait stacks: where threads block. Contended pthread_mutex_lock and both glibc versions of
 * pthread_cond_wait/timedwait are timed here; the socket hooks time connect, accept and reads.
 * A wait of RINGSIDE_WAIT_THRESHOLD_US or more is recorded with its stack, unwound here in the
 * hook (not in a signal handler), and the time waited. The stack's leaf is the hook itself, so
 * a profile reads "caller -> pthread_mutex_lock". */
#define UNW_LOCAL_ONLY
#include "prof.h"
#include "real.h"
#include "../preload/prof_stats.h"

#include <dlfcn.h>
#include <errno.h>

void rs_wait_end_slow(uint64_t t0, enum rs_sample_kind kind, void *leaf, void *ret)
{
	uint64_t now = rs_mono_ns();
	if (now - t0 < rs_cfg.wait_threshold_us * 1000ull)
		return;
	if (rs_t.emitting) { /* a hook inside the shim's own emission: cannot nest */
		rs_add_relaxed(&rs_prof_stats.dropped_busy, 1);
		return;
	}
	int saved = errno;
	union rs_rec *rec = rs_emit_build();
	struct rs_rec_sample *s = &rec->sample;
	s->h.type = RS_REC_SAMPLE;
	s->kind = (uint8_t)kind;
	s->value_ns = now - t0;
	s->time_ns = rs_epoch_ns() - s->value_ns; /* when the wait began */
	rs_prof_fill_span(s);
	uint64_t *f = s->frames;
	int n = rs_prof_unwind(f + 1, RS_SAMPLE_MAX_FRAMES - 1);
	/* Our own frames go: the trace continues at the hook's caller (a return address, which
	 * libunwind reports minus one). */
	int k = 1;
	while (k <= n && f[k] != (uint64_t)ret - 1 && f[k] != (uint64_t)ret)
		k++;
	if (k > n) {
		k = 1; /* not found: keep the whole trace */
	}
	int keep = n - (k - 1);
	__builtin_memmove(f + 1, f + k, (size_t)keep * sizeof(f[0]));
	f[0] = (uint64_t)leaf + 1; /* inside the hook, for the symbolizer */
	s->nframes = (uint16_t)(keep + 1);
	if (n == RS_SAMPLE_MAX_FRAMES - 1)
		s->flags |= RS_SAMPLE_TRUNCATED;
	s->h.len = (uint16_t)(RS_SAMPLE_FIXED + (size_t)s->nframes * sizeof(f[0]));
	if (rs_emit_push())
		rs_add_relaxed(&rs_prof_stats.taken, 1);
	else
		rs_add_relaxed(&rs_prof_stats.dropped_ring, 1);
	errno = saved;
}

/* Only a contended lock is timed: a trylock first takes the free mutex at the cost of the lock
 * itself. Any answer but EBUSY (taken, EOWNERDEAD, EINVAL...) is what lock would have said. */
HOOK(int, pthread_mutex_lock, pthread_mutex_t *m)
{
	if (!rs_wait_enabled())
		return REAL(pthread_mutex_lock)(m);
	int r = pthread_mutex_trylock(m);
	if (r != EBUSY)
		return r;
	uint64_t t0 = rs_mono_ns();
	r = REAL(pthread_mutex_lock)(m);
	rs_wait_end(t0, RS_SAMPLE_MUTEX, (void *)pthread_mutex_lock, __builtin_return_address(0));
	return r;
}

/* glibc on x86_64 has two pthread_cond_* ABIs: GLIBC_2.3.2 (current) and GLIBC_2.2.5 (the old
 * condition variable layout). Each gets its own hook, exported under its version, calling the
 * real function of the same version (dlvsym). Elsewhere there is one version. */
typedef int cond_wait_fn(pthread_cond_t *, pthread_mutex_t *);
typedef int cond_timedwait_fn(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);

struct cond_real {
	cond_wait_fn *wait;
	cond_timedwait_fn *timedwait;
};

#if defined(__x86_64__)
#define COND_NEW "GLIBC_2.3.2"
#define COND_OLD "GLIBC_2.2.5"
#else
#define COND_NEW NULL
#define COND_OLD NULL
#endif

static struct cond_real cond_new, cond_old; /* cond_old stays empty where there is one ABI */

static void *resolve_versioned(const char *name, const char *version)
{
	return version ? dlvsym(RTLD_NEXT, name, version) : dlsym(RTLD_NEXT, name);
}

static void resolve(struct cond_real *c, const char *version)
{
	if (c == &cond_old && !version)
		return;
	if (__atomic_load_n(&c->wait, __ATOMIC_ACQUIRE))
		return;
	rs_guard_enter(); /* dlvsym may allocate */
	cond_timedwait_fn *tw = resolve_versioned("pthread_cond_timedwait", version);
	cond_wait_fn *w = resolve_versioned("pthread_cond_wait", version);
	rs_guard_leave();
	__atomic_store_n(&c->timedwait, tw, __ATOMIC_RELAXED);
	__atomic_store_n(&c->wait, w, __ATOMIC_RELEASE);
}

static int cond_wait(struct cond_real *c, const char *version, pthread_cond_t *cv,
		     pthread_mutex_t *m, void *leaf, void *ret)
{
	resolve(c, version);
	if (!c->wait)
		return ENOSYS;
	uint64_t t0 = rs_wait_begin();
	int r = c->wait(cv, m);
	rs_wait_end(t0, RS_SAMPLE_COND, leaf, ret);
	return r;
}

static int cond_timedwait(struct cond_real *c, const char *version, pthread_cond_t *cv,
			  pthread_mutex_t *m, const struct timespec *ts, void *leaf, void *ret)
{
	resolve(c, version);
	if (!c->timedwait)
		return ENOSYS;
	uint64_t t0 = rs_wait_begin();
	int r = c->timedwait(cv, m, ts);
	rs_wait_end(t0, RS_SAMPLE_COND, leaf, ret);
	return r;
}

#if defined(__x86_64__)
RS_EXPORT int rs_cond_wait_new(pthread_cond_t *cv, pthread_mutex_t *m)
{
	return cond_wait(&cond_new, COND_NEW, cv, m, (void *)rs_cond_wait_new,
			 __builtin_return_address(0));
}

RS_EXPORT int rs_cond_timedwait_new(pthread_cond_t *cv, pthread_mutex_t *m,
				    const struct timespec *ts)
{
	return cond_timedwait(&cond_new, COND_NEW, cv, m, ts, (void *)rs_cond_timedwait_new,
			      __builtin_return_address(0));
}

RS_EXPORT int rs_cond_wait_old(pthread_cond_t *cv, pthread_mutex_t *m)
{
	return cond_wait(&cond_old, COND_OLD, cv, m, (void *)rs_cond_wait_old,
			 __builtin_return_address(0));
}

RS_EXPORT int rs_cond_timedwait_old(pthread_cond_t *cv, pthread_mutex_t *m,
				    const struct timespec *ts)
{
	return cond_timedwait(&cond_old, COND_OLD, cv, m, ts, (void *)rs_cond_timedwait_old,
			      __builtin_return_address(0));
}

/* "@@@" makes the versioned name the definition itself and drops the rs_ name from the symbol
 * table; "remove" does the same for a non-default version. The version nodes are declared in
 * exports.map.in. */
__asm__(".symver rs_cond_wait_new, pthread_cond_wait@@@GLIBC_2.3.2");
__asm__(".symver rs_cond_timedwait_new, pthread_cond_timedwait@@@GLIBC_2.3.2");
__asm__(".symver rs_cond_wait_old, pthread_cond_wait@GLIBC_2.2.5, remove");
__asm__(".symver rs_cond_timedwait_old, pthread_cond_timedwait@GLIBC_2.2.5, remove");
#else
HOOK(int, pthread_cond_wait, pthread_cond_t *cv, pthread_mutex_t *m)
{
	return cond_wait(&cond_new, COND_NEW, cv, m, (void *)pthread_cond_wait,
			 __builtin_return_address(0));
}

HOOK(int, pthread_cond_timedwait, pthread_cond_t *cv, pthread_mutex_t *m,
     const struct timespec *ts)
{
	return cond_timedwait(&cond_new, COND_NEW, cv, m, ts, (void *)pthread_cond_timedwait,
			      __builtin_return_address(0));
}
#endif

__attribute__((constructor(104))) static void rs_wait_init(void)
{
	resolve(&cond_new, COND_NEW);
	resolve(&cond_old, COND_OLD);
}
