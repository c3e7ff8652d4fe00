/* SkyWalking's in-process trace profiling, on the reporter: polls the OAP for profile tasks
 * (ProfileTask/getProfileTaskCommands), and while a task runs, asks the threads serving its
 * endpoint for their stacks every DumpPeriod once their span is older than MinDurationThreshold
 * (preload/snapshot.h), streams the answers as ThreadSnapshots (collectSnapshot) and reports the
 * task finished when its Duration has passed (reportTaskFinish). */
#include "sw_profile.h"

#include "../preload/clock.h"
#include "../preload/config.h"
#include "../preload/log.h"
#include "../preload/objtab.h"
#include "../preload/prof_stats.h"
#include "../preload/propagation.h"
#include "../preload/snapshot.h"
#include "../preload/sw_identity.h"
#include "../proto/buf.h"
#include "../proto/span_view.h"
#include "grpc_client.h"
#include "sink.h"
#include "sw_transport.h"
#include "symbolize.h"

#include "skywalking/common.pb-c.h"
#include "skywalking/profile.pb-c.h"

#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WATCH_MAX 32	  /* spans sampled at once, whatever MaxSamplingCount asks */
#define TASK_MAX 4	  /* tasks known at once (running or waiting for their start) */
#define SEND_MAX (256 << 10) /* snapshot bytes per collectSnapshot call */
#define PENDING_MAX (4 << 20) /* snapshot bytes waiting: past it new ones are dropped, counted */
#define CALL_TIMEOUT_NS (10 * 1000000000ull)
#define MS 1000000ull

const char *const rs_sw_profile_paths[] = {
	"/skywalking.v3.ProfileTask/getProfileTaskCommands",
	"/skywalking.v3.ProfileTask/collectSnapshot",
	"/skywalking.v3.ProfileTask/reportTaskFinish",
};

struct task {
	bool used;
	bool finishing; /* its time is up: the finish report is due or in flight */
	char id[128];
	char endpoint[256];
	uint64_t start_ms, end_ms;
	uint32_t min_ms, period_ms, max_spans;
};

/* An open server span of the running task's endpoint, being sampled. */
struct watch {
	bool used;
	bool asked;	/* a snapshot request is out and not answered */
	uint16_t gen;	/* bumped per use of the slot: a late answer for an old span is dropped */
	int tid;
	uint8_t span_id[8];
	char segment[17]; /* the span's SkyWalking segment id, hex */
	uint64_t begin_ns; /* epoch */
	uint64_t next_mono;
	int32_t seq;
};

static struct {
	bool on;
	struct rs_grpc_client *grpc;
	struct task tasks[TASK_MAX];
	struct task *run; /* the task sampling now */
	struct watch w[WATCH_MAX];
	uint64_t next_poll;
	bool poll_inflight;
	struct rs_buf poll_req, finish_req; /* the unary calls' framed requests */
	int64_t last_command_ms;
	struct rs_buf pending; /* framed ThreadSnapshots not yet sent */
	uint64_t pending_n;
	struct rs_buf sending;
	uint64_t sending_n;
	bool send_inflight;
	bool finish_inflight;
	bool said_down;
	struct rs_objtab objs;
	/* counters */
	uint64_t tasks_seen, snap_sent, snap_lost, snap_stale;
} P;

bool rs_sw_profile_watching;

static char instance[RS_CFG_NAME_MAX + 80];

static void poll_done(void *arg, int status, const char *message, const void *reply, size_t len);

/* --- tasks -------------------------------------------------------------------------------- */

static uint64_t arg_u64(const char *v, uint64_t dflt)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	return errno || end == v || *end ? dflt : (uint64_t)n;
}

