/* Drives the reporter alone: linked with the shim's objects, so the shim is live in this process,
 * the main thread pushes HTTP span records into its own ring exactly as the HTTP hooks do (a
 * begin with the request's TLVs, then its end) as fast as the reporter takes them, and the
 * reporter joins, encodes and delivers them through whichever exporter the environment picks.
 * What is measured is CPU time, so "spans per second on one core" does not depend on what else
 * shares the machine: the reporter thread's own clock, and the process's CPU time less this
 * thread's (the reporter plus the kernel's io_uring workers, which run in this process).
 * Usage: reporter_bench SPANS WINDOW. WINDOW bounds spans pushed but not yet delivered or dropped
 * (keep it under OTEL_BSP_MAX_QUEUE_SIZE: nothing is dropped); 0 pushes as fast as the ring
 * allows (a collector that is away: the queue bound is what holds memory). Prints one JSON line. */
#include "../io/stats.h"
#include "../preload/process.h"
#include "../preload/thread.h"

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The reporter thread's CPU clock: found by its name, the clock id as glibc builds it for
 * pthread_getcpuclockid (per-thread, scheduler clock). -1 until the thread exists. */
static clockid_t reporter_clock(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	clockid_t c = -1;
	while (d && (e = readdir(d))) {
		char p[300], name[32] = "";
		snprintf(p, sizeof(p), "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f) && strncmp(name, "ringside\n", 9) == 0)
			c = (clockid_t)((~(unsigned)atoi(e->d_name)) << 3) | 6;
		fclose(f);
	}
	if (d)
		closedir(d);
	return c;
}

static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			v = atol(line + strlen(key) + 1);
	if (f)
		fclose(f);
	return v;
}

static uint64_t settled(void)
{
	return rs_load_relaxed(&rs_io_stats.spans_exported) +
	       rs_load_relaxed(&rs_io_stats.dropped_queue_full) +
	       rs_load_relaxed(&rs_io_stats.dropped_export_failed) +
	       rs_load_relaxed(&rs_io_stats.dropped_rejected) +
	       rs_load_relaxed(&rs_io_stats.dropped_no_exporter) +
	       rs_load_relaxed(&rs_io_stats.dropped_encode);
}

/* Waits for room for two one-slot records: a full ring would drop, which is not what is timed. */
static void wait_room(void)
{
	struct rs_ring *r = rs_t.ring;
	while (atomic_load_explicit(&r->head, memory_order_relaxed) -
		   atomic_load_explicit(&r->tail, memory_order_acquire) >
	       r->mask - 2) {
		rs_process_wake_reporter();
		sched_yield();
	}
}

