/* OPENSSL_cleanup, interposed: a program that uses OpenSSL has it registered with atexit, and it
 * runs before the shim's destructor sends the last spans. When an exporter talks TLS (OTLP,
 * SkyWalking, the profile push, a Kafka exporter over TLS or SASL), that last flush needs OpenSSL
 * (io/tls.c and librdkafka share the program's libssl; librdkafka registers the cleanup itself
 * when it loads libssl into a program that had none), so the cleanup is skipped: the process is
 * ending, and the memory goes with it. Otherwise the real one runs as it would. */
#include "../preload/config.h"
#include "../preload/rs.h"

#include <dlfcn.h>
#include <string.h>

static bool https(const char *endpoint)
{
	return strncmp(endpoint, "https://", 8) == 0;
}

/* From the configuration, not only from what the reporter made so far: a short-lived program can
 * reach its atexit handlers while the reporter is still setting its TLS context up. */
static bool tls_wanted(void)
{
	if (https(rs_cfg.otlp_endpoint) || https(rs_cfg.otlp_traces_endpoint) ||
	    https(rs_cfg.otlp_metrics_endpoint) || https(rs_cfg.profile_endpoint))
		return true;
	if (rs_kafka_uses_openssl(&rs_cfg)) /* librdkafka's connections */
		return true;
	return rs_cfg.exporter == RS_EXPORTER_SKYWALKING && rs_cfg.sw_protocol != RS_SW_KAFKA &&
	       (rs_cfg.sw_force_tls || rs_cfg.sw_ssl_ca[0] || https(rs_cfg.sw_backend));
}

RS_EXPORT void OPENSSL_cleanup(void)
{
	if (tls_wanted())
		return;
	/* A libcrypto the program loaded with RTLD_LOCAL (Python's ssl module does) is not in the
	 * scope RTLD_NEXT searches, though its own reference still binds here: ask it directly. */
	void (*real)(void) = (void (*)(void))dlsym(RTLD_NEXT, "OPENSSL_cleanup");
	if (!real) {
		void *h = dlopen("libcrypto.so.3", RTLD_LAZY | RTLD_NOLOAD);
		if (h) {
			real = (void (*)(void))dlsym(h, "OPENSSL_cleanup");
			dlclose(h);
		}
	}
	if (real && real != OPENSSL_cleanup)
		real();
}