static void task_add(const Skywalking__V3__Command *c)
{
	struct task t = {.used = true, .period_ms = 10, .max_spans = 5, .end_ms = 0};
	uint64_t duration_min = 1, create_ms = 0;
	for (size_t i = 0; i < c->n_args; i++) {
		const char *k = c->args[i]->key, *v = c->args[i]->value;
		if (!k || !v)
			continue;
		if (!strcmp(k, "TaskId"))
			snprintf(t.id, sizeof(t.id), "%s", v);
		else if (!strcmp(k, "EndpointName"))
			snprintf(t.endpoint, sizeof(t.endpoint), "%s", v);
		else if (!strcmp(k, "Duration"))
			duration_min = arg_u64(v, 1);
		else if (!strcmp(k, "MinDurationThreshold"))
			t.min_ms = (uint32_t)RS_MIN(arg_u64(v, 0), 3600000);
		else if (!strcmp(k, "DumpPeriod"))
			t.period_ms = (uint32_t)RS_MIN(RS_MAX(arg_u64(v, 10), 1), 60000);
		else if (!strcmp(k, "MaxSamplingCount"))
			t.max_spans = (uint32_t)RS_MIN(RS_MAX(arg_u64(v, 5), 1), WATCH_MAX);
		else if (!strcmp(k, "StartTime"))
			t.start_ms = arg_u64(v, 0);
		else if (!strcmp(k, "CreateTime"))
			create_ms = arg_u64(v, 0);
	}
	if ((int64_t)create_ms > P.last_command_ms)
		P.last_command_ms = (int64_t)create_ms;
	if (!t.id[0] || !t.endpoint[0]) {
		rs_log(RS_LOG_WARN, "SkyWalking profile task without TaskId or EndpointName: ignored");
		return;
	}
	for (int i = 0; i < TASK_MAX; i++)
		if (P.tasks[i].used && !strcmp(P.tasks[i].id, t.id))
			return; /* known already */
	if (!t.start_ms)
		t.start_ms = rs_epoch_ns() / MS;
	t.end_ms = t.start_ms + RS_MIN(duration_min, 60 * 24) * 60000;
	for (int i = 0; i < TASK_MAX; i++) {
		if (!P.tasks[i].used) {
			P.tasks[i] = t;
			P.tasks_seen++;
			return;
		}
	}
	rs_log(RS_LOG_WARN, "SkyWalking profile task %s: %d tasks are known already; ignored", t.id,
	       TASK_MAX);
}

/* Starts a unary call of path carrying m, framed into req (one call per buffer in flight). */
static int unary(struct rs_buf *req, const char *path, const ProtobufCMessage *m,
		 rs_grpc_done_fn done)
{
	uint8_t msg[1024];
	size_t n = protobuf_c_message_get_packed_size(m);
	if (n > sizeof(msg))
		return -EMSGSIZE;
	protobuf_c_message_pack(m, msg);
	req->len = 0;
	req->failed = false;
	if (rs_grpc_frame(req, msg, n, false) != 0)
		return -ENOMEM;
	long id = rs_grpc_call(P.grpc, path, req->p, req->len, false, CALL_TIMEOUT_NS, done, NULL);
	return id < 0 ? (int)id : 0;
}

static void poll_tasks(uint64_t now)
{
	if (P.poll_inflight || now < P.next_poll)
		return;
	P.next_poll = now + rs_cfg.sw_profile_poll_s * 1000000000ull;
	Skywalking__V3__ProfileTaskCommandQuery q = SKYWALKING__V3__PROFILE_TASK_COMMAND_QUERY__INIT;
	q.service = (char *)rs_sw_service();
	q.serviceinstance = instance;
	q.lastcommandtime = P.last_command_ms;
	P.poll_inflight = unary(&P.poll_req, rs_sw_profile_paths[0], &q.base, poll_done) == 0;
}

static void poll_done(void *arg, int status, const char *message, const void *reply, size_t len)
{
	(void)arg;
	P.poll_inflight = false;
	if (status != 0) {
		if (!P.said_down)
			rs_log(RS_LOG_WARN, "SkyWalking profile tasks: getProfileTaskCommands failed "
					    "(%s%s); asking again in %u s",
			       status < 0 ? strerror(-status) : "grpc-status ",
			       status < 0 ? "" : message, rs_cfg.sw_profile_poll_s);
		P.said_down = true;
		return;
	}
	P.said_down = false;
	Skywalking__V3__Commands *cs = skywalking__v3__commands__unpack(NULL, len, reply);
	if (!cs) {
		if (len)
			rs_log(RS_LOG_WARN, "SkyWalking profile tasks: the answer is no Commands message");
		return;
	}
	for (size_t i = 0; i < cs->n_commands; i++)
		if (cs->commands[i]->command && !strcmp(cs->commands[i]->command, "ProfileTaskQuery"))
			task_add(cs->commands[i]);
	skywalking__v3__commands__free_unpacked(cs, NULL);
}

/* --- the finish report -------------------------------------------------------------------- */