static void push_span(uint64_t i)
{
	static const char target[] = "/items/4711?q=1", host[] = "127.0.0.1:8080",
			  ua[] = "wrk/4.2.0";
	uint64_t t = now_ns(CLOCK_REALTIME);
	union rs_rec *rec = rs_emit_build();
	struct rs_rec_span *s = &rec->span;
	s->h.type = RS_REC_SPAN_BEGIN;
	s->h.len = RS_HTTP_TLV_START;
	s->kind = RS_KIND_SERVER;
	s->what = RS_SPAN_HTTP;
	s->trace_flags = 1;
	rs_new_trace_id(s->trace_id);
	rs_new_span_id(s->span_id);
	s->start_ns = t;
	s->u.http.peer.family = 2; /* AF_INET 127.0.0.1 */
	s->u.http.peer.port = (uint16_t)(40000 + i % 20000);
	s->u.http.peer.addr[0] = 127, s->u.http.peer.addr[3] = 1;
	s->u.http.local_port = 8080;
	s->u.http.method = RS_M_GET;
	s->u.http.version = 1;
	s->u.http.seg_parent_index = -1;
	rs_tlv_put(rec, RS_T_TARGET, target, sizeof(target) - 1);
	rs_tlv_put(rec, RS_T_HOST, host, sizeof(host) - 1);
	rs_tlv_put(rec, RS_T_USER_AGENT, ua, sizeof(ua) - 1);
	uint8_t tid[16], sid[8];
	memcpy(tid, s->trace_id, 16);
	memcpy(sid, s->span_id, 8);
	rs_emit_push();

	rec = rs_emit_build();
	struct rs_rec_end *e = &rec->end;
	e->h.type = RS_REC_SPAN_END;
	e->h.len = sizeof(*e);
	memcpy(e->trace_id, tid, 16);
	memcpy(e->span_id, sid, 8);
	e->resp_start_ns = t + 20000;
	e->end_ns = t + 25000;
	e->resp_body = 612;
	e->status = 200;
	e->end = RS_HTTP_END_LENGTH;
	rs_emit_push();
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: reporter_bench SPANS WINDOW\n");
		return 2;
	}
	uint64_t n = strtoull(argv[1], NULL, 10), window = strtoull(argv[2], NULL, 10);
	if (!rs_load_relaxed(&rs_active) || !rs_thread_attach_ring()) {
		fprintf(stderr, "reporter_bench: the shim is not active here\n");
		return 1;
	}
	long rss0 = status_kb("VmRSS:");
	push_span(0); /* starts the reporter */
	clockid_t rc = -1;
	for (int i = 0; i < 2000 && rc == -1; i++) {
		usleep(1000);
		rc = reporter_clock();
	}
	while (settled() < 1 && rs_load_relaxed(&rs_io_stats.spans_recorded) < 1)
		usleep(1000);
	uint64_t base = settled();
	uint64_t w0 = now_ns(CLOCK_MONOTONIC), c0 = rc == -1 ? 0 : now_ns(rc);
	uint64_t p0 = now_ns(CLOCK_PROCESS_CPUTIME_ID) - now_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t b0 = rs_load_relaxed(&rs_io_stats.bytes_written);
	long hwm_rss = 0;
	for (uint64_t i = 1; i <= n; i++) {
		while (window && i - (settled() - base) > window)
			sched_yield();
		wait_room();
		push_span(i);
		if ((i & 0xffff) == 0)
			hwm_rss = RS_MAX(hwm_rss, status_kb("VmRSS:"));
	}
	/* Seals the last partial batch and waits for it (RINGSIDE_FLUSH_TIMEOUT_MS at most) rather
	 * than OTEL_BSP_SCHEDULE_DELAY; then all is delivered or dropped, except with a collector
	 * that is away, whose spans wait in the queue until they are dropped. */
	if (window)
		rs_process_flush(false);
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + 120000000000ull;
	while (settled() - base < n && now_ns(CLOCK_MONOTONIC) < deadline &&
	       (window || rs_load_relaxed(&rs_io_stats.spans_recorded) < n + 1))
		usleep(200);
	uint64_t w1 = now_ns(CLOCK_MONOTONIC), c1 = rc == -1 ? 0 : now_ns(rc);
	uint64_t p1 = now_ns(CLOCK_PROCESS_CPUTIME_ID) - now_ns(CLOCK_THREAD_CPUTIME_ID);
	hwm_rss = RS_MAX(hwm_rss, status_kb("VmRSS:"));
	uint64_t exported = rs_load_relaxed(&rs_io_stats.spans_exported);
	uint64_t bytes = rs_load_relaxed(&rs_io_stats.bytes_written) - b0;
	double cpu_s = (double)(c1 - c0) / 1e9, wall_s = (double)(w1 - w0) / 1e9;
	double side_s = (double)(p1 - p0) / 1e9;
	printf("{\"spans\": %llu, \"exported\": %llu, \"dropped_queue_full\": %llu, "
	       "\"dropped_ring_full\": %llu, \"wall_s\": %.4f, \"reporter_cpu_s\": %.4f, "
	       "\"spans_per_cpu_s\": %.0f, \"side_cpu_s\": %.4f, \"spans_per_side_cpu_s\": %.0f, "
	       "\"spans_per_wall_s\": %.0f, \"bytes\": %llu, "
	       "\"bytes_per_span\": %.1f, \"rss_start_kb\": %ld, \"rss_max_kb\": %ld}\n",
	       (unsigned long long)n, (unsigned long long)exported,
	       (unsigned long long)rs_load_relaxed(&rs_io_stats.dropped_queue_full),
	       (unsigned long long)rs_load_relaxed(&rs_io_stats.dropped_ring_full), wall_s, cpu_s,
	       cpu_s > 0 ? (double)n / cpu_s : 0.0, side_s, side_s > 0 ? (double)n / side_s : 0.0,
	       (double)n / wall_s, (unsigned long long)bytes,
	       exported ? (double)bytes / (double)(exported - base) : 0.0, rss0, hwm_rss);
	fflush(stdout);
	return 0;
}
