/* The SkyWalking exporter (RINGSIDE_EXPORTER=skywalking): HTTP spans assembled into segments
 * (sw_segments.c), sent as SkyWalking's agents send them, and the instance kept alive through
 * the ManagementService (properties once, keepAlive every SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD).
 * What differs per SW_AGENT_PROTOCOL sits behind struct rs_sw_transport (sw_transport.h): HTTP
 * (sw_http.c), gRPC (sw_grpc.c), Kafka (sw_kafka.c). */
#include "../preload/clock.h"
#include "../preload/config.h"
#include "../preload/log.h"
#include "../preload/sw_identity.h"
#include "../proto/sw_segment.h"
#include "batch.h"
#include "delivery.h"
#include "exporter.h"
#include "stats.h"
#include "sw_segments.h"
#include "sw_transport.h"
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MAX_PROPS 24

static struct {
	const struct rs_sw_transport *t;
	struct rs_sw_ctx ctx;
	char what[700];
	char instance[RS_CFG_NAME_MAX];
	char auth[RS_CFG_NAME_MAX];
	/* the open batch: encoded segments */
	struct rs_buf open;
	uint32_t open_spans, open_segs;
	struct rs_delivery d;
	/* management */
	struct rs_sw_kv props[MAX_PROPS];
	size_t nprops;
	char prop_text[MAX_PROPS][72];
	bool props_done, mgmt_healthy;
	uint64_t next_beat;
	bool exiting;
} S;

static void mgmt_done(bool properties, bool ok, const char *why)
{
	if (ok && properties)
		S.props_done = true;
	if (!ok && S.mgmt_healthy)
		rs_log(RS_LOG_WARN, "%s: %s failed (%s); trying again every heartbeat", S.what,
		       properties ? "reportInstanceProperties" : "keepAlive", why);
	S.mgmt_healthy = ok;
}

static void prop(const char *key, const char *value)
{
	if (S.nprops == MAX_PROPS)
		return;
	size_t n = strnlen(value, sizeof(S.prop_text[0]) - 1); /* host names fit: 64 */
	memcpy(S.prop_text[S.nprops], value, n);
	S.prop_text[S.nprops][n] = 0;
	S.props[S.nprops].key = key;
	S.props[S.nprops].value = S.prop_text[S.nprops];
	S.nprops++;
}

/* What SkyWalking's agents report about an instance (the Java agent's OSUtil keys; the OAP folds
 * repeated ipv4 entries into its ipv4s). The program's language is not known: "C" is the
 * language of the agent. */
static void collect_properties(void)
{
	struct utsname u;
	if (uname(&u) == 0) {
		prop("os_name", u.sysname);
		prop("hostname", u.nodename);
	}
	struct ifaddrs *ifs;
	if (getifaddrs(&ifs) == 0) {
		for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
			char ip[INET_ADDRSTRLEN];
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
				continue;
			const struct sockaddr_in *a = (const void *)i->ifa_addr;
			if ((ntohl(a->sin_addr.s_addr) >> 24) == 127 ||
			    !inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip)))
				continue;
			prop("ipv4", ip);
		}
		freeifaddrs(ifs);
	}
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	prop("process_no", pid);
	prop("language", "C");
}

static void seal_open(void)
{
	if (!S.open_segs)
		return;
	if (S.t->finish)
		S.t->finish(&S.open);
	struct rs_batch *b = rs_batch_new();
	if (!b || rs_buf_failed(&S.open)) {
		RS_STAT_ADD(dropped_encode, S.open_spans);
		rs_batch_free(b);
		rs_buf_free(&S.open);
	} else {
		b->data = S.open;
		b->spans = S.open_spans;
		S.open = (struct rs_buf){0};
		rs_delivery_push(&S.d, b);
	}
	S.open_spans = S.open_segs = 0;
}

/* A sealed segment joins the open batch. */
static void take_segment(const struct rs_sw_seg *seg, void *arg)
{
	(void)arg;
	S.t->add(&S.open, seg, S.open_segs == 0);
	S.open_segs++;
	S.open_spans += (uint32_t)seg->n;
	if (S.open_spans >= rs_cfg.bsp_max_export_batch)
		seal_open();
}

static const struct rs_sw_transport *transport_for(int protocol)
{
	switch (protocol) {
	case RS_SW_HTTP:
		return &rs_sw_http;
	case RS_SW_GRPC:
		return &rs_sw_grpc;
	case RS_SW_KAFKA:
		return &rs_sw_kafka;
	default:
		return NULL;
	}
}

/* The token goes into a header or metadata line: no control characters. */
static void auth_token(void)
{
	const char *a = rs_cfg.sw_auth;
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			rs_log(RS_LOG_ERROR, "SW_AGENT_AUTHENTICATION holds a control character; "
					     "sending no authentication");
			return;
		}
	snprintf(S.auth, sizeof(S.auth), "%s", a);
}