static void finish_done(void *arg, int status, const char *message, const void *reply,
			size_t len)
{
	(void)arg, (void)reply, (void)len;
	P.finish_inflight = false;
	for (int i = 0; i < TASK_MAX; i++) {
		struct task *t = &P.tasks[i];
		if (!t->used || !t->finishing)
			continue;
		if (status != 0)
			rs_log(RS_LOG_WARN, "SkyWalking profile task %s: reportTaskFinish failed (%s%s)",
			       t->id, status < 0 ? strerror(-status) : "grpc-status ",
			       status < 0 ? "" : message);
		t->used = false; /* one attempt after the snapshots went: SkyWalking's agents do
				  * the same, and the OAP ends the task by its duration anyway */
		return;
	}
}

static void finish_task(struct task *t)
{
	Skywalking__V3__ProfileTaskFinishReport r = SKYWALKING__V3__PROFILE_TASK_FINISH_REPORT__INIT;
	r.service = (char *)rs_sw_service();
	r.serviceinstance = instance;
	r.taskid = t->id;
	P.finish_inflight = unary(&P.finish_req, rs_sw_profile_paths[2], &r.base, finish_done) == 0;
	if (!P.finish_inflight)
		t->used = false;
}

/* --- watched spans ------------------------------------------------------------------------ */

static void unwatch_all(void)
{
	for (int i = 0; i < WATCH_MAX; i++)
		P.w[i].used = false;
}

void rs_sw_profile_observe(const union rs_rec *rec)
{
	struct task *t = P.run;
	if (!t)
		return;
	if (rec->hdr.type == RS_REC_SPAN_END) {
		for (int i = 0; i < WATCH_MAX; i++)
			if (P.w[i].used && !memcmp(P.w[i].span_id, rec->end.span_id, 8))
				P.w[i].used = false;
		return;
	}
	const struct rs_rec_span *s = &rec->span;
	if (rec->hdr.type != RS_REC_SPAN_BEGIN || s->kind != RS_KIND_SERVER)
		return;
	char name[256];
	rs_span_name(s, name, sizeof(name));
	if (strcmp(name, t->endpoint) != 0)
		return;
	unsigned busy = 0;
	int free_slot = -1;
	for (int i = 0; i < WATCH_MAX; i++) {
		if (P.w[i].used)
			busy++;
		else if (free_slot < 0)
			free_slot = i;
	}
	if (busy >= t->max_spans || free_slot < 0)
		return; /* as SkyWalking's agents: at most MaxSamplingCount spans at once */
	struct watch *w = &P.w[free_slot];
	uint16_t gen = (uint16_t)(w->gen + 1);
	*w = (struct watch){.used = true, .gen = gen, .tid = (int)rec->hdr.tid, .begin_ns = s->start_ns};
	memcpy(w->span_id, s->span_id, 8);
	rs_hex(s->u.http.seg_id, 8, w->segment); /* as the hooks write it into sw8 */
	w->segment[16] = 0;
	/* The first dump when the span has lasted MinDurationThreshold. */
	uint64_t now_epoch = rs_epoch_ns(), due = s->start_ns + t->min_ms * MS;
	w->next_mono = rs_mono_ns() + (due > now_epoch ? due - now_epoch : 0);
}

/* The tag names the slot (5 bits) and its generation (11 bits). */
static uint32_t tag_of(int slot)
{
	return (uint32_t)(slot + 1) | (uint32_t)(P.w[slot].gen & 0x7ff) << 5;
}

static uint64_t ask(uint64_t now)
{
	uint64_t next = UINT64_MAX;
	for (int i = 0; i < WATCH_MAX; i++) {
		struct watch *w = &P.w[i];
		if (!w->used)
			continue;
		if (now >= w->next_mono && !w->asked) {
			long e = rs_snapshot_request(w->tid, tag_of(i));
			if (e == -ESRCH) {
				w->used = false; /* the thread is gone; its span's end follows */
				continue;
			}
			w->asked = e == 0;
			w->next_mono = now + P.run->period_ms * MS;
		}
		next = RS_MIN(next, w->next_mono > now ? w->next_mono - now : P.run->period_ms * MS);
	}
	return next;
}

/* --- snapshots ---------------------------------------------------------------------------- */

