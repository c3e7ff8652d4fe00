/* The SkyWalking exporter (RINGSIDE_EXPORTER=skywalking): HTTP spans assembled into segments
 * (sw_segments.c), sent as SkyWalking's agents send them, and the instance kept alive through
 * the ManagementService (properties once, keepAlive every SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD).
 * What differs per SW_AGENT_PROTOCOL sits behind struct transport: how a segment joins the open
 * batch, how a batch and a management message travel. HTTP (the OAP's REST receivers on 12800:
 * POST /v3/segments with a JSON array, /v3/management/...) is the one built so far. */
#include "../preload/clock.h"
#include "../preload/config.h"
#include "../preload/log.h"
#include "../preload/sw_identity.h"
#include "../proto/sw_segment.h"
#include "batch.h"
#include "delivery.h"
#include "exporter.h"
#include "http_client.h"
#include "stats.h"
#include "sw_segments.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define TIMEOUT_NS 10000000000ull /* per request, as OTEL_EXPORTER_OTLP_TIMEOUT's default */
#define MAX_PROPS 24

enum mgmt_kind { MGMT_PROPERTIES, MGMT_PING };

struct transport {
	const char *name;
	uint16_t default_port;
	bool (*start)(void);
	/* Appends one segment to the open batch (its first when first). */
	void (*add)(struct rs_buf *batch, const struct rs_sw_seg *seg, bool first);
	/* Completes the open batch before it is queued. */
	void (*finish)(struct rs_buf *batch);
	rs_delivery_send_fn send;
	/* Starts one management call; false when it cannot go now. */
	bool (*manage)(enum mgmt_kind kind);
};

static struct {
	const struct transport *t;
	struct rs_loop *loop;
	struct rs_endpoint ep;
	char what[700];
	char instance[RS_CFG_NAME_MAX];
	char headers[RS_CFG_NAME_MAX + 32]; /* "Authentication: token\r\n" or "" */
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
	/* HTTP */
	struct rs_http_client http, mgmt_http;
	struct rs_buf mgmt_body;
	enum mgmt_kind mgmt_kind;
} S;

/* --- HTTP: the OAP's REST receivers ------------------------------------------------------------ */

static void http_add(struct rs_buf *b, const struct rs_sw_seg *seg, bool first)
{
	rs_buf_putc(b, first ? '[' : ',');
	rs_sw_json_segment(b, seg);
}

static void http_finish(struct rs_buf *b)
{
	rs_buf_putc(b, ']');
}

/* SkyWalking has no rule of its own: the OTLP rules (429, 502, 503, 504 and no answer are worth
 * another try) are what its agents' HTTP reporters amount to as well. */
static enum rs_outcome http_outcome(int status, char *why, size_t n)
{
	if (status < 0) {
		snprintf(why, n, "%s", strerror(-status));
		return RS_RETRY;
	}
	snprintf(why, n, "HTTP %d", status);
	if (status >= 200 && status < 300)
		return RS_DELIVERED;
	if (status == 429 || status == 502 || status == 503 || status == 504)
		return RS_RETRY;
	return RS_REJECTED;
}

static void path_for(const char *rel, char *out, size_t cap)
{
	size_t n = strcspn(S.ep.path, "?");
	while (n && S.ep.path[n - 1] == '/')
		n--;
	snprintf(out, cap, "%.*s%s", (int)n, S.ep.path, rel);
}

static void http_done(void *arg, int status, uint32_t retry_after_ms, const char *body, size_t len)
{
	(void)arg, (void)body, (void)len;
	char why[64];
	enum rs_outcome o = http_outcome(status, why, sizeof(why));
	rs_delivery_done(&S.d, o, retry_after_ms, 0, why);
}

static void http_send(void *transport, struct rs_batch *b)
{
	(void)transport;
	char path[600];
	path_for("/v3/segments", path, sizeof(path));
	int e = rs_http_client_post(&S.http, path, "application/json", NULL, S.headers, b->data.p,
				    b->data.len, TIMEOUT_NS, http_done, NULL);
	if (e < 0)
		rs_delivery_done(&S.d, RS_RETRY, 0, 0, strerror(-e));
}

static void mgmt_done(void *arg, int status, uint32_t retry_after_ms, const char *body, size_t len)
{
	(void)arg, (void)retry_after_ms, (void)body, (void)len;
	char why[64];
	bool ok = http_outcome(status, why, sizeof(why)) == RS_DELIVERED;
	if (ok && S.mgmt_kind == MGMT_PROPERTIES)
		S.props_done = true;
	if (!ok && S.mgmt_healthy)
		rs_log(RS_LOG_WARN, "%s: %s failed (%s); trying again every heartbeat", S.what,
		       S.mgmt_kind == MGMT_PROPERTIES ? "reportInstanceProperties" : "keepAlive", why);
	S.mgmt_healthy = ok;
}

