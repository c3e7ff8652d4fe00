/* CPU sampling: a CLOCK_THREAD_CPUTIME_ID timer per thread (SIGEV_THREAD_ID), armed for the main
 * thread in a constructor and for every new thread in the pthread_create trampoline. The signal
 * handler unwinds with libunwind's unw_backtrace into the thread's ring; nothing else. What keeps
 * the handler off the loader's lock: each thread unwinds once before its timer is armed (libunwind
 * creates its per-thread caches then), and when libunwind meets an address it has not cached it
 * calls dl_iterate_phdr, which inside the handler walks the shim's own table (hooks/dl.c).
 * The same handler answers the reporter's requests for a thread's stack (preload/snapshot.h), for
 * SkyWalking's profile tasks; that needs the handler but no timers.
 * If the program installs its own handler for the signal, the program wins: every timer is
 * deleted, profiling stops, and one line says so. */
#define UNW_LOCAL_ONLY
#include "prof.h"
#include "real.h"
#include "../preload/log.h"
#include "../preload/objtab.h"
#include "../preload/process.h"
#include "../preload/prof_stats.h"
#include "../preload/snapshot.h"
#include "../preload/sys.h"

#include <errno.h>
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

RS_TLS struct rs_prof_thread rs_prof_t;
struct rs_prof_stats rs_prof_stats;

static int prof_sig;	       /* SIGRTMAX - 3: real-time signals near the top are rarely taken */
static _Atomic bool prof_on;   /* the handler is installed and timers may run */
static bool timers_on;	       /* RINGSIDE_PROFILE has cpu: every thread gets a timer */
_Atomic bool rs_snapshots_ready;
static uint64_t period_ns;
static pthread_key_t timer_key;

/* Every armed timer, so that all of them can be deleted when the program takes the signal. A
 * slot is deleted by whoever moves it from ARMED to FREE first (its thread at exit, or the
 * takeover), so a timer id is never deleted twice and never after the kernel reused it. */
enum { SLOT_FREE, SLOT_CLAIMED, SLOT_ARMED };
static struct {
	_Atomic int state;
	int timer;
} timers[RS_MAX_RINGS];

int rs_prof_unwind(uint64_t *frames, int max)
{
	rs_guard_enter(); /* any hook libunwind reaches passes straight through */
	int n = unw_backtrace((void **)frames, max);
	rs_guard_leave();
	return n < 0 ? 0 : n;
}

static void on_tick(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	int saved = errno;
	/* Ours only: a timer of this thread that still exists, or the reporter's request for a
	 * snapshot (any other sender of the signal is ignored). */
	uint32_t tag = 0;
	bool snap = rs_snapshot_is_request(si, &tag);
	if (snap ? !rs_prof_t.warm : (si->si_code != SI_TIMER || !rs_prof_t.armed)) {
		if (snap)
			rs_add_relaxed(&rs_prof_stats.snapshots_lost, 1);
		goto out;
	}
	_Atomic uint64_t *lost = snap ? &rs_prof_stats.snapshots_lost : NULL;
	if (!rs_t.ring) { /* the thread is ending: its ring went back before its timer */
		rs_add_relaxed(lost ? lost : &rs_prof_stats.dropped_no_ring, 1);
		goto out;
	}
	if (rs_t.emitting) { /* one producer per ring: the thread was writing a record */
		rs_add_relaxed(lost ? lost : &rs_prof_stats.dropped_busy, 1);
		goto out;
	}
	union rs_rec *rec = rs_emit_build();
	if (!rec)
		goto out;
	struct rs_rec_sample *s = &rec->sample;
	s->h.type = snap ? RS_REC_SNAPSHOT : RS_REC_SAMPLE;
	s->kind = RS_SAMPLE_CPU;
	s->tag = tag;
	s->value_ns = snap ? 0 : period_ns * (1 + (uint64_t)(si->si_overrun > 0 ? si->si_overrun : 0));
	s->time_ns = rs_epoch_ns();
	rs_prof_fill_span(s);

	rs_prof_t.in_handler = true;
	int n = rs_prof_unwind(s->frames, RS_SAMPLE_MAX_FRAMES);
	rs_prof_t.in_handler = false;

	/* Drop the handler's own frames and the signal frame: the stack starts at the interrupted
	 * instruction. Without it in the trace, keep that instruction alone. */
	const ucontext_t *uc = ucv;
#if defined(__x86_64__)
	uint64_t pc = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	uint64_t pc = (uint64_t)uc->uc_mcontext.pc;
#endif
	int k = 0;
	while (k < n && s->frames[k] != pc)
		k++;
	if (k == n) {
		s->frames[0] = pc;
		n = 1;
	} else {
		n -= k;
		__builtin_memmove(s->frames, s->frames + k, (size_t)n * sizeof(s->frames[0]));
		if (n + k == RS_SAMPLE_MAX_FRAMES)
			s->flags |= RS_SAMPLE_TRUNCATED;
	}
	s->nframes = (uint16_t)n;
	s->h.len = (uint16_t)(RS_SAMPLE_FIXED + (size_t)n * sizeof(s->frames[0]));
	bool pushed = rs_emit_push();
	if (snap)
		rs_add_relaxed(pushed ? &rs_prof_stats.snapshots : &rs_prof_stats.snapshots_lost, 1);
	else
		rs_add_relaxed(pushed ? &rs_prof_stats.taken : &rs_prof_stats.dropped_ring, 1);
out:
	errno = saved;
}

