/* The profiler's sink on the reporter thread: samples are aggregated per interval by thread, span
 * and stack; every RINGSIDE_PROFILE_INTERVAL_S, and at exec and exit, the interval becomes one
 * gzipped pprof file, <executable>.<pid>.<n>.pb.gz in the output directory, written through the
 * loop like the span files. Sample types: samples (count), cpu and wait (nanoseconds); labels
 * thread.id, thread.name, wait.kind, and trace_id/span_id when a span was active. */
#include "../preload/clock.h"
#include "../preload/config.h"
#include "../preload/log.h"
#include "../preload/objtab.h"
#include "../preload/prof_stats.h"
#include "../preload/propagation.h"
#include "../proto/gzip.h"
#include "../proto/hmap.h"
#include "../proto/pprof.h"
#include "outdir.h"
#include "profile_push.h"
#include "sink.h"
#include "symbolize.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AGG_MAX (1u << 17)    /* distinct (thread, span, stack) per interval */
#define NAMES_MAX 4096	      /* thread names remembered */

struct agg {
	uint32_t tid;
	uint8_t kind;
	uint8_t has_span;
	uint16_t nframes;
	uint8_t trace_id[16];
	uint8_t span_id[8];
	size_t frames; /* offset into S.frames */
	int64_t count, cpu_ns, wait_ns;
};

struct pending {
	struct rs_loop_op op; /* first: the completion */
	struct pending *next;
	int handle;
	struct rs_buf data;
	size_t done;
	uint64_t samples;
	char path[RS_CFG_PATH_MAX + 128];
};

struct tname {
	uint32_t tid;
	unsigned seen; /* interval (seq + 1) in which /proc was last read for it */
	char name[RS_THREAD_NAME_MAX];
};

static struct {
	struct rs_loop *loop;
	const struct rs_resource *res;
	struct agg *aggs;
	size_t naggs, capaggs;
	uint64_t *frames;
	size_t nframes, capframes;
	struct rs_hmap index;
	uint64_t start_ns;   /* epoch: the open interval's start */
	uint64_t due_mono;   /* when the open interval ends */
	uint64_t interval_samples;
	unsigned seq;
	struct tname names[NAMES_MAX];
	size_t nnames;
	struct pending *head, *tail;
	/* losses */
	uint64_t taken, lost_overflow, lost_encode, lost_write, written;
} S;

static struct rs_objtab objs; /* the reporter's copy of the table of loaded objects */

static uint64_t interval_ns(void)
{
	return (uint64_t)rs_cfg.profile_interval_s * 1000000000ull;
}

static void prof_start(struct rs_loop *loop, const struct rs_resource *res)
{
	S.loop = loop;
	S.res = res;
	S.start_ns = rs_epoch_ns();
	S.due_mono = rs_mono_ns() + interval_ns();
	rs_profile_push_start(loop, res);
}

static struct tname *name_slot(uint32_t tid)
{
	for (size_t i = 0; i < S.nnames; i++)
		if (S.names[i].tid == tid)
			return &S.names[i];
	if (S.nnames == NAMES_MAX)
		S.nnames = 0; /* forget the oldest: names are also read from /proc */
	struct tname *t = &S.names[S.nnames++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	return t;
}

/* Reads the thread's current name (it may have renamed itself since it started) once per
 * interval, when its first sample comes in: samples come within milliseconds, while it lives. */
static void refresh_name(uint32_t tid)
{
	struct tname *t = name_slot(tid);
	if (t->seen == S.seq + 1)
		return;
	t->seen = S.seq + 1;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%u/comm", tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		char buf[RS_THREAD_NAME_MAX + 1];
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			if (buf[n - 1] == '\n')
				n--;
			memcpy(t->name, buf, (size_t)RS_MIN(n, RS_THREAD_NAME_MAX - 1));
			t->name[RS_MIN(n, RS_THREAD_NAME_MAX - 1)] = 0;
		}
	}
}

struct agg_key {
	const struct rs_rec_sample *s;
};

static bool agg_eq(void *ctx, uint32_t v)
{
	const struct rs_rec_sample *s = ((struct agg_key *)ctx)->s;
	const struct agg *a = &S.aggs[v - 1];
	bool span = s->flags & RS_SAMPLE_HAS_SPAN;
	return a->tid == s->h.tid && a->kind == s->kind && a->nframes == s->nframes &&
	       a->has_span == span &&
	       (!span || (memcmp(a->trace_id, s->trace_id, 16) == 0 &&
			  memcmp(a->span_id, s->span_id, 8) == 0)) &&
	       memcmp(S.frames + a->frames, s->frames, a->nframes * sizeof(uint64_t)) == 0;
}

