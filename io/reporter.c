/* The reporter thread: one per process, started by the first record. It drains every ring, feeds
 * the exporter, seals batches by size and by OTEL_BSP_SCHEDULE_DELAY, and serves flush requests
 * from exit and exec. It sleeps in the loop between drains, longer when the rings are quiet and
 * shorter when they fill, so application threads never have to wake it. */
#include "../preload/clock.h"
#include "../preload/config.h"
#include "../preload/log.h"
#include "../preload/process.h"
#include "../preload/ring.h"
#include "../preload/sys.h"
#include "../preload/thread.h"
#include "exporter.h"
#include "loop.h"
#include "process_resource.h"
#include "sink.h"
#include "span_join.h"
#include "sw_profile.h"
#include "stats.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#define TICK_MIN_NS 1000000ull	   /* 1 ms: rings filling fast */
#define TICK_MAX_NS 100000000ull   /* 100 ms: idle */
#define HOUSEKEEP_NS 1000000000ull /* clock resync, descriptor checks */

struct rs_io_stats rs_io_stats;

static struct {
	struct rs_loop loop;
	const struct rs_exporter *exp;
	bool exp_ok;
	bool sinks_started;
	_Atomic bool running;
	_Atomic bool failed; /* no thread: flushes must not wait */
	uint64_t batch_opened_ns;
	uint64_t tick_ns;
	uint64_t last_drain_ns;
	uint64_t fill_rate;
	uint64_t next_housekeep_ns;
	uint64_t drop_seen[RS_MAX_RINGS];
	_Atomic uint64_t no_ring_seen; /* also read by the exiting thread's loss report */
	union rs_rec wrap_buf[RS_REC_MAX_SLOTS]; /* a record that wraps around its ring's end */
	struct rs_resource resource;
} R;

static const struct rs_sink *sinks[4];
static int n_sinks;

void rs_reporter_add_sink(const struct rs_sink *s)
{
	if (n_sinks < (int)RS_ARRAY_LEN(sinks))
		sinks[n_sinks++] = s;
}

static const struct rs_sink *sink_for(uint8_t type)
{
	for (int i = 0; i < n_sinks; i++)
		if (type >= sinks[i]->type_min && type <= sinks[i]->type_max)
			return sinks[i];
	return NULL;
}

/* Flush protocol: a caller bumps flush_req and wakes the loop; the reporter stores the request it
 * has fully served into flush_done and futex-wakes the waiters. */
static _Atomic uint32_t flush_req;
static _Atomic uint32_t flush_done;
static _Atomic bool flush_at_exit; /* the flush being asked for is the last one */

/* A whole span: to the exporter's open batch. */
static void deliver(const union rs_rec *rec)
{
	RS_STAT_ADD(spans_recorded, 1);
	if (rs_cfg.exporter == RS_EXPORTER_NONE)
		return; /* asked for: not a loss */
	if (!R.exp_ok) {
		RS_STAT_ADD(dropped_no_exporter, 1);
		return;
	}
	if (R.exp->open_spans() == 0)
		R.batch_opened_ns = rs_mono_ns();
	R.exp->add(rec);
	if (R.exp->open_spans() >= rs_cfg.bsp_max_export_batch)
		R.exp->seal();
}

static void take(const union rs_rec *rec)
{
	switch (rec->hdr.type) {
	case RS_REC_SPAN:
		deliver(rec);
		return;
	case RS_REC_SPAN_BEGIN:
		if (rs_sw_profile_watching)
			rs_sw_profile_observe(rec);
		rs_join_begin(rec, deliver);
		return;
	case RS_REC_SPAN_END:
		if (rs_sw_profile_watching)
			rs_sw_profile_observe(rec);
		rs_join_end(rec, deliver);
		return;
	default: {
		const struct rs_sink *s = R.sinks_started ? sink_for(rec->hdr.type) : NULL;
		if (s)
			s->take(rec);
		else
			RS_STAT_ADD(dropped_corrupt, 1);
	}
	}
}

/* The ring in slot i if a thread produces into it or its records still wait (owned or orphaned),
 * else NULL; *state tells which. Acquire: an initialised ring and an orphan's last records. */
