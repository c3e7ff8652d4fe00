/* Table-driven parsing of the environment: each setting names its variable, kind, bounds and
 * default. Values are length-bounded and validated; a bad one falls back to the default. */
#include "config.h"
#include "json_props.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct rs_config rs_cfg;

enum opt_kind {
	OPT_BOOL,
	OPT_UINT,
	OPT_ENUM,
	OPT_STR,
	OPT_PATH,
	OPT_OTEL_DISABLED,
	OPT_PROPAGATORS,
	OPT_PROPS, /* a flat JSON object, stored decoded (json_props.h); its value is never shown */
};

struct opt {
	const char *name;
	enum opt_kind kind;
	size_t off;
	uint32_t min, max;   /* OPT_UINT: inclusive range */
	const char *choices; /* OPT_ENUM: names separated by '|' in enum order */
	size_t size;	     /* OPT_STR: buffer size */
};

#define F(field) offsetof(struct rs_config, field), 0, 0, NULL, sizeof(((struct rs_config *)0)->field)
#define U(field, lo, hi) offsetof(struct rs_config, field), (lo), (hi), NULL, 0
#define E(field, names) offsetof(struct rs_config, field), 0, 0, (names), 0

static const struct opt opts[] = {
	{"RINGSIDE_ENABLED", OPT_BOOL, F(enabled)},
	{"OTEL_SDK_DISABLED", OPT_OTEL_DISABLED, F(enabled)},
	{"RINGSIDE_CONN_SPANS", OPT_BOOL, F(conn_spans)},
	{"RINGSIDE_HTTP", OPT_BOOL, F(http)},
	{"RINGSIDE_HTTP_CONNS", OPT_UINT, U(http_conns, 16, 1048576)},
	{"OTEL_PROPAGATORS", OPT_PROPAGATORS, F(propagators)},
	{"SW_AGENT_NAME", OPT_STR, F(sw_service)},
	{"SW_AGENT_INSTANCE_NAME", OPT_STR, F(sw_instance)},
	{"RINGSIDE_EXPORTER", OPT_ENUM, E(exporter, "file|otlp|skywalking|kafka|none")},
	{"RINGSIDE_IO", OPT_ENUM, E(io_mode, "auto|io_uring|poll")},
	{"RINGSIDE_LOG_LEVEL", OPT_ENUM, E(log_level, "error|warn|info|debug")},
	{"RINGSIDE_OUTPUT_DIR", OPT_PATH, F(output_dir)},
	{"RINGSIDE_FLUSH_TIMEOUT_MS", OPT_UINT, U(flush_timeout_ms, 0, 60000)},
	{"RINGSIDE_RING_KB", OPT_UINT, U(ring_kb, 16, 65536)},
	{"RINGSIDE_QUEUE_MB", OPT_UINT, U(queue_mb, 1, 4096)},
	{"OTEL_BSP_SCHEDULE_DELAY", OPT_UINT, U(bsp_schedule_delay_ms, 1, 3600000)},
	{"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", OPT_UINT, U(bsp_max_export_batch, 1, 1000000)},
	{"OTEL_BSP_MAX_QUEUE_SIZE", OPT_UINT, U(bsp_max_queue, 1, 10000000)},
	{"RINGSIDE_PROFILE", OPT_ENUM, E(profile, "off|cpu|wait|cpu,wait|wait,cpu")},
	{"RINGSIDE_PROFILE_HZ", OPT_UINT, U(profile_hz, 1, 1000)},
	{"RINGSIDE_WAIT_THRESHOLD_US", OPT_UINT, U(wait_threshold_us, 1, 60000000)},
	{"RINGSIDE_PROFILE_INTERVAL_S", OPT_UINT, U(profile_interval_s, 1, 86400)},
	{"RINGSIDE_PROFILE_ENDPOINT", OPT_STR, F(profile_endpoint)},
	{"RINGSIDE_PROFILE_CERTIFICATE", OPT_STR, F(profile_certificate)},
	{"RINGSIDE_PROFILE_CLIENT_CERTIFICATE", OPT_STR, F(profile_client_certificate)},
	{"RINGSIDE_PROFILE_CLIENT_KEY", OPT_STR, F(profile_client_key)},
	{"RINGSIDE_PROFILE_HEADERS", OPT_STR, F(profile_headers)},
	{"OTEL_SERVICE_NAME", OPT_STR, F(service_name)},
#define OTLP_PROTOCOLS "http/protobuf|http/json|grpc"
	{"OTEL_EXPORTER_OTLP_PROTOCOL", OPT_ENUM, E(otlp_protocol, OTLP_PROTOCOLS)},
	{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", OPT_ENUM, E(otlp_traces_protocol, OTLP_PROTOCOLS)},
	{"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", OPT_ENUM, E(otlp_metrics_protocol, OTLP_PROTOCOLS)},
	{"OTEL_EXPORTER_OTLP_ENDPOINT", OPT_STR, F(otlp_endpoint)},
	{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", OPT_STR, F(otlp_traces_endpoint)},
	{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", OPT_STR, F(otlp_metrics_endpoint)},
	{"OTEL_EXPORTER_OTLP_HEADERS", OPT_STR, F(otlp_headers)},
	{"OTEL_EXPORTER_OTLP_TRACES_HEADERS", OPT_STR, F(otlp_traces_headers)},
	{"OTEL_EXPORTER_OTLP_METRICS_HEADERS", OPT_STR, F(otlp_metrics_headers)},
	{"OTEL_EXPORTER_OTLP_COMPRESSION", OPT_ENUM, E(otlp_compression, "none|gzip")},
	{"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", OPT_ENUM, E(otlp_traces_compression, "none|gzip")},
	{"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION", OPT_ENUM, E(otlp_metrics_compression, "none|gzip")},
	{"OTEL_EXPORTER_OTLP_TIMEOUT", OPT_UINT, U(otlp_timeout_ms, 1, 600000)},
	{"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", OPT_UINT, U(otlp_traces_timeout_ms, 1, 600000)},
	{"OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", OPT_UINT, U(otlp_metrics_timeout_ms, 1, 600000)},
	{"OTEL_EXPORTER_OTLP_CERTIFICATE", OPT_STR, F(otlp_certificate)},
	{"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", OPT_STR, F(otlp_traces_certificate)},
	{"OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", OPT_STR, F(otlp_metrics_certificate)},
	{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", OPT_STR, F(otlp_client_certificate)},
	{"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", OPT_STR, F(otlp_traces_client_certificate)},
	{"OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE", OPT_STR, F(otlp_metrics_client_certificate)},
	{"OTEL_EXPORTER_OTLP_CLIENT_KEY", OPT_STR, F(otlp_client_key)},
	{"OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", OPT_STR, F(otlp_traces_client_key)},
	{"OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", OPT_STR, F(otlp_metrics_client_key)},
	{"OTEL_METRIC_EXPORT_INTERVAL", OPT_UINT, U(metric_interval_ms, 100, 86400000)},
	{"RINGSIDE_SELF_METRICS", OPT_BOOL, F(self_metrics)},
	{"SW_AGENT_PROTOCOL", OPT_ENUM, E(sw_protocol, "grpc|http|kafka")},
	{"SW_AGENT_COLLECTOR_BACKEND_SERVICES", OPT_STR, F(sw_backend)},
	{"SW_AGENT_AUTHENTICATION", OPT_STR, F(sw_auth)},
	{"SW_AGENT_FORCE_TLS", OPT_BOOL, F(sw_force_tls)},
	{"SW_AGENT_SSL_TRUSTED_CA_PATH", OPT_STR, F(sw_ssl_ca)},
	{"SW_AGENT_SSL_CERT_CHAIN_PATH", OPT_STR, F(sw_ssl_cert_chain)},
	{"SW_AGENT_SSL_KEY_PATH", OPT_STR, F(sw_ssl_key)},
	{"SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD", OPT_UINT, U(sw_heartbeat_s, 1, 86400)},
	{"SW_AGENT_PROFILE_ACTIVE", OPT_BOOL, F(sw_profile_active)},
	{"SW_AGENT_COLLECTOR_GET_PROFILE_TASK_INTERVAL", OPT_UINT, U(sw_profile_poll_s, 1, 3600)},
	{"SW_KAFKA_BOOTSTRAP_SERVERS", OPT_STR, F(sw_kafka_servers)},
	{"SW_KAFKA_NAMESPACE", OPT_STR, F(sw_kafka_namespace)},
	{"RINGSIDE_KAFKA_BROKERS", OPT_STR, F(kafka_brokers)},
	{"RINGSIDE_KAFKA_TRACES_TOPIC", OPT_STR, F(kafka_traces_topic)},
	{"RINGSIDE_KAFKA_METRICS_TOPIC", OPT_STR, F(kafka_metrics_topic)},
	{"RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON", OPT_PROPS, F(kafka_producer_props)},
	{"SW_PLUGIN_KAFKA_PRODUCER_CONFIG_JSON", OPT_PROPS, F(sw_kafka_producer_props)},
	{"OTEL_RESOURCE_ATTRIBUTES", OPT_STR, F(resource_attrs)},
};

static void set_defaults(struct rs_config *c)
{
	memset(c, 0, sizeof(*c));
	c->enabled = true;
	c->conn_spans = true;
	c->http = true;
	c->http_conns = 4096;
	c->propagators = RS_PROPAGATE_TRACECONTEXT;
	c->exporter = RS_EXPORTER_FILE;
	c->io_mode = RS_IO_AUTO;
	c->log_level = RS_LOG_WARN;
	strcpy(c->output_dir, "/tmp/ringside");
	c->flush_timeout_ms = 1000;
	c->ring_kb = 1024;
	c->queue_mb = 4;
	c->bsp_schedule_delay_ms = 5000; /* the OpenTelemetry SDK defaults */
	c->bsp_max_export_batch = 512;
	c->bsp_max_queue = 2048;
	c->profile = RS_PROFILE_OFF; /* opt-in: a timer signal can change a program's EINTRs */
	c->profile_hz = 99; /* not 100: stays out of step with timers that tick at round rates */
	c->wait_threshold_us = 1000;
	c->profile_interval_s = 60;
	c->otlp_protocol = RS_OTLP_HTTP_PROTOBUF; /* the OTLP exporter specification's default */
	c->otlp_traces_protocol = c->otlp_metrics_protocol = RS_CFG_UNSET_ENUM;
	c->otlp_traces_compression = c->otlp_metrics_compression = RS_CFG_UNSET_ENUM;
	c->otlp_timeout_ms = 10000;
	c->otlp_traces_timeout_ms = c->otlp_metrics_timeout_ms = RS_CFG_UNSET_UINT;
	c->metric_interval_ms = 60000;
	c->self_metrics = true;
	c->sw_protocol = RS_SW_GRPC;
	c->sw_heartbeat_s = 30;
	c->sw_profile_active = true; /* as SkyWalking's agents */
	c->sw_profile_poll_s = 20;   /* as SkyWalking's agents */
	strcpy(c->sw_kafka_servers, "localhost:9092");
	strcpy(c->kafka_brokers, "localhost:9092");
	strcpy(c->kafka_traces_topic, "otlp_spans"); /* the Collector's Kafka receiver defaults */
	strcpy(c->kafka_metrics_topic, "otlp_metrics");
}

void rs_otlp_signal(const struct rs_config *c, enum rs_otlp_signal_kind k, struct rs_otlp_signal *s)
{
	bool t = k == RS_SIGNAL_TRACES;
	int proto = t ? c->otlp_traces_protocol : c->otlp_metrics_protocol;
	const char *ep = t ? c->otlp_traces_endpoint : c->otlp_metrics_endpoint;
	const char *hd = t ? c->otlp_traces_headers : c->otlp_metrics_headers;
	int gz = t ? c->otlp_traces_compression : c->otlp_metrics_compression;
	uint32_t to = t ? c->otlp_traces_timeout_ms : c->otlp_metrics_timeout_ms;
	s->protocol = proto != RS_CFG_UNSET_ENUM ? proto : c->otlp_protocol;
	s->endpoint_is_signal = *ep != 0;
	s->endpoint = *ep ? ep : c->otlp_endpoint;
	s->headers = *hd ? hd : c->otlp_headers;
	s->gzip = (gz != RS_CFG_UNSET_ENUM ? gz : c->otlp_compression) == 1;
	s->timeout_ms = to != RS_CFG_UNSET_UINT ? to : c->otlp_timeout_ms;
	const char *ca = t ? c->otlp_traces_certificate : c->otlp_metrics_certificate;
	const char *cc = t ? c->otlp_traces_client_certificate : c->otlp_metrics_client_certificate;
	const char *ck = t ? c->otlp_traces_client_key : c->otlp_metrics_client_key;
	s->certificate = *ca ? ca : c->otlp_certificate;
	s->client_certificate = *cc ? cc : c->otlp_client_certificate;
	s->client_key = *ck ? ck : c->otlp_client_key;
}

static bool ieq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a, y = *b;
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return *a == *b;
}

static bool parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	for (size_t i = 0; i < RS_ARRAY_LEN(yes); i++) {
		if (ieq(v, yes[i])) {
			*out = true;
			return true;
		}
		if (ieq(v, no[i])) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool parse_uint(const char *v, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t n = 0;
	if (!*v)
		return false;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return false;
		n = n * 10 + (uint64_t)(*v - '0');
		if (n > max)
			return false;
	}
	if (n < min)
		return false;
	*out = (uint32_t)n;
	return true;
}

/* Index of v in the '|'-separated list, case-insensitive, or -1. */
static int parse_choice(const char *v, const char *choices)
{
	int idx = 0;
	const char *p = choices;
	while (*p) {
		const char *end = strchr(p, '|');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (strlen(v) == len) {
			char tmp[64];
			if (len < sizeof(tmp)) {
				memcpy(tmp, p, len);
				tmp[len] = 0;
				if (ieq(v, tmp))
					return idx;
			}
		}
		if (!end)
			break;
		p = end + 1;
		idx++;
	}
	return -1;
}

/* OTEL_PROPAGATORS: a comma-separated list. "baggage" is accepted and does nothing (ringside
 * neither adds nor strips baggage); propagators ringside does not speak are refused by name. */
static bool parse_propagators(const char *v, uint32_t *out, char *why, size_t whylen)
{
	uint32_t bits = 0;
	bool none = false;
	while (*v) {
		size_t len = strcspn(v, ",");
		const char *item = v;
		while (len && (*item == ' ' || *item == '\t'))
			item++, len--;
		while (len && (item[len - 1] == ' ' || item[len - 1] == '\t'))
			len--;
		char name[32];
		if (len >= sizeof(name)) {
			snprintf(why, whylen, "names a propagator that is too long");
			return false;
		}
		memcpy(name, item, len);
		name[len] = 0;
		if (ieq(name, "tracecontext"))
			bits |= RS_PROPAGATE_TRACECONTEXT;
		else if (ieq(name, "sw8"))
			bits |= RS_PROPAGATE_SW8;
		else if (ieq(name, "none"))
			none = true;
		else if (!ieq(name, "baggage") && len) {
			snprintf(why, whylen, "names \"%s\", which ringside does not support "
					      "(tracecontext, sw8, baggage, none)",
				 name);
			return false;
		}
		v += strcspn(v, ",");
		if (*v == ',')
			v++;
	}
	*out = none ? 0 : bits;
	return true;
}

static void complain(rs_config_complain_fn fn, void *arg, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void complain(rs_config_complain_fn fn, void *arg, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (fn)
		fn(arg, msg);
	else
		rs_log(RS_LOG_ERROR, "%s", msg);
}

/* Shows at most 40 bytes of a rejected value, with control bytes replaced. */
static const char *shown(const char *v, char *buf, size_t size)
{
	size_t i = 0;
	for (; v[i] && i + 4 < size && i < 40; i++)
		buf[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
	if (v[i])
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = 0;
	return buf;
}

static bool apply(struct rs_config *c, const struct opt *o, const char *v, char *why,
		  size_t whylen)
{
	char *field = (char *)c + o->off;
	switch (o->kind) {
	case OPT_BOOL:
		if (parse_bool(v, (bool *)field))
			return true;
		snprintf(why, whylen, "is not a boolean (true/false/1/0)");
		return false;
	case OPT_OTEL_DISABLED: {
		bool disabled;
		if (parse_bool(v, &disabled)) {
			if (disabled)
				*(bool *)field = false;
			return true;
		}
		snprintf(why, whylen, "is not true or false");
		return false;
	}
	case OPT_UINT:
		if (parse_uint(v, o->min, o->max, (uint32_t *)field))
			return true;
		snprintf(why, whylen, "is not a whole number from %u to %u", o->min, o->max);
		return false;
	case OPT_ENUM: {
		int idx = parse_choice(v, o->choices);
		if (idx >= 0) {
			*(int *)field = idx;
			return true;
		}
		snprintf(why, whylen, "is not one of %s", o->choices);
		return false;
	}
	case OPT_PROPAGATORS:
		return parse_propagators(v, (uint32_t *)field, why, whylen);
	case OPT_PROPS: {
		unsigned n;
		char detail[100];
		if (rs_json_props(v, strlen(v), field, o->size, &n, detail, sizeof(detail)))
			return true;
		snprintf(why, whylen, "is not a flat JSON object of properties: %s", detail);
		return false;
	}
	case OPT_PATH:
		if (v[0] != '/') {
			snprintf(why, whylen, "is not an absolute path");
			return false;
		}
		/* fall through */
	case OPT_STR: {
		size_t len = strlen(v);
		if (len == 0) {
			snprintf(why, whylen, "is empty");
			return false;
		}
		if (len >= o->size) {
			snprintf(why, whylen, "is longer than %zu bytes", o->size - 1);
			return false;
		}
		memcpy(field, v, len + 1);
		return true;
	}
	}
	return false;
}

static bool is_carried(const char *kv)
{
	return strncmp(kv, "RINGSIDE_", 9) == 0 || strncmp(kv, "OTEL_", 5) == 0 ||
	       strncmp(kv, "SW_", 3) == 0;
}

static const char *default_text(const struct rs_config *d, const struct opt *o, char *buf,
				size_t size)
{
	const char *field = (const char *)d + o->off;
	switch (o->kind) {
	case OPT_BOOL:
		return *(const bool *)field ? "true" : "false";
	case OPT_OTEL_DISABLED:
		return "false";
	case OPT_UINT:
		if (*(const uint32_t *)field == RS_CFG_UNSET_UINT)
			return "the general setting";
		snprintf(buf, size, "%u", *(const uint32_t *)field);
		return buf;
	case OPT_ENUM: {
		int idx = *(const int *)field;
		if (idx == RS_CFG_UNSET_ENUM)
			return "the general setting";
		const char *p = o->choices;
		while (idx-- > 0 && strchr(p, '|'))
			p = strchr(p, '|') + 1;
		size_t len = strchr(p, '|') ? (size_t)(strchr(p, '|') - p) : strlen(p);
		snprintf(buf, size, "%.*s", (int)len, p);
		return buf;
	}
	case OPT_STR:
	case OPT_PATH:
		return *field ? field : "unset";
	case OPT_PROPAGATORS:
		return "tracecontext";
	case OPT_PROPS:
		return "none";
	}
	return "";
}

int rs_config_parse(struct rs_config *c, char *const *envp, rs_config_complain_fn fn, void *arg)
{
	set_defaults(c);
	int complaints = 0;
	/* Each setting takes the first occurrence of its variable, as getenv() does. */
	bool seen[RS_ARRAY_LEN(opts)] = {0};
	for (char *const *e = envp; e && *e; e++) {
		const char *kv = *e;
		const char *eq = strchr(kv, '=');
		if (!eq)
			continue;
		size_t klen = (size_t)(eq - kv);
		const char *v = eq + 1;
		size_t vlen = strnlen(v, RS_CFG_VALUE_MAX + 1);
		if (is_carried(kv) && vlen <= RS_CFG_VALUE_MAX &&
		    c->carry_len + klen + 1 + vlen + 1 <= sizeof(c->carry)) {
			memcpy(c->carry + c->carry_len, kv, klen + 1 + vlen + 1);
			c->carry_len += (uint32_t)(klen + 1 + vlen + 1);
			c->carry_count++;
		}
		for (size_t i = 0; i < RS_ARRAY_LEN(opts); i++) {
			const struct opt *o = &opts[i];
			if (seen[i] || strlen(o->name) != klen || memcmp(o->name, kv, klen) != 0)
				continue;
			seen[i] = true;
			char why[160], val[48], def[64];
			if (vlen > RS_CFG_VALUE_MAX) {
				snprintf(why, sizeof(why), "is longer than %d bytes", RS_CFG_VALUE_MAX);
			} else if (apply(c, o, v, why, sizeof(why))) {
				continue;
			}
			struct rs_config d;
			set_defaults(&d);
			if (o->kind == OPT_PROPS) /* passwords, keys: never on stderr */
				complain(fn, arg, "%s=(value not shown) %s; using none", o->name,
					 why);
			else
				complain(fn, arg, "%s=\"%s\" %s; using %s", o->name,
				 shown(v, val, sizeof(val)), why, default_text(&d, o, def, sizeof(def)));
			complaints++;
		}
	}
	/* SkyWalking's backend links processes by sw8: exporting to it turns that propagator on
	 * unless OTEL_PROPAGATORS chose for itself. */
	for (size_t i = 0; i < RS_ARRAY_LEN(opts); i++)
		if (opts[i].kind == OPT_PROPAGATORS && !seen[i] && c->exporter == RS_EXPORTER_SKYWALKING)
			c->propagators |= RS_PROPAGATE_SW8;
	return complaints;
}

bool rs_kafka_uses_openssl(const struct rs_config *c)
{
	const char *props = c->exporter == RS_EXPORTER_KAFKA ? c->kafka_producer_props
			    : c->exporter == RS_EXPORTER_SKYWALKING && c->sw_protocol == RS_SW_KAFKA
				? c->sw_kafka_producer_props
				: "";
	const char *cur = props, *name, *value;
	bool tls = false;
	while ((name = rs_json_props_next(&cur, &value)))
		if (strcmp(name, "security.protocol") == 0)
			tls = !ieq(value, "plaintext"); /* the last one wins, as in librdkafka */
	return tls;
}