static bool grow(void **arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap * 2 : 1024;
	while (c < need)
		c *= 2;
	void *p = realloc(*arr, c * size);
	if (!p)
		return false;
	*arr = p;
	*cap = c;
	return true;
}

static void take_sample(const struct rs_rec_sample *s)
{
	S.taken++;
	if (RS_SAMPLE_FIXED + (size_t)s->nframes * sizeof(uint64_t) > s->h.len) {
		S.lost_encode++; /* malformed: cannot come from our producers */
		return;
	}
	bool span = s->flags & RS_SAMPLE_HAS_SPAN;
	uint64_t h = rs_hash_bytes(s->frames, s->nframes * sizeof(uint64_t),
				   (uint64_t)s->h.tid << 8 | s->kind);
	if (span)
		h ^= rs_hash_bytes(s->span_id, 8, 1);
	struct agg_key k = {s};
	uint32_t v = rs_hmap_get(&S.index, h, agg_eq, &k);
	if (!v) {
		if (S.naggs == AGG_MAX ||
		    !grow((void **)&S.aggs, &S.capaggs, S.naggs + 1, sizeof(*S.aggs)) ||
		    !grow((void **)&S.frames, &S.capframes, S.nframes + s->nframes,
			  sizeof(*S.frames)) ||
		    !rs_hmap_put(&S.index, h, (uint32_t)S.naggs + 1)) {
			S.lost_overflow++;
			return;
		}
		refresh_name(s->h.tid);
		struct agg *a = &S.aggs[S.naggs++];
		memset(a, 0, sizeof(*a));
		a->tid = s->h.tid;
		a->kind = s->kind;
		a->has_span = span;
		a->nframes = s->nframes;
		if (span) {
			memcpy(a->trace_id, s->trace_id, 16);
			memcpy(a->span_id, s->span_id, 8);
		}
		a->frames = S.nframes;
		memcpy(S.frames + S.nframes, s->frames, s->nframes * sizeof(uint64_t));
		S.nframes += s->nframes;
		v = (uint32_t)S.naggs;
	}
	struct agg *a = &S.aggs[v - 1];
	a->count++;
	if (s->kind == RS_SAMPLE_CPU)
		a->cpu_ns += (int64_t)s->value_ns;
	else
		a->wait_ns += (int64_t)s->value_ns;
	S.interval_samples++;
}

static void prof_take(const union rs_rec *rec)
{
	if (rec->hdr.type == RS_REC_THREAD) {
		struct tname *t = name_slot(rec->hdr.tid);
		memcpy(t->name, rec->thread.name, RS_THREAD_NAME_MAX);
		t->name[RS_THREAD_NAME_MAX - 1] = 0;
		t->seen = 0; /* a new thread (ids are reused): read its name again */
	} else if (rec->hdr.type == RS_REC_SAMPLE) {
		take_sample(&rec->sample);
	}
}

static const char *const wait_kinds[] = {
	[RS_SAMPLE_MUTEX] = "mutex",	 [RS_SAMPLE_COND] = "cond",
	[RS_SAMPLE_CONNECT] = "connect", [RS_SAMPLE_ACCEPT] = "accept",
	[RS_SAMPLE_READ] = "read",
};

/* Lowercase hex of b, NUL-terminated. */
static void hex(char *out, const uint8_t *b, size_t n)
{
	rs_hex(b, n, out);
	out[2 * n] = 0;
}

