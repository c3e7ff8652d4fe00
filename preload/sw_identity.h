/* The names a process goes by in SkyWalking: its service (SW_AGENT_NAME, else OTEL_SERVICE_NAME,
 * else the executable's name) and its instance (SW_AGENT_INSTANCE_NAME, else
 * <service.instance.id>@<host>). One definition for the sw8 headers the hooks inject and the
 * segments, management and profiling messages the reporter sends, so they always agree. */
#ifndef RS_SW_IDENTITY_H
#define RS_SW_IDENTITY_H

#include <stddef.h>

/* Computes the service name and reads the host name (after the configuration is loaded). */
void rs_sw_identity_init(void);

/* NUL-terminated, valid for the life of the process; "" before rs_sw_identity_init. */
const char *rs_sw_service(void);

/* Writes the instance name into buf (cut to n - 1 bytes); returns its length. Formatted each
 * time because a fork child's instance id differs from its parent's. Thread-safe. */
size_t rs_sw_instance(char *buf, size_t n);

#endif
