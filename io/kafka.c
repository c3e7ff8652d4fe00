/* The Kafka producer of kafka.h on librdkafka, loaded with dlopen on first use so a process that
 * never exports to Kafka never maps it (nor its OpenSSL, SASL and compression libraries). Runs on
 * the reporter thread, where every callback is served from rd_kafka_poll, logs included.
 * librdkafka's threads are the shim's own: it creates them with C11 thrd_create from the reporter
 * thread, so the thrd_create hook marks them internal; an on_thread_start interceptor marks them
 * too, for a librdkafka whose threads come some other way. */
#include "kafka.h"
#include "../preload/clock.h"
#include "../preload/config.h"
#include "../preload/json_props.h"
#include "../preload/log.h"
#include "../preload/thread.h"

#include <dlfcn.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* librdkafka's batching delay: short, the batches are ours. While records are outstanding the
 * reporter polls this often for their delivery reports, so a report waits about as long as the
 * record did; a record still unacknowledged after POLL_FAST_FOR (a broker away) is polled for
 * less often, so an outage does not keep the reporter spinning. */
#define LINGER_MS      5
#define LINGER_MS_TEXT "5"
#define POLL_NS	       (LINGER_MS * 1000000ull)
#define POLL_SLOW_NS   50000000ull
#define POLL_FAST_FOR  200000000ull
/* One record is one sealed batch, up to this many bytes before compression; the broker's own
 * limit (max.message.bytes, 1 MiB by default) applies to the compressed record batch. */
#define MAX_MESSAGE_BYTES (8u << 20)
#define MAX_TOPICS	  8		  /* topics with a handle (declared); others go by name */
#define LOG_SEEN	  32		  /* distinct librdkafka conditions remembered */
#define LOG_AGAIN_NS	  600000000000ull /* a condition is said again after ten minutes */

/* The librdkafka functions used, resolved once; the types come from its header. */
#define RDK_FUNCS(X)                                                                               \
	X(rd_kafka_version_str)                                                                    \
	X(rd_kafka_conf_new)                                                                       \
	X(rd_kafka_conf_set)                                                                       \
	X(rd_kafka_conf_set_dr_msg_cb)                                                             \
	X(rd_kafka_conf_set_log_cb)                                                                \
	X(rd_kafka_conf_set_error_cb)                                                              \
	X(rd_kafka_conf_set_opaque)                                                                \
	X(rd_kafka_conf_interceptor_add_on_new)                                                    \
	X(rd_kafka_interceptor_add_on_thread_start)                                                \
	X(rd_kafka_conf_destroy)                                                                   \
	X(rd_kafka_new)                                                                            \
	X(rd_kafka_opaque)                                                                         \
	X(rd_kafka_set_log_queue)                                                                  \
	X(rd_kafka_produceva)                                                                      \
	X(rd_kafka_topic_new)                                                                      \
	X(rd_kafka_topic_name)                                                                     \
	X(rd_kafka_topic_destroy)                                                                  \
	X(rd_kafka_error_code)                                                                     \
	X(rd_kafka_error_string)                                                                   \
	X(rd_kafka_error_destroy)                                                                  \
	X(rd_kafka_err2str)                                                                        \
	X(rd_kafka_poll)                                                                           \
	X(rd_kafka_flush)                                                                          \
	X(rd_kafka_purge)                                                                          \
	X(rd_kafka_destroy)

static struct {
	bool tried, ok;
	bool forked_unsafe; /* a fork child of a parent that was inside global_section() */
#define X(f) __typeof__(f) *f;
	RDK_FUNCS(X)
#undef X
} L;

/* --- fork ---------------------------------------------------------------------------------------
 * Loading librdkafka and making or destroying a producer take process-wide locks (the loader's,
 * librdkafka's global one). A fork while the reporter holds one leaves it held forever in the
 * child, whose own producer would then hang. So the forking thread waits for the reporter to
 * leave such a section (milliseconds, once or twice in a process's life, and at most 50 ms), and
 * the reporter does not enter one while a fork is pending (seq_cst: one of the two always sees
 * the other). A child forked anyway, after the wait ran out, does not use Kafka. */
