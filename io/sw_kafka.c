/* SkyWalking over Kafka (SW_AGENT_PROTOCOL=kafka), on the reporter's Kafka producer (kafka.h),
 * to the topics the OAP's kafka-fetcher reads: each segment one record of skywalking-segments
 * (key: its segment id, value: the SegmentObject), management messages records of
 * skywalking-managements whose key tells the OAP what they are ("register-<instance>" for
 * InstanceProperties, "<instance>" for InstancePingPkg). SW_KAFKA_NAMESPACE prefixes the topics
 * with "<namespace>-", as the OAP's namespace does. */
#include "../preload/config.h"
#include "kafka.h"
#include "sw_transport.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* A batch holds its records back to back: key length, key, value length, value (lengths as
 * uint32_t in this process's byte order: the batch never leaves it). */
static struct {
	const struct rs_sw_ctx *ctx;
	struct rs_kafka *k;
	char segments[RS_CFG_NAME_MAX + 32], managements[RS_CFG_NAME_MAX + 32];
	struct rs_buf msg;
	struct rs_arena arena;
	/* the batch in flight: records still unanswered, and the worst answer so far */
	size_t pending;
	enum rs_outcome worst;
	char why[160];
	bool mgmt_busy, mgmt_props;
} K;

static void put_field(struct rs_buf *b, const void *p, size_t n)
{
	uint32_t l = (uint32_t)n;
	rs_buf_put(b, &l, sizeof(l));
	rs_buf_put(b, p, n);
}

static void add(struct rs_buf *b, const struct rs_sw_seg *seg, bool first)
{
	(void)first;
	K.msg.len = 0;
	bool ok = rs_sw_pb_segment(&K.msg, seg, &K.arena);
	rs_arena_reset(&K.arena);
	if (!ok || rs_buf_failed(&K.msg)) {
		b->failed = true; /* the batch is dropped and counted when sealed */
		return;
	}
	put_field(b, seg->id, strlen(seg->id));
	put_field(b, K.msg.p, K.msg.len);
}

static enum rs_outcome worse(enum rs_outcome a, enum rs_outcome b)
{
	/* A record refused for good drops the batch; one worth retrying sends it again. */
	return a == RS_REJECTED || b == RS_REJECTED ? RS_REJECTED
	       : a == RS_RETRY || b == RS_RETRY	    ? RS_RETRY
						    : RS_DELIVERED;
}

static void batch_settled(void)
{
	rs_delivery_done(K.ctx->d, K.worst, 0, 0, K.why[0] ? K.why : NULL);
}

static void record_done(void *arg, int err, bool retryable, const char *why)
{
	(void)arg;
	if (err) {
		K.worst = worse(K.worst, retryable ? RS_RETRY : RS_REJECTED);
		snprintf(K.why, sizeof(K.why), "%s", why ? why : strerror(-err));
	}
	if (K.pending && --K.pending == 0)
		batch_settled();
}

static void send_batch(void *transport, struct rs_batch *b)
{
	(void)transport;
	K.worst = RS_DELIVERED;
	K.why[0] = 0;
	K.pending = 1; /* held while producing, so no answer settles the batch early */
	const char *p = b->data.p, *end = b->data.p + b->data.len;
	while (p + 2 * sizeof(uint32_t) <= end) {
		uint32_t kl, vl;
		memcpy(&kl, p, sizeof(kl));
		const char *key = p + sizeof(kl);
		if ((size_t)(end - key) < (size_t)kl + sizeof(vl))
			break;
		memcpy(&vl, key + kl, sizeof(vl));
		const char *val = key + kl + sizeof(vl);
		p = val + vl;
		int e = rs_kafka_produce(K.k, K.segments, key, kl, val, vl, record_done, NULL);
		if (e < 0) {
			/* A full queue or a broker error: the whole batch again, later; a record or
			 * topic the cluster refuses: no later attempt helps. */
			bool again = e == -ENOBUFS || e == -EIO;
			K.worst = worse(K.worst, again ? RS_RETRY : RS_REJECTED);
			snprintf(K.why, sizeof(K.why), "%s", strerror(-e));
			break;
		}
		K.pending++;
	}
	if (--K.pending == 0)
		batch_settled();
}

static void mgmt_done(void *arg, int err, bool retryable, const char *why)
{
	(void)arg, (void)retryable;
	K.mgmt_busy = false;
	K.ctx->mgmt_done(K.mgmt_props, err == 0, why ? why : "");
}

static bool manage(bool properties)
{
	const struct rs_sw_ctx *c = K.ctx;
	if (K.mgmt_busy)
		return false;
	K.msg.len = 0;
	bool ok = properties
		      ? rs_sw_pb_properties(&K.msg, c->service, c->instance, c->props, c->nprops)
		      : rs_sw_pb_ping(&K.msg, c->service, c->instance);
	if (!ok)
		return false;
	char key[RS_CFG_NAME_MAX + 16];
	snprintf(key, sizeof(key), "%s%s", properties ? "register-" : "", c->instance);
	K.mgmt_props = properties;
	if (rs_kafka_produce(K.k, K.managements, key, strlen(key), K.msg.p, K.msg.len, mgmt_done,
			     NULL) < 0)
		return false;
	K.mgmt_busy = true;
	return true;
}

static uint64_t tick(uint64_t now)
{
	(void)now;
	rs_kafka_poll(K.k);
	return rs_kafka_next_poll_ns(K.k);
}

static bool start(const struct rs_sw_ctx *ctx)
{
	K.ctx = ctx;
	const char *ns = rs_cfg.sw_kafka_namespace;
	snprintf(K.segments, sizeof(K.segments), "%s%sskywalking-segments", ns, ns[0] ? "-" : "");
	snprintf(K.managements, sizeof(K.managements), "%s%sskywalking-managements", ns,
		 ns[0] ? "-" : "");
	K.k = rs_kafka_new(rs_cfg.sw_kafka_servers[0] ? rs_cfg.sw_kafka_servers : "localhost:9092",
			   "SkyWalking Kafka exporter", rs_cfg.sw_kafka_producer_props,
			   "SW_PLUGIN_KAFKA_PRODUCER_CONFIG_JSON");
	if (!K.k)
		return false;
	/* Their leaders are looked up now, not on the first record (which may come at exit). */
	rs_kafka_declare(K.k, K.segments);
	rs_kafka_declare(K.k, K.managements);
	return true;
}

static void forget(void)
{
	if (K.k)
		rs_kafka_forget(K.k);
	memset(&K, 0, sizeof(K));
}

const struct rs_sw_transport rs_sw_kafka = {
    .name = "kafka",
    .default_port = 0, /* SW_KAFKA_BOOTSTRAP_SERVERS, not the OAP's address */
    .start = start,
    .add = add,
    .send = send_batch,
    .manage = manage,
    .tick = tick,
    .forget = forget,
};