static struct rs_ring *live_ring(uint32_t i, uint32_t *state)
{
	*state = atomic_load_explicit(&rs_rings.slot[i].state, memory_order_acquire);
	if (*state != RS_SLOT_OWNED && *state != RS_SLOT_ORPHAN)
		return NULL;
	return rs_rings.slot[i].ring;
}

/* Drains every ring once. Returns the fullest ring's fill before draining, in 1/1024ths. */
static unsigned drain(void)
{
	unsigned fullest = 0;
	uint32_t high = atomic_load_explicit(&rs_rings.high, memory_order_acquire);
	for (uint32_t i = 0; i < high; i++) {
		uint32_t st;
		struct rs_ring *ring = live_ring(i, &st);
		if (!ring)
			continue;
		uint64_t pos, n = rs_ring_ready(ring, &pos);
		for (uint64_t k = 0; k < n;) {
			unsigned ns = rs_ring_at(ring, pos + k)->hdr.nslots;
			if (rs_unlikely(ns == 0 || ns > RS_REC_MAX_SLOTS || k + ns > n)) {
				RS_STAT_ADD(dropped_corrupt, 1); /* cannot happen; never trust it */
				k = n;
				break;
			}
			take(rs_ring_record(ring, pos + k, ns, R.wrap_buf));
			k += ns;
		}
		rs_ring_release(ring, pos + n);
		atomic_store_explicit(&ring->wake_sent, 0, memory_order_relaxed);
		fullest = RS_MAX(fullest, (unsigned)(n * 1024 / (ring->mask + 1ull)));
		uint64_t d = rs_load_relaxed(&ring->dropped);
		if (d > R.drop_seen[i]) {
			RS_STAT_ADD(dropped_ring_full, d - R.drop_seen[i]);
			R.drop_seen[i] = d;
		}
		if (st == RS_SLOT_ORPHAN) {
			/* Its thread is gone and the acquire above saw its last commit. */
			R.drop_seen[i] = 0;
			rs_ring_recycle((int)i);
		}
	}
	return fullest;
}

/* Picks the next sleep so the fullest ring would be about a quarter full at the next drain, from
 * how fast it filled since the last one. The estimate rises at once with a burst and decays over
 * about ten passes, so completions that wake the loop right after a drain do not undo it. */
static void adapt_tick(unsigned fullest)
{
	uint64_t now = rs_mono_ns();
	uint64_t elapsed = RS_MAX(now - R.last_drain_ns, 100000ull);
	R.last_drain_ns = now;
	/* fill rate in 1/1024ths of a ring per millisecond */
	uint64_t rate = (uint64_t)fullest * 1000000ull / elapsed;
	R.fill_rate = RS_MAX(rate, R.fill_rate - R.fill_rate / 8);
	uint64_t tick = R.fill_rate ? 256ull * 1000000ull / R.fill_rate : TICK_MAX_NS;
	R.tick_ns = RS_MAX(TICK_MIN_NS, RS_MIN(TICK_MAX_NS, tick));
}

static void serve_flush(uint32_t want)
{
	bool at_exit = atomic_load(&flush_at_exit), idle = true;
	if (at_exit) /* requests still in flight end with the process */
		rs_join_flush(rs_epoch_ns(), deliver);
	if (R.exp_ok) {
		if (at_exit && R.exp->exit_flush)
			R.exp->exit_flush();
		R.exp->seal();
		idle = R.exp->idle();
	}
	for (int i = 0; R.sinks_started && i < n_sinks; i++) {
		sinks[i]->flush(at_exit);
		idle = idle && sinks[i]->idle();
	}
	if (!idle)
		return; /* writes in flight: their completions bring us back */
	atomic_store(&flush_done, want);
	rs_sys_futex_wake(&flush_done, 1 << 30);
}

static const struct rs_exporter *exporter_for(enum rs_exporter_kind k)
{
	switch (k) {
	case RS_EXPORTER_FILE:
		return &rs_file_exporter;
	case RS_EXPORTER_OTLP:
		return &rs_otlp_exporter;
	case RS_EXPORTER_SKYWALKING:
		return &rs_sw_exporter;
	case RS_EXPORTER_KAFKA:
		return &rs_kafka_exporter;
	case RS_EXPORTER_NONE:
		return NULL;
	}
	return NULL;
}

