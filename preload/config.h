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

enum rs_exporter_kind { RS_EXPORTER_FILE };

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
	char service_name[RS_CFG_NAME_MAX];
	char resource_attrs[RS_CFG_ATTRS_MAX]; /* OTEL_RESOURCE_ATTRIBUTES, unparsed */
	char sw_service[RS_CFG_NAME_MAX];      /* SW_AGENT_NAME */
	char sw_instance[RS_CFG_NAME_MAX];     /* SW_AGENT_INSTANCE_NAME */
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

/* The process-wide configuration (valid once the constructor has run). */
extern struct rs_config rs_cfg;

#endif
