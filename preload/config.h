/* Configuration from the environment, read once in the constructor and read-only afterwards.
 * A bad value costs one stderr line naming the variable, the value and the default used. */
#ifndef RS_CONFIG_H
#define RS_CONFIG_H

#include "log.h"
#include "rs.h"

#define RS_CFG_PATH_MAX 512
#define RS_CFG_NAME_MAX 256
#define RS_CFG_ATTRS_MAX 4096
#define RS_CFG_CARRY_MAX 8192
#define RS_CFG_VALUE_MAX 4096 /* no environment value the shim reads may be longer */

/* RINGSIDE_EXPORTER, in the order of its choices. */
enum rs_exporter_kind { RS_EXPORTER_FILE, RS_EXPORTER_OTLP, RS_EXPORTER_SKYWALKING, RS_EXPORTER_KAFKA,
			RS_EXPORTER_NONE };
/* OTEL_EXPORTER_OTLP_PROTOCOL; SW_AGENT_PROTOCOL. */
enum rs_otlp_protocol { RS_OTLP_HTTP_PROTOBUF, RS_OTLP_HTTP_JSON, RS_OTLP_GRPC };
enum rs_sw_protocol { RS_SW_GRPC, RS_SW_HTTP, RS_SW_KAFKA };
#define RS_CFG_UNSET_ENUM (-1)
#define RS_CFG_UNSET_UINT UINT32_MAX

/* OTEL_PROPAGATORS, as bits. */
enum rs_propagator { RS_PROPAGATE_TRACECONTEXT = 1 << 0, RS_PROPAGATE_SW8 = 1 << 1 };
enum rs_io_mode { RS_IO_AUTO, RS_IO_URING, RS_IO_POLL };
/* RINGSIDE_PROFILE, in the order of its choices; rs_profile_cpu/wait read it. */
enum rs_profile_mode { RS_PROFILE_OFF, RS_PROFILE_CPU, RS_PROFILE_WAIT, RS_PROFILE_CPU_WAIT,
		       RS_PROFILE_WAIT_CPU };