static void *reporter_main(void *arg)
{
	(void)arg;
	rs_thread_set_internal();
	prctl(PR_SET_NAME, "ringside", 0, 0, 0);
	rs_clock_sync();
	R.tick_ns = TICK_MAX_NS;
	R.next_housekeep_ns = rs_mono_ns() + HOUSEKEEP_NS;
	if (rs_loop_init(&R.loop, rs_cfg.io_mode) == 0) {
		rs_process_resource(&R.resource);
		R.exp = exporter_for(rs_cfg.exporter);
		R.exp_ok = R.exp && R.exp->start(&R.loop, &R.resource) == 0;
		for (int i = 0; i < n_sinks; i++)
			sinks[i]->start(&R.loop, &R.resource);
		R.sinks_started = true;
	} else {
		rs_log(RS_LOG_ERROR, "neither io_uring nor poll() could be set up; spans are "
				     "dropped and counted");
	}
	atomic_store(&R.running, true);

	for (;;) {
		uint32_t want = atomic_load(&flush_req);
		adapt_tick(drain());

		uint64_t now = rs_mono_ns();
		uint64_t timeout = R.tick_ns;
		if (R.exp_ok && R.exp->open_spans()) {
			uint64_t due = R.batch_opened_ns + rs_cfg.bsp_schedule_delay_ms * 1000000ull;
			if (now >= due)
				R.exp->seal();
			else
				timeout = RS_MIN(timeout, due - now);
		}
		if (R.exp_ok && R.exp->tick) {
			uint64_t next = R.exp->tick(now); /* once: RS_MIN evaluates twice */
			timeout = RS_MIN(timeout, next);
		}
		for (int i = 0; R.sinks_started && i < n_sinks; i++) {
			uint64_t next = sinks[i]->tick(now);
			timeout = RS_MIN(timeout, next);
		}
		if (want != atomic_load_explicit(&flush_done, memory_order_relaxed))
			serve_flush(want);
		if (now >= R.next_housekeep_ns) {
			rs_clock_sync();
			rs_ring_trim_idle(8);
			uint64_t lost = rs_load_relaxed(&rs_rings.no_ring_drops);
			RS_STAT_ADD(dropped_ring_full, lost - rs_load_relaxed(&R.no_ring_seen));
			atomic_store_explicit(&R.no_ring_seen, lost, memory_order_relaxed);
			rs_loop_check(&R.loop);
			R.next_housekeep_ns = now + HOUSEKEEP_NS;
		}
		rs_loop_run(&R.loop, timeout);
	}
	return NULL;
}

static void reporter_start(void)
{
	rs_loop_prepare(&R.loop); /* rs_loop_init retries if this failed */
	sigset_t all, old;
	sigfillset(&all);
	/* The reporter takes no signal meant for the program (the new thread inherits the mask). */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_t t;
	int e = pthread_create(&t, &attr, reporter_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		atomic_store(&R.failed, true);
		rs_log(RS_LOG_ERROR, "cannot start the reporter thread: %s; spans are dropped",
		       strerror(e));
	}
}

/* Records still in the rings (what a flush cut short by its timeout leaves behind). */
static uint64_t records_in_rings(void)
{
	uint64_t n = 0;
	uint32_t high = atomic_load_explicit(&rs_rings.high, memory_order_acquire);
	for (uint32_t i = 0; i < high; i++) {
		uint32_t st;
		struct rs_ring *ring = live_ring(i, &st);
		uint64_t pos;
		if (ring)
			n += rs_ring_ready(ring, &pos);
	}
	return n;
}