/* Builds the open interval's profile into raw (protobuf). */
static bool build(struct rs_pprof *p, struct rs_buf *raw, uint64_t now_ns)
{
	if (rs_objtab_stale())
		rs_objtab_rebuild(dl_iterate_phdr);
	rs_objtab_copy(&objs);
	rs_sym_update(&objs);
	uint64_t locs[RS_SAMPLE_MAX_FRAMES];
	for (size_t i = 0; i < S.naggs; i++) {
		const struct agg *a = &S.aggs[i];
		for (unsigned f = 0; f < a->nframes; f++) {
			uint64_t pc = S.frames[a->frames + f];
			uint64_t id = rs_pprof_location_of(p, pc);
			if (!id) {
				const char *name;
				const struct rs_obj *o = rs_sym_lookup(pc, &name);
				id = rs_pprof_location(p, pc, o ? (uint64_t)(o - objs.obj) + 1 : 0,
						       name);
			}
			locs[f] = id;
		}
		struct rs_pprof_label labels[5];
		size_t nl = 0;
		char trace[33], span[17];
		labels[nl++] = (struct rs_pprof_label){"thread.id", NULL, a->tid};
		labels[nl++] = (struct rs_pprof_label){"thread.name", name_slot(a->tid)->name, 0};
		if (a->kind != RS_SAMPLE_CPU && a->kind < RS_ARRAY_LEN(wait_kinds))
			labels[nl++] = (struct rs_pprof_label){"wait.kind", wait_kinds[a->kind], 0};
		if (a->has_span) {
			hex(trace, a->trace_id, 16);
			hex(span, a->span_id, 8);
			labels[nl++] = (struct rs_pprof_label){"trace_id", trace, 0};
			labels[nl++] = (struct rs_pprof_label){"span_id", span, 0};
		}
		int64_t values[RS_PPROF_VALUES] = {a->count, a->cpu_ns, a->wait_ns};
		rs_pprof_sample(p, locs, a->nframes, values, labels, nl);
	}
	/* Mapping ids follow the table's order (locations above already use them). */
	for (unsigned i = 0; i < objs.n; i++) {
		const struct rs_obj *o = &objs.obj[i];
		char id[2 * RS_BUILD_ID_MAX + 1];
		hex(id, o->build_id, o->build_id_len);
		uintptr_t start = o->exec_lo ? o->exec_lo : o->lo;
		uintptr_t limit = o->exec_lo ? o->exec_hi : o->hi;
		rs_pprof_mapping(p, start, limit, o->file_off, rs_sym_path(o), id,
				 rs_sym_has_functions(o));
	}
	return rs_pprof_encode(p, now_ns > S.start_ns ? now_ns - S.start_ns : 0, raw);
}

static void write_done(struct rs_loop_op *op, int res);

static void kick(void)
{
	struct pending *w = S.head;
	if (!w)
		return;
	w->op.cb = write_done;
	int e = rs_loop_write(S.loop, w->handle, w->data.p + w->done, w->data.len - w->done,
			      w->done, &w->op);
	if (e < 0)
		write_done(&w->op, e);
}

static void pop(void)
{
	struct pending *w = S.head;
	S.head = w->next;
	if (!S.head)
		S.tail = NULL;
	rs_loop_close(S.loop, w->handle);
	rs_buf_free(&w->data);
	free(w);
}

static void write_done(struct rs_loop_op *op, int res)
{
	struct pending *w = (struct pending *)op;
	if (res <= 0) {
		rs_log(RS_LOG_ERROR, "writing %s failed: %s; %llu profile samples dropped", w->path,
		       strerror(res ? -res : EIO), (unsigned long long)w->samples);
		S.lost_write += w->samples;
		/* A cut-short .pb.gz is no profile: pprof would fail on it. The name goes, the
		 * samples are counted. */
		unlink(w->path);
		pop();
	} else {
		w->done += (size_t)res;
		if (w->done == w->data.len) {
			S.written += w->samples;
			pop();
		}
	}
	kick();
}

/* Turns the open interval into a file and starts writing it. */
static void seal(void)
{
	uint64_t now = rs_epoch_ns();
	uint64_t samples = S.interval_samples;
	if (samples) {
		struct rs_pprof *p = rs_pprof_new(S.start_ns, 1000000000ull / rs_cfg.profile_hz);
		struct rs_buf raw = {0};
		struct pending *w = calloc(1, sizeof(*w));
		bool ok = p && w && build(p, &raw, now) && rs_gzip(raw.p, raw.len, &w->data);
		rs_pprof_free(p);
		rs_buf_free(&raw);
		if (ok) /* pushed whether or not the file can be written */
			rs_profile_push(w->data.p, w->data.len, S.start_ns, now, samples);
		char suffix[32];
		snprintf(suffix, sizeof(suffix), "%u.pb.gz", S.seq++);
		int h = ok ? rs_outdir_create(S.loop, S.res, suffix, "profiles", w->path,
					      sizeof(w->path))
			   : -ENOMEM;
		if (h < 0) {
			if (ok)
				S.lost_write += samples;
			else
				S.lost_encode += samples;
			if (w)
				rs_buf_free(&w->data);
			free(w);
		} else {
			w->handle = h;
			w->samples = samples;
			rs_log(RS_LOG_INFO, "writing a profile of %llu samples to %s",
			       (unsigned long long)samples, w->path);
			bool idle = !S.head;
			if (S.tail)
				S.tail->next = w;
			else
				S.head = w;
			S.tail = w;
			if (idle)
				kick();
		}
	}
	S.naggs = 0;
	S.nframes = 0;
	S.interval_samples = 0;
	rs_hmap_clear(&S.index);
	S.start_ns = now;
	S.due_mono = rs_mono_ns() + interval_ns();
}