static _Atomic int fork_pending;
static _Atomic bool in_global;
static _Atomic bool fork_saw_global;

static void pause_briefly(void)
{
	nanosleep(&(struct timespec){0, 200000}, NULL);
}

static void global_enter(void)
{
	for (;;) {
		while (atomic_load(&fork_pending))
			pause_briefly();
		atomic_store(&in_global, true);
		if (!atomic_load(&fork_pending))
			return;
		atomic_store(&in_global, false);
	}
}

static void global_leave(void)
{
	atomic_store(&in_global, false);
}

static void fork_prepare(void)
{
	atomic_fetch_add(&fork_pending, 1);
	for (int i = 0; i < 250 && atomic_load(&in_global); i++)
		pause_briefly();
	atomic_store(&fork_saw_global, atomic_load(&in_global));
}

static void fork_parent(void)
{
	atomic_fetch_sub(&fork_pending, 1);
}

static void fork_child(void)
{
	atomic_store(&fork_pending, 0);
	atomic_store(&in_global, false);
	if (atomic_load(&fork_saw_global))
		L.forked_unsafe = true;
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_register(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

struct rs_kafka {
	rd_kafka_t *rk;
	size_t outstanding;   /* produced, delivery report not yet served */
	uint64_t produced_ns; /* the last record queued (monotonic) */
	rd_kafka_topic_t *topics[MAX_TOPICS];
	unsigned ntopics;
	char what[96];
	struct {
		uint64_t hash;
		uint64_t said_ns;
	} seen[LOG_SEEN];
	bool seen_full;
};

/* One record's completion: the opaque librdkafka hands back in its delivery report. */
struct pending {
	rs_kafka_done_fn done;
	void *arg;
};

/* Loads librdkafka (the reporter thread is the only caller: no lock). In a fork child the mapping
 * and these pointers stay valid. */
static bool load(const char *what)
{
	if (L.tried)
		return L.ok;
	L.tried = true;
	pthread_once(&atfork_once, atfork_register);
	void *h = dlopen("librdkafka.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		rs_log(RS_LOG_ERROR, "%s: cannot load librdkafka (%s); install librdkafka1", what,
		       dlerror());
		return false;
	}
#define X(f)                                                                                       \
	L.f = (__typeof__(f) *)dlsym(h, #f);                                                       \
	if (!L.f) {                                                                                \
		rs_log(RS_LOG_ERROR,                                                               \
		       "%s: librdkafka.so.1 has no %s (a newer librdkafka is needed)", what, #f);  \
		return false;                                                                      \
	}
	RDK_FUNCS(X)
#undef X
	L.ok = true;
	return true;
}

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
	return h;
}

/* One stderr line per distinct condition: librdkafka repeats itself for as long as a broker is
 * away (every reconnect attempt), and the shim's log budget is shared with the lines that matter
 * more, such as the loss summary at exit. A condition is the text before its first parenthesis,
 * which is where librdkafka puts timings and repeat counts; an error it also logs is one. */
static void say(struct rs_kafka *k, enum rs_log_level level, const char *msg)
{
	uint64_t h = fnv1a(0xcbf29ce484222325ull, msg, strcspn(msg, "("));
	uint64_t now = rs_mono_ns();
	int slot = -1;
	for (int i = 0; i < LOG_SEEN; i++) {
		if (k->seen[i].hash == h) {
			if (now - k->seen[i].said_ns < LOG_AGAIN_NS)
				return;
			slot = i;
			break;
		}
		if (slot < 0 && (!k->seen[i].hash || now - k->seen[i].said_ns >= LOG_AGAIN_NS))
			slot = i;
	}
	if (slot < 0) {
		if (!k->seen_full)
			rs_log(RS_LOG_WARN,
			       "%s: librdkafka says more than %d different things; "
			       "the rest are not shown",
			       k->what, LOG_SEEN);
		k->seen_full = true;
		return;
	}
	k->seen[slot].hash = h ? h : 1;
	k->seen[slot].said_ns = now;
	rs_log(level, "%s: %.300s", k->what, msg);
}

/* librdkafka's levels are syslog's. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	(void)fac;
	struct rs_kafka *k = L.rd_kafka_opaque(rk);
	if (strncmp(buf, "[thrd:", 6) == 0 && strstr(buf, "]: ")) /* which thread: noise here */
		buf = strstr(buf, "]: ") + 3;
	say(k, level <= 4 ? RS_LOG_WARN : level <= 6 ? RS_LOG_INFO : RS_LOG_DEBUG, buf);
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	(void)err;
	say(opaque, RS_LOG_WARN, reason);
}

/* Errors no later attempt fixes: the record, the topic or the credentials are wrong. Anything
 * else (a timeout, a broker away, a leader moving) may succeed later. */
static bool permanent(rd_kafka_resp_err_t e)
{
	switch (e) {
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_INVALID_RECORD:
	case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
	case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
	case RD_KAFKA_RESP_ERR__AUTHENTICATION:
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
	case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
	case RD_KAFKA_RESP_ERR__FATAL:
		return true;
	default:
		return false;
	}
}

static int to_errno(rd_kafka_resp_err_t e)
{
	switch (e) {
	case RD_KAFKA_RESP_ERR_NO_ERROR:
		return 0;
	case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
	case RD_KAFKA_RESP_ERR__TIMED_OUT:
	case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
		return -ETIMEDOUT;
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
		return -EMSGSIZE;
	case RD_KAFKA_RESP_ERR__QUEUE_FULL:
		return -ENOBUFS;
	case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
		return -ENOENT;
	case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
	case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
		return -ECANCELED;
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
		return -EINVAL;
	case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
	case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
	case RD_KAFKA_RESP_ERR__AUTHENTICATION:
		return -EACCES;
	default:
		return -EIO;
	}
}

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	(void)rk;
	struct rs_kafka *k = opaque;
	struct pending *p = m->_private;
	k->outstanding -= !!k->outstanding;
	if (!p)
		return;
	rs_kafka_done_fn done = p->done;
	void *arg = p->arg;
	free(p);
	int e = to_errno(m->err);
	done(arg, e, e && !permanent(m->err), e ? L.rd_kafka_err2str(m->err) : NULL);
}