static void report_losses(bool complete)
{
	uint64_t in_rings = 0, pending = 0;
	if (!complete) {
		in_rings = records_in_rings();
		if (atomic_load(&R.running) && R.exp_ok)
			pending = R.exp->pending_spans(); /* already counted as recorded */
	}
	uint64_t unflushed = in_rings + pending;
	uint64_t ring = rs_load_relaxed(&rs_io_stats.dropped_ring_full) +
			rs_load_relaxed(&rs_rings.no_ring_drops) - rs_load_relaxed(&R.no_ring_seen);
	/* The rings hold the sinks' records too: theirs are reported by the sinks. */
	for (int i = 0; R.sinks_started && i < n_sinks; i++) {
		if (sinks[i]->report_losses) {
			uint64_t theirs = sinks[i]->report_losses(complete);
			ring -= RS_MIN(ring, theirs);
		}
	}
	uint64_t queue = rs_load_relaxed(&rs_io_stats.dropped_queue_full);
	uint64_t failed = rs_load_relaxed(&rs_io_stats.dropped_export_failed);
	uint64_t rejected = rs_load_relaxed(&rs_io_stats.dropped_rejected);
	uint64_t none = rs_load_relaxed(&rs_io_stats.dropped_no_exporter);
	uint64_t enc = rs_load_relaxed(&rs_io_stats.dropped_encode) +
		       rs_load_relaxed(&rs_io_stats.dropped_corrupt);
	uint64_t lost = ring + queue + failed + rejected + none + enc + unflushed;
	if (!lost)
		return;
	rs_log(RS_LOG_WARN,
	       "%llu spans lost of %llu recorded: %llu ring full or unavailable, %llu queue full, %llu export "
	       "failed, %llu rejected by the collector, %llu no exporter, %llu out of memory, %llu not "
	       "sent before exit (RINGSIDE_FLUSH_TIMEOUT_MS=%u); %llu retries",
	       (unsigned long long)lost,
	       (unsigned long long)(rs_load_relaxed(&rs_io_stats.spans_recorded) + ring + in_rings),
	       (unsigned long long)ring, (unsigned long long)queue, (unsigned long long)failed,
	       (unsigned long long)rejected, (unsigned long long)none, (unsigned long long)enc,
	       (unsigned long long)unflushed, rs_cfg.flush_timeout_ms,
	       (unsigned long long)rs_load_relaxed(&rs_io_stats.retries));
}

static void reporter_flush(uint32_t timeout_ms, bool at_exit)
{
	bool complete = true;
	if (!atomic_load(&R.failed)) {
		/* Sequentially consistent, as is the reporter's publication of its wake pipe: either
		 * this wake reaches the pipe or the reporter sees the request on its next pass. */
		if (at_exit)
			atomic_store(&flush_at_exit, true);
		uint32_t seq = atomic_fetch_add(&flush_req, 1) + 1;
		rs_loop_wake(&R.loop);
		uint64_t deadline = rs_mono_ns() + timeout_ms * 1000000ull;
		/* No lost wake-up: the reporter reads flush_req after publishing its wake pipe and on
		 * every pass of its loop (at least every 100 ms), and futex-wakes us when done. */
		for (;;) {
			uint32_t done = atomic_load(&flush_done);
			if ((int32_t)(done - seq) >= 0)
				break;
			uint64_t now = rs_mono_ns();
			if (now >= deadline) {
				complete = false;
				break;
			}
			uint64_t left = deadline - now;
			struct timespec ts = {(time_t)(left / 1000000000ull),
					      (long)(left % 1000000000ull)};
			rs_sys_futex_wait(&flush_done, done, &ts);
		}
	}
	if (at_exit)
		report_losses(complete);
}

static void reporter_after_fork_child(void)
{
	/* The parent's reporter thread does not exist here. Its memory is left as it is (it may be
	 * mid-update, and untouched it costs nothing under copy-on-write); the child starts anew. */
	if (R.exp)
		R.exp->forget();
	for (int i = 0; i < n_sinks; i++)
		sinks[i]->forget();
	rs_join_forget();
	memset(&R, 0, sizeof(R));
	atomic_store(&flush_at_exit, false);
	memset(&rs_io_stats, 0, sizeof(rs_io_stats));
	atomic_store(&flush_req, 0);
	atomic_store(&flush_done, 0);
}

static void reporter_wake(void)
{
	rs_loop_wake(&R.loop);
}

static const struct rs_reporter_ops ops = {
	.start = reporter_start,
	.wake = reporter_wake,
	.flush = reporter_flush,
	.after_fork_child = reporter_after_fork_child,
};

__attribute__((constructor(103))) static void rs_reporter_init(void)
{
	rs_process_set_reporter(&ops);
}
