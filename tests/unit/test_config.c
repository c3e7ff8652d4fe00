/* Configuration parsing: defaults, valid values, and for every kind of bad value exactly one
 * complaint naming the variable, with the default kept. */
#include "../../preload/config.h"
#include "check.h"

#include <string.h>

static char msgs[16][400];
static int n_msgs;

static void collect(void *arg, const char *msg)
{
	(void)arg;
	if (n_msgs < 16)
		snprintf(msgs[n_msgs], sizeof(msgs[0]), "%s", msg);
	n_msgs++;
}

static int parse(struct rs_config *c, char **env)
{
	n_msgs = 0;
	return rs_config_parse(c, env, collect, NULL);
}

static void test_defaults(void)
{
	struct rs_config c;
	char *env[] = {"PATH=/bin", "HOME=/root", NULL};
	CHECK_EQ_U(parse(&c, env), 0);
	CHECK(c.enabled);
	CHECK(c.conn_spans);
	CHECK_EQ_U(c.exporter, RS_EXPORTER_FILE);
	CHECK_EQ_U(c.io_mode, RS_IO_AUTO);
	CHECK(strcmp(c.output_dir, "/tmp/ringside") == 0);
	CHECK_EQ_U(c.flush_timeout_ms, 1000);
	CHECK_EQ_U(c.bsp_schedule_delay_ms, 5000);
	CHECK_EQ_U(c.bsp_max_export_batch, 512);
	CHECK_EQ_U(c.bsp_max_queue, 2048);
	CHECK_EQ_U(c.carry_count, 0);
	CHECK_EQ_U(c.profile, RS_PROFILE_OFF);
	CHECK(!rs_profile_cpu(&c) && !rs_profile_wait(&c));
	CHECK_EQ_U(c.profile_hz, 99);
	CHECK_EQ_U(c.wait_threshold_us, 1000);
	CHECK_EQ_U(c.profile_interval_s, 60);
}

static void test_profile(void)
{
	struct rs_config c;
	static const struct {
		const char *v;
		bool cpu, wait;
	} modes[] = {{"off", false, false}, {"cpu", true, false}, {"wait", false, true},
		     {"cpu,wait", true, true}, {"WAIT,CPU", true, true}};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char entry[64];
		snprintf(entry, sizeof(entry), "RINGSIDE_PROFILE=%s", modes[i].v);
		char *env[] = {entry, NULL};
		CHECK_EQ_U(parse(&c, env), 0);
		CHECK(rs_profile_cpu(&c) == modes[i].cpu);
		CHECK(rs_profile_wait(&c) == modes[i].wait);
	}
	char *env[] = {"RINGSIDE_PROFILE_HZ=1000", "RINGSIDE_WAIT_THRESHOLD_US=1",
		       "RINGSIDE_PROFILE_INTERVAL_S=86400", NULL};
	CHECK_EQ_U(parse(&c, env), 0);
	CHECK_EQ_U(c.profile_hz, 1000);
	CHECK_EQ_U(c.wait_threshold_us, 1);
	CHECK_EQ_U(c.profile_interval_s, 86400);
}