static uint64_t prof_tick(uint64_t now)
{
	/* A dlopen since the last rebuild: the handlers' table misses an object. */
	if (rs_objtab_stale())
		rs_objtab_rebuild(dl_iterate_phdr);
	if (now >= S.due_mono)
		seal();
	uint64_t push = rs_profile_push_tick(now);
	return RS_MIN(S.due_mono - now, push);
}

static void prof_flush(bool at_exit)
{
	(void)at_exit;
	seal();
}

static bool prof_idle(void)
{
	return S.head == NULL && rs_profile_push_idle();
}

static void prof_forget(void)
{
	memset(&S, 0, sizeof(S));
	rs_sym_forget();
	rs_profile_push_forget();
}

static uint64_t prof_report_losses(bool complete)
{
	(void)complete;
	uint64_t ring = rs_load_relaxed(&rs_prof_stats.dropped_ring);
	uint64_t busy = rs_load_relaxed(&rs_prof_stats.dropped_busy);
	uint64_t ending = rs_load_relaxed(&rs_prof_stats.dropped_no_ring);
	uint64_t pending = S.interval_samples; /* not sealed: the flush did not get to it */
	for (struct pending *w = S.head; w; w = w->next)
		pending += w->samples;
	uint64_t lost = ring + busy + ending + S.lost_overflow + S.lost_encode + S.lost_write +
			pending;
	rs_log(RS_LOG_INFO,
	       "profiler: %llu samples taken; %llu unwinds in the signal handler reached "
	       "dl_iterate_phdr and walked the shim's object table, %llu found it being rebuilt",
	       (unsigned long long)(S.taken + ring + busy + ending),
	       (unsigned long long)rs_load_relaxed(&rs_objtab_served),
	       (unsigned long long)rs_load_relaxed(&rs_objtab_refused));
	if (lost)
		rs_log(RS_LOG_WARN,
		       "%llu profile samples lost of %llu taken: %llu ring full, %llu while the "
		       "thread was writing a record, %llu as the thread ended, %llu over the "
		       "per-interval bound, %llu out of memory, %llu write failed, %llu not written "
		       "before exit",
		       (unsigned long long)lost,
		       (unsigned long long)(S.taken + ring + busy + ending), (unsigned long long)ring,
		       (unsigned long long)busy, (unsigned long long)ending,
		       (unsigned long long)S.lost_overflow, (unsigned long long)S.lost_encode,
		       (unsigned long long)S.lost_write, (unsigned long long)pending);
	uint64_t queued, unpushed = rs_profile_push_lost(&queued);
	if (unpushed + queued)
		rs_log(RS_LOG_WARN, "%llu profile samples not pushed to RINGSIDE_PROFILE_ENDPOINT: %llu "
				    "refused or over the queue's bound, %llu not sent before exit "
				    "(they are in the profile files)",
		       (unsigned long long)(unpushed + queued), (unsigned long long)unpushed,
		       (unsigned long long)queued);
	return ring;
}

static const struct rs_sink profile_sink = {
	.name = "profile",
	.type_min = RS_REC_SAMPLE,
	.type_max = RS_REC_THREAD,
	.start = prof_start,
	.take = prof_take,
	.tick = prof_tick,
	.flush = prof_flush,
	.idle = prof_idle,
	.forget = prof_forget,
	.report_losses = prof_report_losses,
};

/* Before hooks/profile.c arms the main thread's timer (105), which may start the reporter. */
__attribute__((constructor(104))) static void rs_profile_sink_init(void)
{
	if (rs_cfg.enabled && rs_cfg.profile != RS_PROFILE_OFF)
		rs_reporter_add_sink(&profile_sink);
}