/* First thing in each of librdkafka's threads: from here on nothing it does is traced, profiled or
 * counted as the program's (its sockets, its locks, the threads it may start). */
static rd_kafka_resp_err_t on_thread_start(rd_kafka_t *rk, rd_kafka_thread_type_t type,
					   const char *name, void *opaque)
{
	(void)rk, (void)type, (void)name, (void)opaque;
	rs_thread_set_internal();
	return RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* Runs inside rd_kafka_new, before it starts any thread. */
static rd_kafka_resp_err_t on_new(rd_kafka_t *rk, const rd_kafka_conf_t *conf, void *opaque,
				  char *err, size_t errlen)
{
	(void)conf, (void)opaque, (void)err, (void)errlen;
	return L.rd_kafka_interceptor_add_on_thread_start(rk, "ringside", on_thread_start, NULL);
}

static bool set(rd_kafka_conf_t *conf, const char *name, const char *value, const char *what)
{
	char err[256];
	if (L.rd_kafka_conf_set(conf, name, value, err, sizeof(err)) == RD_KAFKA_CONF_OK)
		return true;
	rs_log(RS_LOG_ERROR, "%s: %s=%.200s: %s", what, name, value, err);
	return false;
}

/* librdkafka's log level follows RINGSIDE_LOG_LEVEL, so it does not even format what would be
 * thrown away. */
static const char *rdk_log_level(void)
{
	switch (rs_cfg.log_level) {
	case RS_LOG_ERROR:
		return "3";
	case RS_LOG_WARN:
		return "4";
	case RS_LOG_INFO:
		return "6";
	default:
		return "7";
	}
}

/* Properties a user's producer settings may not change, and why: the reporter's wiring (its logs
 * and their deduplication on the reporter thread), bounds that other settings own (the records'
 * wait, librdkafka's queue, the record size), and what would make librdkafka act inside the
 * traced program beyond producing: load a library, run a shell command (kinit, forked from the
 * program), signal its own threads, or wait for transactions the shim never begins. Pointer and
 * callback properties (dr_msg_cb, opaque, interceptors...) librdkafka itself refuses as text. */
static const struct {
	const char *name, *why;
} reserved[] = {
    {"bootstrap.servers", "the brokers come from their own variable"},
    {"metadata.broker.list", "the brokers come from their own variable"},
    {"log.queue", "the shim serves librdkafka's logs on its reporter thread"},
    {"log_level", "RINGSIDE_LOG_LEVEL sets it"},
    {"message.timeout.ms", "OTEL_EXPORTER_OTLP_TIMEOUT sets it"},
    {"delivery.timeout.ms", "OTEL_EXPORTER_OTLP_TIMEOUT sets it"},
    {"queue.buffering.max.kbytes", "RINGSIDE_QUEUE_MB sets it"},
    {"message.max.bytes", "the shim's batches need 8 MiB records"},
    {"transactional.id", "the shim does not use transactions"},
    {"plugin.library.paths", "no library is loaded into the traced program"},
    {"sasl.kerberos.kinit.cmd", "no command is run from the traced program (run kinit outside)"},
    {"sasl.kerberos.min.time.before.relogin", "no kinit is run from the traced program"},
    {"internal.termination.signal", "no signal is sent inside the traced program"},
};

/* Names whose values are credentials or key material: never on stderr. */
static bool secret(const char *name)
{
	/* sasl.password, ssl.key.password, ssl.key.pem, sasl.oauthbearer.client.secret... */
	static const char *const words[] = {"password", "secret", "key", "token", "jaas", "config"};
	for (size_t i = 0; i < RS_ARRAY_LEN(words); i++)
		if (strstr(name, words[i]))
			return true;
	return false;
}

/* The user's properties (decoded, json_props.h) over the shim's: each one librdkafka refuses, or
 * that is the shim's own, costs one stderr line and is skipped; the rest still apply. */
static void apply_props(rd_kafka_conf_t *conf, const char *props, const char *var)
{
	const char *cur = props, *name, *value;
	while ((name = rs_json_props_next(&cur, &value))) {
		const char *why = NULL;
		for (size_t i = 0; i < RS_ARRAY_LEN(reserved) && !why; i++)
			if (strcmp(name, reserved[i].name) == 0)
				why = reserved[i].why;
		if (why) {
			rs_log(RS_LOG_ERROR,
			       "%s: %.100s is not for producer settings (%s); skipped", var, name,
			       why);
			continue;
		}
		char err[256];
		if (L.rd_kafka_conf_set(conf, name, value, err, sizeof(err)) == RD_KAFKA_CONF_OK)
			continue;
		bool hide = secret(name);
		/* librdkafka's reason may quote the value it refused, perhaps cut short: for a
		 * secret, none of it is shown. */
		if (hide)
			snprintf(err, sizeof(err), "refused");
		rs_log(RS_LOG_ERROR, "%s: librdkafka refuses %.100s=%.200s: %s; skipped", var, name,
		       hide ? "(not shown)" : value, err);
	}
}

static struct rs_kafka *make(const char *brokers, const char *what, const char *props,
			     const char *var);

struct rs_kafka *rs_kafka_new(const char *brokers, const char *what, const char *props,
			      const char *props_var)
{
	global_enter();
	struct rs_kafka *k = NULL;
	if (L.forked_unsafe)
		rs_log(RS_LOG_ERROR,
		       "%s: this process was forked while its parent set up librdkafka, "
		       "which cannot be used here; spans are dropped and counted",
		       what);
	else if (load(what))
		k = make(brokers, what, props ? props : "", props_var ? props_var : what);
	global_leave();
	return k;
}

static struct rs_kafka *make(const char *brokers, const char *what, const char *props,
			     const char *var)
{
	struct rs_kafka *k = calloc(1, sizeof(*k));
	rd_kafka_conf_t *conf = L.rd_kafka_conf_new();
	if (!k || !conf) {
		rs_log(RS_LOG_ERROR, "%s: out of memory", what);
		goto fail;
	}
	snprintf(k->what, sizeof(k->what), "%s", what);
	char timeout[16], kbytes[16], maxbytes[16];
	/* How long one record may wait in librdkafka for a broker before it fails (retryably): the
	 * time an export request may take. */
	snprintf(timeout, sizeof(timeout), "%u", RS_MAX(rs_cfg.otlp_timeout_ms, 2u * LINGER_MS));
	/* The records waiting are the delivery queue's batches, already bounded by
	 * RINGSIDE_QUEUE_MB: librdkafka's own bound must not refuse what that one admitted. */
	snprintf(kbytes, sizeof(kbytes), "%u", rs_cfg.queue_mb * 1024u);
	snprintf(maxbytes, sizeof(maxbytes), "%u", MAX_MESSAGE_BYTES);
	/* lz4 rather than gzip: several times cheaper in CPU for the traced program, and like every
	 * codec, undone by the consumer's client before the Collector's Kafka receiver decodes. */
	if (!set(conf, "bootstrap.servers", brokers, what) ||
	    !set(conf, "client.id", "ringside", what) ||
	    !set(conf, "linger.ms", LINGER_MS_TEXT, what) ||
	    !set(conf, "compression.codec", "lz4", what) ||
	    !set(conf, "message.timeout.ms", timeout, what) ||
	    !set(conf, "queue.buffering.max.kbytes", kbytes, what) ||
	    !set(conf, "message.max.bytes", maxbytes, what) ||
	    /* A broker that comes back is found within a second, not librdkafka's ten. */
	    !set(conf, "reconnect.backoff.max.ms", "1000", what) ||
	    !set(conf, "log_level", rdk_log_level(), what) ||
	    /* Logs wait for rd_kafka_poll on the reporter thread instead of being written from
	     * librdkafka's threads: one thread owns the deduplication. */
	    !set(conf, "log.queue", "true", what))
		goto fail;
	/* With SASL/GSSAPI librdkafka would run kinit itself, forked from inside the traced
	 * program; 0 turns that off (a librdkafka without SASL may not know the property). */
	char ignored[256];
	L.rd_kafka_conf_set(conf, "sasl.kerberos.min.time.before.relogin", "0", ignored,
			    sizeof(ignored));
	apply_props(conf, props, var);
	L.rd_kafka_conf_set_opaque(conf, k);
	if (L.rd_kafka_conf_interceptor_add_on_new(conf, "ringside", on_new, NULL)) {
		rs_log(RS_LOG_ERROR, "%s: cannot add librdkafka's thread-start interceptor", what);
		goto fail;
	}
	L.rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
	L.rd_kafka_conf_set_log_cb(conf, log_cb);
	L.rd_kafka_conf_set_error_cb(conf, error_cb);
	char err[256];
	k->rk = L.rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!k->rk) {
		/* conf is still ours, but librdkafka 2.0's failure path has already freed parts of
		 * it (a TLS setting it could not load: destroying conf then crashes in librdkafka):
		 * it is left behind, once in the process's life. */
		rs_log(RS_LOG_ERROR, "%s: cannot create a Kafka producer: %s", what, err);
		free(k);
		return NULL;
	}
	L.rd_kafka_set_log_queue(k->rk, NULL); /* the main queue, served by rd_kafka_poll */
	rs_log(RS_LOG_DEBUG, "%s: librdkafka %s", what, L.rd_kafka_version_str());
	return k;
fail:
	if (conf)
		L.rd_kafka_conf_destroy(conf);
	free(k);
	return NULL;
}