static void test_valid(void)
{
	struct rs_config c;
	char *env[] = {"RINGSIDE_ENABLED=off",
		       "RINGSIDE_CONN_SPANS=FALSE",
		       "RINGSIDE_IO=Poll",
		       "RINGSIDE_OUTPUT_DIR=/var/tmp/x",
		       "RINGSIDE_FLUSH_TIMEOUT_MS=0",
		       "RINGSIDE_RING_KB=65536",
		       "OTEL_BSP_SCHEDULE_DELAY=250",
		       "OTEL_SERVICE_NAME=checkout",
		       "OTEL_RESOURCE_ATTRIBUTES=a=b,c=d",
		       "SW_AGENT_NAME=svc",
		       NULL};
	CHECK_EQ_U(parse(&c, env), 0);
	CHECK(!c.enabled);
	CHECK(!c.conn_spans);
	CHECK_EQ_U(c.io_mode, RS_IO_POLL);
	CHECK(strcmp(c.output_dir, "/var/tmp/x") == 0);
	CHECK_EQ_U(c.flush_timeout_ms, 0);
	CHECK_EQ_U(c.ring_kb, 65536);
	CHECK_EQ_U(c.bsp_schedule_delay_ms, 250);
	CHECK(strcmp(c.service_name, "checkout") == 0);
	CHECK(strcmp(c.resource_attrs, "a=b,c=d") == 0);
	/* Every RINGSIDE_, OTEL_ and SW_ entry is kept for children, in order. */
	CHECK_EQ_U(c.carry_count, 10);
	CHECK(strcmp(c.carry, "RINGSIDE_ENABLED=off") == 0);
	const char *last = c.carry;
	for (uint32_t i = 1; i < c.carry_count; i++)
		last += strlen(last) + 1;
	CHECK(strcmp(last, "SW_AGENT_NAME=svc") == 0);
}

static void test_otel_sdk_disabled(void)
{
	struct rs_config c;
	char *on[] = {"OTEL_SDK_DISABLED=true", NULL};
	CHECK_EQ_U(parse(&c, on), 0);
	CHECK(!c.enabled);
	char *off[] = {"OTEL_SDK_DISABLED=false", NULL};
	CHECK_EQ_U(parse(&c, off), 0);
	CHECK(c.enabled);
}

static void test_first_wins(void)
{
	struct rs_config c;
	char *env[] = {"RINGSIDE_FLUSH_TIMEOUT_MS=7", "RINGSIDE_FLUSH_TIMEOUT_MS=9", NULL};
	CHECK_EQ_U(parse(&c, env), 0);
	CHECK_EQ_U(c.flush_timeout_ms, 7); /* as getenv() would see it */
}

struct bad_case {
	const char *entry;
	const char *mentions; /* the complaint must contain this */
};