/* Deletes slot i's timer if nobody did yet. */
static void delete_slot(int i)
{
	int expect = SLOT_ARMED;
	if (atomic_compare_exchange_strong(&timers[i].state, &expect, SLOT_CLAIMED)) {
		rs_sys1(SYS_timer_delete, timers[i].timer);
		atomic_store(&timers[i].state, SLOT_FREE);
	}
}

static void on_thread_exit(void *value)
{
	(void)value;
	if (!rs_prof_t.armed)
		return;
	rs_prof_t.armed = false; /* before the delete: a last signal may still be on its way */
	delete_slot(rs_prof_t.slot - 1);
	rs_prof_t.slot = 0;
}

/* Tells the reporter this thread's name (it reads /proc for later renames while it lives). */
static void emit_thread_name(void)
{
	union rs_rec *rec = rs_emit_reserve();
	if (!rec)
		return;
	memset(rec, 0, sizeof(*rec));
	rec->thread.h.type = RS_REC_THREAD;
	rec->thread.h.nslots = 1;
	rec->thread.h.len = sizeof(rec->thread);
	rec->thread.h.tid = (uint32_t)rs_thread_tid();
	prctl(PR_GET_NAME, rec->thread.name, 0, 0, 0);
	rs_emit_commit();
}

/* On the thread to profile, outside any handler. */
static void arm_this_thread(void)
{
	if (!atomic_load(&prof_on) || rs_prof_t.armed || rs_t.internal)
		return;
	int saved = errno;
	/* The handler never claims a ring, and libunwind sets up this thread's caches now. A
	 * thread asked only for snapshots has a ring once it serves a span, or the snapshot is
	 * counted as lost. */
	if (timers_on && !rs_thread_attach_ring())
		goto out;
	uint64_t warm[8];
	rs_prof_unwind(warm, 8);
	rs_prof_t.warm = true;
	if (!timers_on)
		goto out; /* snapshots only */
	emit_thread_name();

	int slot = -1;
	for (int i = 0; i < RS_MAX_RINGS && slot < 0; i++) {
		int expect = SLOT_FREE;
		if (atomic_compare_exchange_strong(&timers[i].state, &expect, SLOT_CLAIMED))
			slot = i;
	}
	if (slot < 0) {
		RS_LOG_ONCE(RS_LOG_WARN, "more than %d profiled threads; new ones are not sampled",
			    RS_MAX_RINGS);
		goto out;
	}
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = prof_sig;
	sev._sigev_un._tid = rs_thread_tid();
	int id = -1;
	long e = rs_sys3(SYS_timer_create, CLOCK_THREAD_CPUTIME_ID, &sev, &id);
	if (e < 0) {
		atomic_store(&timers[slot].state, SLOT_FREE);
		RS_LOG_ONCE(RS_LOG_WARN, "cannot create a CPU-time timer: %s; threads without one are "
					 "not sampled", strerror((int)-e));
		goto out;
	}
	timers[slot].timer = id;
	rs_prof_t.timer = id;
	rs_prof_t.slot = slot + 1;
	rs_prof_t.armed = true;
	pthread_setspecific(timer_key, (void *)1);
	atomic_store(&timers[slot].state, SLOT_ARMED);
	struct itimerspec its;
	its.it_value.tv_sec = (time_t)(period_ns / 1000000000ull);
	its.it_value.tv_nsec = (long)(period_ns % 1000000000ull);
	its.it_interval = its.it_value;
	rs_sys4(SYS_timer_settime, id, 0, &its, NULL);
out:
	errno = saved;
}

/* The program installed its own disposition for our signal: stop, and leave it the signal. */
static void give_up_signal(void)
{
	if (!atomic_exchange(&prof_on, false))
		return;
	atomic_store(&rs_snapshots_ready, false);
	for (int i = 0; i < RS_MAX_RINGS; i++)
		delete_slot(i);
	rs_prof_t.armed = false;
	rs_log(RS_LOG_WARN, "the program installs its own handler for signal %d (SIGRTMAX-3), which "
			    "the profiler uses; CPU profiling and stack snapshots of this process stop",
	       prof_sig);
}