static rd_kafka_topic_t *declared(struct rs_kafka *k, const char *topic)
{
	for (unsigned i = 0; i < k->ntopics; i++)
		if (strcmp(L.rd_kafka_topic_name(k->topics[i]), topic) == 0)
			return k->topics[i];
	return NULL;
}

int rs_kafka_declare(struct rs_kafka *k, const char *topic)
{
	if (declared(k, topic))
		return 0;
	if (k->ntopics == MAX_TOPICS)
		return -ENOSPC;
	/* A new handle asks the cluster for the topic's leaders at once. */
	rd_kafka_topic_t *t = L.rd_kafka_topic_new(k->rk, topic, NULL);
	if (!t)
		return -EINVAL;
	k->topics[k->ntopics++] = t;
	return 0;
}

int rs_kafka_produce(struct rs_kafka *k, const char *topic, const void *key, size_t keylen,
		     const void *value, size_t len, rs_kafka_done_fn done, void *arg)
{
	struct pending *p = malloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = (struct pending){done, arg};
	rd_kafka_topic_t *t = declared(k, topic);
	rd_kafka_vu_t vu[5] = {
	    t ? (rd_kafka_vu_t){.vtype = RD_KAFKA_VTYPE_RKT, .u.rkt = t}
	      : (rd_kafka_vu_t){.vtype = RD_KAFKA_VTYPE_TOPIC, .u.cstr = topic},
	    {.vtype = RD_KAFKA_VTYPE_VALUE, .u.mem = {(void *)value, len}},
	    {.vtype = RD_KAFKA_VTYPE_MSGFLAGS, .u.i = RD_KAFKA_MSG_F_COPY},
	    {.vtype = RD_KAFKA_VTYPE_OPAQUE, .u.ptr = p},
	    {.vtype = RD_KAFKA_VTYPE_KEY, .u.mem = {(void *)key, keylen}},
	};
	rd_kafka_error_t *e = L.rd_kafka_produceva(k->rk, vu, key ? 5 : 4);
	if (e) {
		rd_kafka_resp_err_t code = L.rd_kafka_error_code(e);
		say(k, RS_LOG_WARN, L.rd_kafka_error_string(e));
		L.rd_kafka_error_destroy(e);
		free(p);
		return to_errno(code);
	}
	k->outstanding++;
	k->produced_ns = rs_mono_ns();
	return 0;
}