static void take(const union rs_rec *rec)
{
	const struct rs_rec_sample *s = &rec->sample;
	int slot = (int)(s->tag & 31) - 1;
	if (slot < 0 || !P.run) {
		P.snap_stale++;
		return;
	}
	struct watch *w = &P.w[slot];
	if (!w->used || tag_of(slot) != s->tag) {
		P.snap_stale++;
		return;
	}
	w->asked = false;
	/* The thread may have moved on to other work between the request and the signal. */
	if (!(s->flags & RS_SAMPLE_HAS_SPAN) || memcmp(s->span_id, w->span_id, 8) != 0) {
		P.snap_stale++;
		return;
	}
	if (P.pending.len > PENDING_MAX) {
		P.snap_lost++;
		return;
	}
	if (rs_objtab_stale())
		rs_objtab_rebuild(dl_iterate_phdr);
	/* Snapshots come every DumpPeriod per span: the copy is taken again only when a dlopen or
	 * dlclose rebuilt the table. */
	if (!P.objs.n || P.objs.gen != rs_objtab_gen())
		rs_objtab_copy(&P.objs);
	rs_sym_update(&P.objs);

	/* codeSignatures run from the outermost frame to the leaf, as the Java agent sends them. */
	unsigned n = RS_MIN(s->nframes, RS_SAMPLE_MAX_FRAMES);
	static char sigs[RS_SAMPLE_MAX_FRAMES][160];
	static char *sigp[RS_SAMPLE_MAX_FRAMES];
	for (unsigned k = 0; k < n; k++) {
		uint64_t pc = s->frames[n - 1 - k];
		const char *fn = NULL;
		const struct rs_obj *o = rs_sym_lookup(k + 1 < n ? pc - 1 : pc, &fn);
		const char *file = o ? rs_sym_path(o) : NULL;
		const char *base = file ? strrchr(file, '/') : NULL;
		base = base ? base + 1 : file ? file : "?";
		if (fn)
			snprintf(sigs[k], sizeof(sigs[k]), "%s(%s)", fn, base);
		else
			snprintf(sigs[k], sizeof(sigs[k]), "0x%llx(%s+0x%llx)", (unsigned long long)pc,
				 base, o ? (unsigned long long)(pc - o->info.dlpi_addr) : 0ull);
		sigp[k] = sigs[k];
	}
	Skywalking__V3__ThreadStack st = SKYWALKING__V3__THREAD_STACK__INIT;
	st.n_codesignatures = n;
	st.codesignatures = sigp;
	Skywalking__V3__ThreadSnapshot ts = SKYWALKING__V3__THREAD_SNAPSHOT__INIT;
	ts.taskid = P.run->id;
	ts.tracesegmentid = w->segment;
	ts.time = (int64_t)(s->time_ns / MS);
	ts.sequence = w->seq++;
	ts.stack = &st;
	size_t len = skywalking__v3__thread_snapshot__get_packed_size(&ts);
	uint8_t *msg = malloc(len ? len : 1);
	if (!msg) {
		P.snap_lost++;
		return;
	}
	skywalking__v3__thread_snapshot__pack(&ts, msg);
	if (rs_grpc_frame(&P.pending, msg, len, false) != 0)
		P.snap_lost++;
	else
		P.pending_n++;
	free(msg);
}

static void send_done(void *arg, int status, const char *message, const void *reply, size_t len)
{
	(void)arg, (void)reply, (void)len;
	P.send_inflight = false;
	if (status == 0)
		P.snap_sent += P.sending_n;
	else {
		P.snap_lost += P.sending_n;
		rs_log(RS_LOG_WARN, "SkyWalking profile: collectSnapshot failed (%s%s); %llu snapshots lost",
		       status < 0 ? strerror(-status) : "grpc-status ", status < 0 ? "" : message,
		       (unsigned long long)P.sending_n);
	}
	P.sending.len = 0;
	P.sending_n = 0;
}

static void send_pending(void)
{
	if (P.send_inflight || !P.pending_n)
		return;
	/* Swap the buffers: what arrives while this call is out waits for the next. */
	struct rs_buf t = P.sending;
	P.sending = P.pending;
	P.pending = t;
	P.pending.len = 0;
	P.sending_n = P.pending_n;
	P.pending_n = 0;
	if (rs_grpc_call(P.grpc, rs_sw_profile_paths[1], P.sending.p, P.sending.len, false,
			 CALL_TIMEOUT_NS, send_done, NULL) < 0) {
		P.snap_lost += P.sending_n;
		P.sending.len = 0;
		P.sending_n = 0;
		return;
	}
	P.send_inflight = true;
}