/* True when a sigaction/signal call would change our signal's disposition. */
static bool takes_our_signal(int sig)
{
	return sig == prof_sig && atomic_load(&prof_on);
}

RS_EARLY_RESOLVER(sigaction)
RS_EARLY_RESOLVER(signal)

/* A sanitizer runtime preloaded ahead of a sanitizer build of the shim installs its handlers
 * before it has set itself up: the path for other signals is not instrumented. */
static int sigaction_ours(int sig, const struct sigaction *act, struct sigaction *old);
static sighandler_t signal_ours(int sig, sighandler_t handler);

RS_NO_SANITIZE
HOOK(int, sigaction, int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig != prof_sig || !prof_on)
		return RS_EARLY_REAL(sigaction)(sig, act, old);
	return sigaction_ours(sig, act, old);
}

RS_NO_SANITIZE
HOOK(sighandler_t, signal, int sig, sighandler_t handler)
{
	if (sig != prof_sig || !prof_on)
		return RS_EARLY_REAL(signal)(sig, handler);
	return signal_ours(sig, handler);
}

static int sigaction_ours(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!takes_our_signal(sig) || rs_thread_passthrough())
		return REAL(sigaction)(sig, act, old);
	if (!act) {
		/* A query: the program sees the disposition it would have without the shim. */
		int r = REAL(sigaction)(sig, NULL, old);
		if (r == 0 && old) {
			memset(old, 0, sizeof(*old));
			old->sa_handler = SIG_DFL;
		}
		return r;
	}
	give_up_signal();
	/* Ignoring discards a signal a deleted timer may have left pending, so the program's
	 * handler never sees one of ours. */
	struct sigaction ign;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	REAL(sigaction)(sig, &ign, NULL);
	int r = REAL(sigaction)(sig, act, old);
	if (r == 0 && old) {
		memset(old, 0, sizeof(*old));
		old->sa_handler = SIG_DFL;
	}
	return r;
}

static sighandler_t signal_ours(int sig, sighandler_t handler)
{
	if (!takes_our_signal(sig) || rs_thread_passthrough())
		return REAL(signal)(sig, handler);
	struct sigaction act;
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	act.sa_flags = SA_RESTART; /* signal()'s BSD semantics, as glibc gives them */
	int saved = errno;
	int r = sigaction(sig, &act, NULL);
	if (r == 0)
		errno = saved;
	return r == 0 ? SIG_DFL : SIG_ERR;
}

static void after_fork_child(void)
{
	/* Timers are not inherited: the forking thread, the child's only one, gets a new one. */
	memset(timers, 0, sizeof(timers));
	rs_prof_t.armed = false;
	rs_prof_t.slot = 0;
	arm_this_thread();
}

/* After the profile sink is registered (104): arming may start the reporter, which takes the
 * sinks it has then. */
__attribute__((constructor(105))) static void rs_profile_init(void)
{
	/* SkyWalking's profile tasks come over gRPC, and need the handler for their snapshots. */
	bool snapshots = rs_cfg.exporter == RS_EXPORTER_SKYWALKING && rs_cfg.sw_profile_active &&
			 rs_cfg.sw_protocol == RS_SW_GRPC;
	if (!rs_load_relaxed(&rs_active) || !(rs_profile_cpu(&rs_cfg) || snapshots))
		return;
	timers_on = rs_profile_cpu(&rs_cfg);
	prof_sig = RS_PROF_SIGNAL;
	period_ns = 1000000000ull / rs_cfg.profile_hz;
	struct sigaction cur;
	if (REAL(sigaction)(prof_sig, NULL, &cur) != 0 || cur.sa_handler != SIG_DFL) {
		rs_log(RS_LOG_WARN, "signal %d (SIGRTMAX-3) is already taken; no CPU profiling and no "
				    "stack snapshots", prof_sig);
		return;
	}
	if (pthread_key_create(&timer_key, on_thread_exit) != 0)
		return;
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	rs_objtab_rebuild(REAL(dl_iterate_phdr));
	struct sigaction act;
	memset(&act, 0, sizeof(act));
	act.sa_sigaction = on_tick;
	act.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&act.sa_mask); /* short, and nothing else of ours runs on top of it */
	if (REAL(sigaction)(prof_sig, &act, NULL) != 0)
		return;
	atomic_store(&prof_on, true);
	atomic_store(&rs_snapshots_ready, true);
	rs_thread_at_start(arm_this_thread);
	rs_process_at_fork_child(after_fork_child);
	arm_this_thread();
}