size_t rs_kafka_poll(struct rs_kafka *k)
{
	L.rd_kafka_poll(k->rk, 0);
	return k->outstanding;
}

size_t rs_kafka_flush(struct rs_kafka *k, unsigned timeout_ms)
{
	L.rd_kafka_flush(k->rk, (int)RS_MIN(timeout_ms, (unsigned)INT32_MAX));
	return k->outstanding;
}

uint64_t rs_kafka_next_poll_ns(const struct rs_kafka *k)
{
	if (!k || !k->outstanding)
		return UINT64_MAX;
	return rs_mono_ns() - k->produced_ns < POLL_FAST_FOR ? POLL_NS : POLL_SLOW_NS;
}

void rs_kafka_destroy(struct rs_kafka *k)
{
	if (!k)
		return;
	/* Records still waiting end now, each with its done(-ECANCELED), rather than holding
	 * rd_kafka_destroy up for message.timeout.ms. */
	L.rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	L.rd_kafka_poll(k->rk, 0);
	for (unsigned i = 0; i < k->ntopics; i++)
		L.rd_kafka_topic_destroy(k->topics[i]);
	global_enter();
	L.rd_kafka_destroy(k->rk);
	global_leave();
	free(k);
}

void rs_kafka_forget(struct rs_kafka *k)
{
	/* Its threads, locks and sockets belong to the parent: touching them could deadlock. The
	 * handle and its memory are left behind (copy-on-write costs nothing untouched). */
	(void)k;
}