static bool http_manage(enum mgmt_kind kind)
{
	if (rs_http_client_busy(&S.mgmt_http))
		return false;
	S.mgmt_body.len = 0;
	if (kind == MGMT_PROPERTIES)
		rs_sw_json_properties(&S.mgmt_body, rs_sw_service(), S.instance, S.props, S.nprops);
	else
		rs_sw_json_ping(&S.mgmt_body, rs_sw_service(), S.instance);
	if (rs_buf_failed(&S.mgmt_body)) {
		rs_buf_free(&S.mgmt_body);
		return false;
	}
	char path[600];
	path_for(kind == MGMT_PROPERTIES ? "/v3/management/reportProperties"
					 : "/v3/management/keepAlive",
		 path, sizeof(path));
	S.mgmt_kind = kind;
	return rs_http_client_post(&S.mgmt_http, path, "application/json", NULL, S.headers,
				   S.mgmt_body.p, S.mgmt_body.len, TIMEOUT_NS, mgmt_done, NULL) == 0;
}

static bool http_start(void)
{
	rs_http_client_init(&S.http, S.loop, &S.ep);
	rs_http_client_init(&S.mgmt_http, S.loop, &S.ep);
	return true;
}

static const struct transport http_transport = {
	.name = "http",
	.default_port = 12800,
	.start = http_start,
	.add = http_add,
	.finish = http_finish,
	.send = http_send,
	.manage = http_manage,
};

/* --- the exporter ------------------------------------------------------------------------------ */

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

static const struct transport *transport_for(int protocol)
{
	switch (protocol) {
	case RS_SW_HTTP:
		return &http_transport;
	default:
		return NULL;
	}
}

static bool auth_header(void)
{
	const char *a = rs_cfg.sw_auth;
	if (!a[0])
		return true;
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			rs_log(RS_LOG_ERROR, "SW_AGENT_AUTHENTICATION holds a control character; "
					     "sending no authentication");
			return false;
		}
	/* The OAP's AuthenticationInterceptor reads the "Authentication" header/metadata. */
	snprintf(S.headers, sizeof(S.headers), "Authentication: %s\r\n", a);
	return true;
}

static int sw_start(struct rs_loop *loop, const struct rs_resource *res)
{
	(void)res;
	static const char *const names[] = {[RS_SW_GRPC] = "grpc", [RS_SW_HTTP] = "http",
					    [RS_SW_KAFKA] = "kafka"};
	S.loop = loop;
	S.t = transport_for(rs_cfg.sw_protocol);
	if (!S.t) {
		rs_log(RS_LOG_ERROR, "SkyWalking export: SW_AGENT_PROTOCOL=%s is not available in this "
				     "build (use http); spans are dropped and counted",
		       names[rs_cfg.sw_protocol]);
		return -ENOTSUP;
	}
	char backend[RS_CFG_PATH_MAX], why[200];
	/* A list of OAP addresses: the first is used. */
	snprintf(backend, sizeof(backend), "%.*s", (int)strcspn(rs_cfg.sw_backend, ","),
		 rs_cfg.sw_backend);
	if (!backend[0])
		snprintf(backend, sizeof(backend), "127.0.0.1:%u", S.t->default_port);
	if (!rs_endpoint_parse(backend, S.t->default_port, &S.ep, why, sizeof(why)) || S.ep.tls) {
		rs_log(RS_LOG_ERROR, "SW_AGENT_COLLECTOR_BACKEND_SERVICES=\"%.200s\" %s; spans are "
				     "dropped and counted",
		       backend, S.ep.tls ? "is https://, and ringside speaks only cleartext so far" : why);
		return -EINVAL;
	}
	rs_sw_instance(S.instance, sizeof(S.instance));
	snprintf(S.what, sizeof(S.what), "SkyWalking %s export to %s:%u", S.t->name, S.ep.host,
		 S.ep.port);
	auth_header();
	collect_properties();
	if (!rs_sw_asm_init(rs_cfg.bsp_schedule_delay_ms * 1000000ull, rs_sw_service(), S.instance,
			    take_segment, NULL))
		return -ENOMEM;
	rs_delivery_init(&S.d, S.what, S.t->send, NULL);
	if (!S.t->start())
		return -EINVAL;
	rs_log(RS_LOG_INFO, "%s as service \"%s\", instance \"%s\"", S.what, rs_sw_service(),
	       S.instance);
	S.mgmt_healthy = true;
	S.next_beat = rs_mono_ns();
	return 0;
}

static void sw_add(const union rs_rec *rec)
{
	rs_sw_asm_add(rec, rs_mono_ns());
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
		if (S.t->manage(S.props_done ? MGMT_PING : MGMT_PROPERTIES))
			S.next_beat = now + rs_cfg.sw_heartbeat_s * 1000000000ull;
		else
			S.next_beat = now + 100000000ull; /* the last one is still going */
	}
	next = RS_MIN(next, S.exiting ? UINT64_MAX : S.next_beat - RS_MIN(S.next_beat, now));
	uint64_t d = rs_delivery_tick(&S.d, now);
	return RS_MIN(next, d);
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