/* --- the sink ----------------------------------------------------------------------------- */

static void start(struct rs_loop *loop, const struct rs_resource *res)
{
	(void)loop, (void)res;
	if (rs_cfg.exporter != RS_EXPORTER_SKYWALKING || rs_cfg.sw_protocol != RS_SW_GRPC ||
	    !rs_cfg.sw_profile_active)
		return;
	if (!rs_load_relaxed(&rs_snapshots_ready)) {
		rs_log(RS_LOG_WARN, "SkyWalking profile tasks are not served: the profiler's signal "
				    "handler is not installed");
		return;
	}
	/* The exporter's connection to the OAP (sinks start after the exporter). */
	P.grpc = rs_sw_grpc_client();
	if (!P.grpc)
		return; /* the exporter has said why */
	rs_sw_instance(instance, sizeof(instance));
	P.on = true;
	P.next_poll = rs_mono_ns(); /* at once, then every interval */
}

static uint64_t tick(uint64_t now)
{
	if (!P.on)
		return UINT64_MAX;
	poll_tasks(now);
	uint64_t epoch_ms = rs_epoch_ns() / MS;
	/* The running task ends; a waiting one whose start has come begins. */
	if (P.run && epoch_ms >= P.run->end_ms) {
		P.run->finishing = true;
		P.run = NULL;
		unwatch_all();
	}
	uint64_t next = P.next_poll > now ? P.next_poll - now : 0;
	if (!P.run) {
		for (int i = 0; i < TASK_MAX; i++) {
			struct task *t = &P.tasks[i];
			if (!t->used || t->finishing)
				continue;
			if (epoch_ms >= t->end_ms) {
				t->finishing = true;
			} else if (epoch_ms >= t->start_ms) {
				P.run = t;
				break;
			} else {
				next = RS_MIN(next, (t->start_ms - epoch_ms) * MS);
			}
		}
	}
	rs_sw_profile_watching = P.run != NULL;
	if (P.run) {
		next = RS_MIN(next, ask(now));
		next = RS_MIN(next, (P.run->end_ms - epoch_ms) * MS);
	}
	send_pending();
	/* A finished task is reported once its snapshots have gone. */
	if (!P.finish_inflight && !P.send_inflight && !P.pending_n) {
		for (int i = 0; i < TASK_MAX; i++)
			if (P.tasks[i].used && P.tasks[i].finishing) {
				finish_task(&P.tasks[i]);
				break;
			}
	}
	if (P.pending_n)
		next = RS_MIN(next, 10 * MS);
	return next;
}

static void flush(bool at_exit)
{
	if (!P.on)
		return;
	if (at_exit) {
		/* Snapshots taken go out; the task is not reported finished: it has not run its
		 * duration here, and the OAP ends it by its time anyway. */
		P.run = NULL;
		rs_sw_profile_watching = false;
		unwatch_all();
	}
	send_pending();
}

static bool idle(void)
{
	return !P.on || (!P.send_inflight && !P.pending_n);
}

static void forget(void)
{
	memset(&P, 0, sizeof(P)); /* the client is the exporter's, which forgets it */
	rs_sw_profile_watching = false;
}

static uint64_t report_losses(bool complete)
{
	uint64_t lost = P.snap_lost + (complete ? 0 : P.pending_n + P.sending_n);
	if (P.on && lost)
		rs_log(RS_LOG_WARN, "SkyWalking profile: %llu thread snapshots lost (%llu sent)",
		       (unsigned long long)lost, (unsigned long long)P.snap_sent);
	return 0;
}

static const struct rs_sink sw_profile_sink = {
	.name = "skywalking-profile",
	.type_min = RS_REC_SNAPSHOT,
	.type_max = RS_REC_SNAPSHOT,
	.start = start,
	.take = take,
	.tick = tick,
	.flush = flush,
	.idle = idle,
	.forget = forget,
	.report_losses = report_losses,
};

__attribute__((constructor(104))) static void sw_profile_register(void)
{
	rs_reporter_add_sink(&sw_profile_sink);
}

void rs_sw_profile_stats(struct rs_sw_profile_stats *st)
{
	st->tasks = P.tasks_seen;
	st->snapshots_sent = P.snap_sent;
	st->snapshots_lost = P.snap_lost;
	st->snapshots_stale = P.snap_stale;
}
