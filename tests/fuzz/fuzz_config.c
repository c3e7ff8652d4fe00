/* libFuzzer target for configuration (preload/config.c): arbitrary environment arrays (entries
 * split at NUL or newline). No crash, every value within its bounds, every string terminated
 * inside its buffer, and at most one complaint per variable name the shim reads. */
#include "../../preload/config.h"
#include "fuzz_require.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COMPLAINTS 256
static char said[MAX_COMPLAINTS][64];
static int nsaid;

static void complain(void *arg, const char *msg)
{
	(void)arg;
	REQUIRE(strlen(msg) < 400 && !strchr(msg, '\n'));
	/* The variable's name is what comes before '='. */
	size_t k = strcspn(msg, "=");
	REQUIRE(msg[k] == '=' && k < sizeof(said[0]));
	for (int i = 0; i < nsaid; i++)
		REQUIRE(strlen(said[i]) != k || memcmp(said[i], msg, k) != 0);
	REQUIRE(nsaid < MAX_COMPLAINTS);
	memcpy(said[nsaid], msg, k);
	said[nsaid++][k] = 0;
}

static void terminated(const char *s, size_t size)
{
	REQUIRE(memchr(s, 0, size) != NULL);
}

#define STR(f) terminated(c->f, sizeof(c->f))
#define RANGE(f, lo, hi) REQUIRE(c->f >= (lo) && c->f <= (hi))

static void check(const struct rs_config *c)
{
	STR(output_dir);
	REQUIRE(c->output_dir[0] == '/');
	STR(profile_endpoint);
	STR(profile_headers);
	STR(service_name);
	STR(resource_attrs);
	STR(sw_service);
	STR(sw_instance);
	STR(otlp_endpoint);
	STR(otlp_traces_endpoint);
	STR(otlp_metrics_endpoint);
	STR(otlp_headers);
	STR(otlp_traces_headers);
	STR(otlp_metrics_headers);
	STR(sw_backend);
	STR(sw_auth);
	STR(sw_kafka_servers);
	STR(sw_kafka_namespace);
	STR(kafka_brokers);
	STR(kafka_traces_topic);
	STR(kafka_metrics_topic);
	STR(kafka_producer_props); /* decoded pairs; walked to their end by: */
	STR(sw_kafka_producer_props);
	(void)rs_kafka_uses_openssl(c);
	RANGE(http_conns, 16u, 1048576u);
	RANGE(flush_timeout_ms, 0u, 60000u);
	RANGE(ring_kb, 16u, 65536u);
	RANGE(queue_mb, 1u, 4096u);
	RANGE(bsp_schedule_delay_ms, 1u, 3600000u);
	RANGE(bsp_max_export_batch, 1u, 1000000u);
	RANGE(bsp_max_queue, 1u, 10000000u);
	RANGE(profile_hz, 1u, 1000u);
	RANGE(wait_threshold_us, 1u, 60000000u);
	RANGE(profile_interval_s, 1u, 86400u);
	RANGE(otlp_timeout_ms, 1u, 600000u);
	REQUIRE(c->otlp_traces_timeout_ms == RS_CFG_UNSET_UINT ||
		(c->otlp_traces_timeout_ms >= 1 && c->otlp_traces_timeout_ms <= 600000));
	REQUIRE(c->otlp_metrics_timeout_ms == RS_CFG_UNSET_UINT ||
		(c->otlp_metrics_timeout_ms >= 1 && c->otlp_metrics_timeout_ms <= 600000));
	RANGE(metric_interval_ms, 100u, 86400000u);
	RANGE(sw_heartbeat_s, 1u, 86400u);
	RANGE(sw_profile_poll_s, 1u, 3600u);
	REQUIRE((int)c->exporter >= 0 && (int)c->exporter <= RS_EXPORTER_NONE);
	REQUIRE((int)c->io_mode >= 0 && (int)c->io_mode <= RS_IO_POLL);
	REQUIRE((int)c->log_level >= 0 && (int)c->log_level <= RS_LOG_DEBUG);
	REQUIRE((int)c->profile >= 0 && (int)c->profile <= RS_PROFILE_WAIT_CPU);
	RANGE(otlp_protocol, 0, RS_OTLP_GRPC);
	RANGE(otlp_traces_protocol, RS_CFG_UNSET_ENUM, RS_OTLP_GRPC);
	RANGE(otlp_metrics_protocol, RS_CFG_UNSET_ENUM, RS_OTLP_GRPC);
	RANGE(otlp_compression, 0, 1);
	RANGE(otlp_traces_compression, RS_CFG_UNSET_ENUM, 1);
	RANGE(otlp_metrics_compression, RS_CFG_UNSET_ENUM, 1);
	RANGE(sw_protocol, 0, RS_SW_KAFKA);
	REQUIRE((c->propagators & ~(uint32_t)(RS_PROPAGATE_TRACECONTEXT | RS_PROPAGATE_SW8)) == 0);
	REQUIRE(c->carry_len <= sizeof(c->carry));
	/* The carried environment is whole "K=V" entries, each bounded. */
	uint32_t count = 0;
	for (size_t off = 0; off < c->carry_len; count++) {
		const char *e = memchr(c->carry + off, 0, c->carry_len - off);
		REQUIRE(e != NULL);
		REQUIRE(memchr(c->carry + off, '=', (size_t)(e - c->carry - off)) != NULL);
		off = (size_t)(e - c->carry) + 1;
	}
	REQUIRE(count == c->carry_count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Copies of the input, NUL-terminated entries; values may be longer than any limit. */
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	char *env[512];
	size_t n = 0;
	char *p = buf;
	while (n + 1 < RS_ARRAY_LEN(env) && p < buf + size) {
		env[n++] = p;
		size_t l = strcspn(p, "\n");
		p[l] = 0;
		p += l + 1;
	}
	env[n] = NULL;
	/* A prefix byte of 0xff repeats the last entry's value past RS_CFG_VALUE_MAX. */
	static char big[RS_CFG_VALUE_MAX * 2 + 64];
	if (size && data[0] == 0xff && n > 1 && n + 1 < RS_ARRAY_LEN(env)) {
		size_t k = strcspn(env[n - 1], "=");
		size_t l = strlen(env[n - 1]);
		if (k < l && k < 64) {
			memcpy(big, env[n - 1], k + 1);
			size_t o = k + 1;
			while (o + (l - k - 1) + 1 < sizeof(big) && l > k + 1) {
				memcpy(big + o, env[n - 1] + k + 1, l - k - 1);
				o += l - k - 1;
			}
			big[o] = 0;
			env[n++] = big;
			env[n] = NULL;
		}
	}
	static struct rs_config c;
	nsaid = 0;
	int r = rs_config_parse(&c, env, complain, NULL);
	REQUIRE(r == nsaid);
	check(&c);
	free(buf);
	return 0;
}
