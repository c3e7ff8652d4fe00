/* SkyWalking service and instance names, computed once (see sw_identity.h). */
#include "sw_identity.h"

#include "config.h"
#include "process.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static char service[RS_CFG_NAME_MAX];
static char host[65];

void rs_sw_identity_init(void)
{
	if (rs_cfg.sw_service[0] || rs_cfg.service_name[0]) {
		snprintf(service, sizeof(service), "%s",
			 rs_cfg.sw_service[0] ? rs_cfg.sw_service : rs_cfg.service_name);
	} else {
		char exe[256];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = 0;
		const char *b = strrchr(exe, '/');
		snprintf(service, sizeof(service), "%s", b ? b + 1 : "unknown");
	}
	struct utsname u;
	snprintf(host, sizeof(host), "%s", uname(&u) == 0 ? u.nodename : "localhost");
}

const char *rs_sw_service(void)
{
	return service;
}

size_t rs_sw_instance(char *buf, size_t n)
{
	int k = rs_cfg.sw_instance[0] ? snprintf(buf, n, "%s", rs_cfg.sw_instance)
				      : snprintf(buf, n, "%s@%s", rs_process_instance(), host);
	return k < 0 ? 0 : (size_t)k >= n ? n - 1 : (size_t)k;
}