static int sw_start(struct rs_loop *loop, const struct rs_resource *res)
{
	(void)res;
	S.ctx.loop = loop;
	S.t = transport_for(rs_cfg.sw_protocol);
	if (!S.t)
		return -ENOTSUP; /* the configuration knows no other protocol */
	if (S.t->default_port) {
		char backend[RS_CFG_PATH_MAX], why[200];
		/* A list of OAP addresses: the first is used. */
		snprintf(backend, sizeof(backend), "%.*s", (int)strcspn(rs_cfg.sw_backend, ","),
			 rs_cfg.sw_backend);
		if (!backend[0])
			snprintf(backend, sizeof(backend), "127.0.0.1:%u", S.t->default_port);
		struct rs_endpoint *ep = &S.ctx.ep;
		if (!rs_endpoint_parse(backend, S.t->default_port, ep, why, sizeof(why))) {
			rs_log(RS_LOG_ERROR,
			       "SW_AGENT_COLLECTOR_BACKEND_SERVICES=\"%.200s\" %s; %s", backend,
			       why, "spans are dropped and counted");
			return -EINVAL;
		}
		/* As SkyWalking's Java agent: TLS when forced or when a CA file is named (and for
		 * an https:// address). */
		ep->tls = ep->tls || rs_cfg.sw_force_tls || rs_cfg.sw_ssl_ca[0];
		snprintf(S.what, sizeof(S.what), "SkyWalking %s export to %s:%u%s", S.t->name,
			 ep->host, ep->port, ep->tls ? " over TLS" : "");
		/* A CA or key file that cannot be used stops the export (said on stderr) rather
		 * than sending anything unverified. */
		if (ep->tls && !(S.ctx.tls = rs_tls_ctx_new(rs_cfg.sw_ssl_ca,
							    rs_cfg.sw_ssl_cert_chain,
							    rs_cfg.sw_ssl_key,
							    S.t == &rs_sw_grpc ? "h2" : NULL, S.what)))
			return -EINVAL;
	} else {
		if (rs_cfg.sw_force_tls || rs_cfg.sw_ssl_ca[0])
			rs_log(RS_LOG_ERROR, "SW_AGENT_FORCE_TLS and SW_AGENT_SSL_* apply to gRPC and "
					     "HTTP; Kafka takes its TLS settings from "
					     "SW_PLUGIN_KAFKA_PRODUCER_CONFIG_JSON");
		snprintf(S.what, sizeof(S.what), "SkyWalking %s export", S.t->name);
	}
	rs_sw_instance(S.instance, sizeof(S.instance));
	auth_token();
	collect_properties();
	if (!rs_sw_asm_init(rs_cfg.bsp_schedule_delay_ms * 1000000ull, rs_sw_service(), S.instance,
			    take_segment, NULL))
		return -ENOMEM;
	rs_delivery_init(&S.d, S.what, S.t->send, NULL);
	S.ctx.auth = S.auth;
	S.ctx.service = rs_sw_service();
	S.ctx.instance = S.instance;
	S.ctx.props = S.props;
	S.ctx.nprops = S.nprops;
	S.ctx.d = &S.d;
	S.ctx.mgmt_done = mgmt_done;
	if (!S.t->start(&S.ctx))
		return -EINVAL;
	rs_log(RS_LOG_INFO, "%s as service \"%s\", instance \"%s\"", S.what, rs_sw_service(),
	       S.instance);
	S.mgmt_healthy = true;
	S.next_beat = rs_mono_ns();
	return 0;
}

static void sw_add(const union rs_rec *rec)
{
	if (!rs_sw_asm_add(rec, rs_mono_ns()) && rec->span.what == RS_SPAN_TCP)
		RS_LOG_ONCE(RS_LOG_INFO,
			    "SkyWalking has no span for a bare TCP connection: connection "
			    "spans are not exported (RINGSIDE_CONN_SPANS=false stops recording "
			    "them)");
}

static size_t sw_open_spans(void)
{
	return S.open_spans;
}

static void sw_seal(void)
{
	seal_open();
}

static uint64_t sw_tick(uint64_t now)
{
	uint64_t next = rs_sw_asm_tick(now);
	if (!S.exiting && now >= S.next_beat) {
		/* Properties until the OAP took them, then keepAlive. */
		if (S.t->manage(!S.props_done))
			S.next_beat = now + rs_cfg.sw_heartbeat_s * 1000000000ull;
		else
			S.next_beat = now + 100000000ull; /* the last one is still going */
	}
	next = RS_MIN(next, S.exiting ? UINT64_MAX : S.next_beat - RS_MIN(S.next_beat, now));
	uint64_t d = rs_delivery_tick(&S.d, now);
	next = RS_MIN(next, d);
	if (S.t->tick) {
		uint64_t t = S.t->tick(now);
		next = RS_MIN(next, t);
	}
	return next;
}

static void sw_exit_flush(void)
{
	S.exiting = true;
}

static bool sw_idle(void)
{
	/* Only a flush asks: what is still being assembled goes now, complete or not. */
	if (rs_sw_asm_spans()) {
		rs_sw_asm_flush();
		seal_open();
		return false;
	}
	return !S.open_segs && rs_delivery_idle(&S.d);
}

static size_t sw_pending_spans(void)
{
	return S.open_spans + S.d.q.spans + rs_sw_asm_spans();
}

static void sw_forget(void)
{
	rs_sw_asm_forget();
	if (S.t && S.t->forget)
		S.t->forget();
	memset(&S, 0, sizeof(S));
}

const struct rs_exporter rs_sw_exporter = {
    .name = "skywalking",
    .start = sw_start,
    .add = sw_add,
    .open_spans = sw_open_spans,
    .seal = sw_seal,
    .tick = sw_tick,
    .exit_flush = sw_exit_flush,
    .idle = sw_idle,
    .pending_spans = sw_pending_spans,
    .forget = sw_forget,
};