static void test_bad_values(void)
{
	static char longval[RS_CFG_VALUE_MAX + 100];
	memset(longval, 'x', sizeof(longval) - 1);
	memcpy(longval, "OTEL_SERVICE_NAME=", 18);
	static char longdir[RS_CFG_PATH_MAX + 50];
	memset(longdir, 'd', sizeof(longdir) - 1);
	memcpy(longdir, "RINGSIDE_OUTPUT_DIR=/", 21);
	const struct bad_case cases[] = {
		{"RINGSIDE_ENABLED=maybe", "RINGSIDE_ENABLED=\"maybe\" is not a boolean"},
		{"RINGSIDE_FLUSH_TIMEOUT_MS=abc", "not a whole number from 0 to 60000; using 1000"},
		{"RINGSIDE_FLUSH_TIMEOUT_MS=-5", "using 1000"},
		{"RINGSIDE_FLUSH_TIMEOUT_MS=60001", "using 1000"},
		{"RINGSIDE_FLUSH_TIMEOUT_MS=99999999999999999999", "using 1000"},
		{"RINGSIDE_FLUSH_TIMEOUT_MS=", "using 1000"},
		{"RINGSIDE_RING_KB=15", "from 16 to 65536"},
		{"RINGSIDE_EXPORTER=zipkin", "is not one of file|otlp|skywalking|kafka|none; using file"},
		{"RINGSIDE_IO=epoll", "is not one of auto|io_uring|poll; using auto"},
		{"RINGSIDE_OUTPUT_DIR=relative/dir", "is not an absolute path; using /tmp/ringside"},
		{"RINGSIDE_OUTPUT_DIR=", "using /tmp/ringside"},
		{"OTEL_SDK_DISABLED=yes please", "OTEL_SDK_DISABLED"},
		{"OTEL_BSP_SCHEDULE_DELAY=0", "using 5000"},
		{longval, "is longer than"},
		{longdir, "is longer than 511 bytes"},
		{"RINGSIDE_LOG_LEVEL=\x01\x02", "RINGSIDE_LOG_LEVEL=\"??\""},
		{"RINGSIDE_PROFILE=all", "is not one of off|cpu|wait|cpu,wait|wait,cpu; using off"},
		{"RINGSIDE_PROFILE_HZ=0", "from 1 to 1000; using 99"},
		{"RINGSIDE_PROFILE_HZ=1001", "using 99"},
		{"RINGSIDE_WAIT_THRESHOLD_US=0", "from 1 to 60000000; using 1000"},
		{"RINGSIDE_PROFILE_INTERVAL_S=0", "from 1 to 86400; using 60"},
		{"RINGSIDE_PROFILE_INTERVAL_S=86401", "using 60"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rs_config c, d;
		char *env[] = {(char *)cases[i].entry, NULL};
		char *none[] = {NULL};
		parse(&d, none);
		int n = parse(&c, env);
		if (n != 1 || !strstr(msgs[0], cases[i].mentions)) {
			fprintf(stderr, "case %zu (%.40s): %d complaints, first: %s\n", i,
				cases[i].entry, n, n ? msgs[0] : "");
			check_failures++;
		}
		/* The setting keeps its default. */
		CHECK(c.enabled == d.enabled);
		CHECK_EQ_U(c.flush_timeout_ms, d.flush_timeout_ms);
		CHECK_EQ_U(c.ring_kb, d.ring_kb);
		CHECK_EQ_U(c.exporter, d.exporter);
		CHECK_EQ_U(c.io_mode, d.io_mode);
		CHECK(strcmp(c.output_dir, d.output_dir) == 0);
		CHECK(strcmp(c.service_name, d.service_name) == 0);
		CHECK_EQ_U(c.log_level, d.log_level);
		CHECK_EQ_U(c.profile, d.profile);
		CHECK_EQ_U(c.profile_hz, d.profile_hz);
		CHECK_EQ_U(c.wait_threshold_us, d.wait_threshold_us);
		CHECK_EQ_U(c.profile_interval_s, d.profile_interval_s);
	}
	/* A complaint shows at most 40 bytes of the value. */
	struct rs_config c;
	char *env[] = {longval, NULL};
	parse(&c, env);
	CHECK(strlen(msgs[0]) < 200);
}

/* Every text setting, one byte too long for its buffer (and far past RS_CFG_VALUE_MAX): one
 * complaint naming the limit, and the default kept. */
static void test_long_strings(void)
{
	struct rs_config d;
	char *none[] = {NULL};
	parse(&d, none);
#define S(name, field, absolute) {name, offsetof(struct rs_config, field), sizeof(d.field), absolute}
	static const struct {
		const char *name;
		size_t off, size;
		bool absolute;
	} vars[] = {
		S("OTEL_SERVICE_NAME", service_name, false),
		S("RINGSIDE_OUTPUT_DIR", output_dir, true),
		S("OTEL_EXPORTER_OTLP_HEADERS", otlp_headers, false),
		S("OTEL_EXPORTER_OTLP_TRACES_HEADERS", otlp_traces_headers, false),
		S("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_endpoint, false),
		S("OTEL_RESOURCE_ATTRIBUTES", resource_attrs, false),
		S("RINGSIDE_PROFILE_ENDPOINT", profile_endpoint, false),
		S("RINGSIDE_PROFILE_HEADERS", profile_headers, false),
		S("SW_AGENT_NAME", sw_service, false),
		S("SW_AGENT_AUTHENTICATION", sw_auth, false),
		S("SW_AGENT_COLLECTOR_BACKEND_SERVICES", sw_backend, false),
		S("RINGSIDE_KAFKA_BROKERS", kafka_brokers, false),
		S("RINGSIDE_KAFKA_TRACES_TOPIC", kafka_traces_topic, false),
	};
#undef S
	static char entry[64 + RS_CFG_VALUE_MAX * 2];
	for (size_t i = 0; i < RS_ARRAY_LEN(vars); i++) {
		size_t lens[] = {vars[i].size, RS_CFG_VALUE_MAX * 2};
		for (size_t k = 0; k < 2; k++) {
			int o = snprintf(entry, sizeof(entry), "%s=%s", vars[i].name,
					 vars[i].absolute ? "/" : "");
			memset(entry + o, 'v', lens[k] - (vars[i].absolute ? 1 : 0));
			entry[o + (int)lens[k] - (vars[i].absolute ? 1 : 0)] = 0;
			struct rs_config c;
			char *env[] = {entry, NULL};
			int n = parse(&c, env);
			if (n != 1 || !strstr(msgs[0], "is longer than") || strlen(msgs[0]) > 300) {
				fprintf(stderr, "%s, %zu bytes: %d complaints: %s\n", vars[i].name,
					lens[k], n, n ? msgs[0] : "");
				check_failures++;
			}
			CHECK(memcmp((char *)&c + vars[i].off, (char *)&d + vars[i].off,
				     vars[i].size) == 0);
		}
	}
}

/* Signal-specific OTLP variables win over the general ones, each on its own. */
static void test_otlp_signal(void)
{
	struct rs_config c;
	struct rs_otlp_signal t, m;
	char *none[] = {NULL};
	CHECK_EQ_U(parse(&c, none), 0);
	rs_otlp_signal(&c, RS_SIGNAL_TRACES, &t);
	CHECK_EQ_U(t.protocol, RS_OTLP_HTTP_PROTOBUF);
	CHECK(strcmp(t.endpoint, "") == 0 && !t.endpoint_is_signal);
	CHECK(!t.gzip);
	CHECK_EQ_U(t.timeout_ms, 10000);

	char *env[] = {"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
		       "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=http/json",
		       "OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4317",
		       "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://t:4318/custom",
		       "OTEL_EXPORTER_OTLP_HEADERS=a=1",
		       "OTEL_EXPORTER_OTLP_METRICS_HEADERS=b=2",
		       "OTEL_EXPORTER_OTLP_COMPRESSION=gzip",
		       "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION=none",
		       "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT=2500",
		       NULL};
	CHECK_EQ_U(parse(&c, env), 0);
	rs_otlp_signal(&c, RS_SIGNAL_TRACES, &t);
	rs_otlp_signal(&c, RS_SIGNAL_METRICS, &m);
	CHECK_EQ_U(t.protocol, RS_OTLP_GRPC);
	CHECK_EQ_U(m.protocol, RS_OTLP_HTTP_JSON);
	CHECK(strcmp(t.endpoint, "http://t:4318/custom") == 0 && t.endpoint_is_signal);
	CHECK(strcmp(m.endpoint, "http://collector:4317") == 0 && !m.endpoint_is_signal);
	CHECK(strcmp(t.headers, "a=1") == 0 && strcmp(m.headers, "b=2") == 0);
	CHECK(!t.gzip && m.gzip);
	CHECK_EQ_U(t.timeout_ms, 2500);
	CHECK_EQ_U(m.timeout_ms, 10000);

	/* A bad signal-specific value names its fallback, the general setting. */
	char *bad[] = {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=thrift", NULL};
	CHECK_EQ_U(parse(&c, bad), 1);
	CHECK(strstr(msgs[0], "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") != NULL);
	CHECK(strstr(msgs[0], "the general setting") != NULL);
	rs_otlp_signal(&c, RS_SIGNAL_TRACES, &t);
	CHECK_EQ_U(t.protocol, RS_OTLP_HTTP_PROTOBUF);
}

/* Exporting to SkyWalking adds sw8 propagation, unless OTEL_PROPAGATORS was given. */
static void test_skywalking_propagation(void)
{
	struct rs_config c;
	char *sw[] = {"RINGSIDE_EXPORTER=skywalking", NULL};
	CHECK_EQ_U(parse(&c, sw), 0);
	CHECK_EQ_U(c.propagators, RS_PROPAGATE_TRACECONTEXT | RS_PROPAGATE_SW8);
	CHECK_EQ_U(c.sw_protocol, RS_SW_GRPC);
	CHECK_EQ_U(c.sw_heartbeat_s, 30);
	CHECK_EQ_U(c.sw_profile_poll_s, 20);
	CHECK(c.sw_profile_active);
	char *poll[] = {"SW_AGENT_COLLECTOR_GET_PROFILE_TASK_INTERVAL=2", "SW_AGENT_PROFILE_ACTIVE=false",
			NULL};
	CHECK_EQ_U(parse(&c, poll), 0);
	CHECK_EQ_U(c.sw_profile_poll_s, 2);
	CHECK(!c.sw_profile_active);
	char *bad_poll[] = {"SW_AGENT_COLLECTOR_GET_PROFILE_TASK_INTERVAL=0", NULL};
	CHECK_EQ_U(parse(&c, bad_poll), 1);
	CHECK_EQ_U(c.sw_profile_poll_s, 20);
	char *chosen[] = {"RINGSIDE_EXPORTER=skywalking", "OTEL_PROPAGATORS=tracecontext", NULL};
	CHECK_EQ_U(parse(&c, chosen), 0);
	CHECK_EQ_U(c.propagators, RS_PROPAGATE_TRACECONTEXT);
	char *otlp[] = {"RINGSIDE_EXPORTER=otlp", NULL};
	CHECK_EQ_U(parse(&c, otlp), 0);
	CHECK_EQ_U(c.propagators, RS_PROPAGATE_TRACECONTEXT);
	CHECK_EQ_U(c.exporter, RS_EXPORTER_OTLP);
}

/* Kafka producer properties: decoded into their buffers; a bad object is one complaint that never
 * shows the value (it may hold a password), and the setting is left empty. */
static void test_kafka_props(void)
{
	struct rs_config c;
	char *env[] = {"RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON={\"security.protocol\":\"ssl\"}",
		       "SW_PLUGIN_KAFKA_PRODUCER_CONFIG_JSON={\"linger.ms\":7,\"acks\":\"all\"}",
		       NULL};
	CHECK_EQ_U(parse(&c, env), 0);
	CHECK(memcmp(c.kafka_producer_props, "security.protocol\0ssl\0", 23) == 0);
	CHECK(memcmp(c.sw_kafka_producer_props, "linger.ms\0" "7\0acks\0all\0", 20) == 0);
	char *bad[] = {"SW_PLUGIN_KAFKA_PRODUCER_CONFIG_JSON={\"sasl.password\":\"hunter2\",}",
		       NULL};
	CHECK_EQ_U(parse(&c, bad), 1);
	CHECK(!strstr(msgs[0], "hunter2"));
	CHECK(strstr(msgs[0], "SW_PLUGIN_KAFKA_PRODUCER_CONFIG_JSON=(value not shown) is not a "
			      "flat JSON object") != NULL);
	CHECK(c.sw_kafka_producer_props[0] == 0);
	static char longval[RS_CFG_VALUE_MAX + 100];
	memset(longval, ' ', sizeof(longval) - 1);
	memcpy(longval, "RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON={}", 38);
	char *toolong[] = {longval, NULL};
	CHECK_EQ_U(parse(&c, toolong), 1);
	CHECK(strstr(msgs[0], "is longer than") != NULL);
	CHECK(c.kafka_producer_props[0] == 0);
}

int main(void)
{
	test_kafka_props();
	test_otlp_signal();
	test_skywalking_propagation();
	test_defaults();
	test_valid();
	test_otel_sdk_disabled();
	test_profile();
	test_first_wins();
	test_bad_values();
	test_long_strings();
	return check_result();
}