struct rs_config {
	bool enabled;
	bool conn_spans;
	bool http;	      /* follow HTTP/1.x on TCP connections */
	uint32_t propagators; /* enum rs_propagator bits */
	uint32_t http_conns;  /* HTTP connections followed at once */
	enum rs_exporter_kind exporter;
	enum rs_io_mode io_mode;
	enum rs_log_level log_level;
	char output_dir[RS_CFG_PATH_MAX];
	uint32_t flush_timeout_ms;
	uint32_t ring_kb;
	uint32_t queue_mb;
	uint32_t bsp_schedule_delay_ms;
	uint32_t bsp_max_export_batch;
	uint32_t bsp_max_queue;
	enum rs_profile_mode profile;
	uint32_t profile_hz;
	uint32_t wait_threshold_us;
	uint32_t profile_interval_s;
	char profile_endpoint[RS_CFG_PATH_MAX]; /* RINGSIDE_PROFILE_ENDPOINT: Pyroscope push */
	/* For an https:// push: the CA to trust, the client's certificate and key (PEM paths) */
	char profile_certificate[RS_CFG_PATH_MAX], profile_client_certificate[RS_CFG_PATH_MAX],
	    profile_client_key[RS_CFG_PATH_MAX];
	char profile_headers[RS_CFG_ATTRS_MAX]; /* RINGSIDE_PROFILE_HEADERS */
	char service_name[RS_CFG_NAME_MAX];
	char resource_attrs[RS_CFG_ATTRS_MAX]; /* OTEL_RESOURCE_ATTRIBUTES, unparsed */
	char sw_service[RS_CFG_NAME_MAX];      /* SW_AGENT_NAME */
	char sw_instance[RS_CFG_NAME_MAX];     /* SW_AGENT_INSTANCE_NAME */
	/* OTLP exporter. The TRACES_/METRICS_ variants are RS_CFG_UNSET_* (or "") when not given;
	 * rs_otlp_signal resolves them against the general ones. */
	int otlp_protocol, otlp_traces_protocol, otlp_metrics_protocol; /* enum rs_otlp_protocol */
	char otlp_endpoint[RS_CFG_PATH_MAX];
	char otlp_traces_endpoint[RS_CFG_PATH_MAX];
	char otlp_metrics_endpoint[RS_CFG_PATH_MAX];
	char otlp_headers[RS_CFG_ATTRS_MAX];
	char otlp_traces_headers[RS_CFG_ATTRS_MAX];
	char otlp_metrics_headers[RS_CFG_ATTRS_MAX];
	int otlp_compression, otlp_traces_compression, otlp_metrics_compression; /* 0 none, 1 gzip */
	uint32_t otlp_timeout_ms, otlp_traces_timeout_ms, otlp_metrics_timeout_ms;
	/* TLS files (PEM paths): the CA to trust, the client's certificate and key (mutual TLS) */
	char otlp_certificate[RS_CFG_PATH_MAX], otlp_traces_certificate[RS_CFG_PATH_MAX],
	    otlp_metrics_certificate[RS_CFG_PATH_MAX];
	char otlp_client_certificate[RS_CFG_PATH_MAX], otlp_traces_client_certificate[RS_CFG_PATH_MAX],
	    otlp_metrics_client_certificate[RS_CFG_PATH_MAX];
	char otlp_client_key[RS_CFG_PATH_MAX], otlp_traces_client_key[RS_CFG_PATH_MAX],
	    otlp_metrics_client_key[RS_CFG_PATH_MAX];
	uint32_t metric_interval_ms; /* OTEL_METRIC_EXPORT_INTERVAL: the self-telemetry metrics */
	bool self_metrics;	     /* RINGSIDE_SELF_METRICS */
	/* SkyWalking exporter */
	int sw_protocol; /* enum rs_sw_protocol */
	char sw_backend[RS_CFG_PATH_MAX]; /* SW_AGENT_COLLECTOR_BACKEND_SERVICES; "" = by protocol */
	char sw_auth[RS_CFG_NAME_MAX];	  /* SW_AGENT_AUTHENTICATION */
	/* TLS to the OAP (gRPC, HTTP), in the Java agent's words: forced, or implied by a CA file;
	 * the client's chain and key for mutual TLS (PEM paths, "" when unset) */
	bool sw_force_tls; /* SW_AGENT_FORCE_TLS */
	char sw_ssl_ca[RS_CFG_PATH_MAX], sw_ssl_cert_chain[RS_CFG_PATH_MAX],
	    sw_ssl_key[RS_CFG_PATH_MAX];
	uint32_t sw_heartbeat_s;	  /* SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD */
	bool sw_profile_active;		  /* SW_AGENT_PROFILE_ACTIVE: serve profile tasks */
	uint32_t sw_profile_poll_s;	  /* SW_AGENT_COLLECTOR_GET_PROFILE_TASK_INTERVAL */
	char sw_kafka_servers[RS_CFG_PATH_MAX]; /* SW_KAFKA_BOOTSTRAP_SERVERS */
	char sw_kafka_namespace[RS_CFG_NAME_MAX]; /* SW_KAFKA_NAMESPACE: topics become <ns>-<topic> */
	/* OTLP over Kafka */
	char kafka_brokers[RS_CFG_PATH_MAX];	  /* RINGSIDE_KAFKA_BROKERS */
	char kafka_traces_topic[RS_CFG_NAME_MAX];  /* RINGSIDE_KAFKA_TRACES_TOPIC */
	char kafka_metrics_topic[RS_CFG_NAME_MAX]; /* RINGSIDE_KAFKA_METRICS_TOPIC */
	/* Producer properties passed to librdkafka, decoded (json_props.h: "name\0value\0...\0"):
	 * RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON for the OTLP exporter, and for SkyWalking's
	 * SW_PLUGIN_KAFKA_PRODUCER_CONFIG_JSON (the Java agent's plugin.kafka.producer_config_json). */
	char kafka_producer_props[RS_CFG_VALUE_MAX + 2];
	char sw_kafka_producer_props[RS_CFG_VALUE_MAX + 2];
	/* Every RINGSIDE_*, OTEL_* and SW_* entry of the starting environment, "K=V\0K=V\0...",
	 * so that exec and posix_spawn can hand the configuration to children. */
	char carry[RS_CFG_CARRY_MAX];
	uint32_t carry_len;
	uint32_t carry_count;
};

/* Receives each complaint about a bad value (without trailing newline). */
typedef void (*rs_config_complain_fn)(void *arg, const char *msg);

/* Fills *c with defaults, then applies envp (a NULL-terminated "K=V" array). Each bad value is
 * reported once through complain (NULL: rs_log) and leaves that setting at its default.
 * Returns the number of complaints. Does not allocate. */
int rs_config_parse(struct rs_config *c, char *const *envp, rs_config_complain_fn complain,
		    void *arg);

static inline bool rs_profile_cpu(const struct rs_config *c)
{
	return c->profile == RS_PROFILE_CPU || c->profile >= RS_PROFILE_CPU_WAIT;
}

static inline bool rs_profile_wait(const struct rs_config *c)
{
	return c->profile >= RS_PROFILE_WAIT;
}

/* One OTLP signal's settings, the signal-specific variables over the general ones. */
struct rs_otlp_signal {
	int protocol;
	const char *endpoint; /* as given; "" when neither variable is set */
	bool endpoint_is_signal; /* from OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT: used as it is */
	const char *headers;
	bool gzip;
	uint32_t timeout_ms;
	const char *certificate, *client_certificate, *client_key; /* "" when unset */
};
enum rs_otlp_signal_kind { RS_SIGNAL_TRACES, RS_SIGNAL_METRICS };
void rs_otlp_signal(const struct rs_config *c, enum rs_otlp_signal_kind k, struct rs_otlp_signal *s);

/* Whether the Kafka producer the exporter in use makes has a security.protocol other than
 * plaintext in its properties, so needs OpenSSL (TLS, SASL's SCRAM) up to the last flush. */
bool rs_kafka_uses_openssl(const struct rs_config *c);

/* The process-wide configuration (valid once the constructor has run). */
extern struct rs_config rs_cfg;

#endif
