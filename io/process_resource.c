/* The resource describing this process, built once on the reporter thread: telemetry.sdk.*,
 * process.*, host.*, os.type and service.*, then OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME
 * on top, in the precedence the OpenTelemetry SDK specification gives them. */
#include "process_resource.h"
#include "../preload/config.h"
#include "../preload/log.h"
#include "../preload/process.h"
#include "../preload/thread.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static void set_cstr(struct rs_resource *r, const char *key, const char *v)
{
	rs_resource_set_str(r, key, v, strlen(v));
}

/* Whether an argument names a credential (curl -H "Authorization: ...", --password=...). */
static const char *secret_word(const char *arg)
{
	static const char *const words[] = {"authorization", "cookie", "password", "passwd",
					    "secret", "token", "api-key", "apikey", "credential"};
	for (size_t i = 0; i < RS_ARRAY_LEN(words); i++) {
		const char *hit = strcasestr(arg, words[i]);
		if (hit)
			return hit + strlen(words[i]);
	}
	return NULL;
}

/* An argument that takes the next one as a credential. Short options only for curl, whose -u,
 * -U and -b they are (python -u and gunicorn -b mean something else). */
static bool credential_flag(const char *arg, bool curl)
{
	static const char *const any[] = {"--user", "--password", "--pass", "--cookie",
					  "--oauth2-bearer", "--proxy-user"};
	for (size_t i = 0; i < RS_ARRAY_LEN(any); i++)
		if (strcmp(arg, any[i]) == 0)
			return true;
	return curl && (strcmp(arg, "-u") == 0 || strcmp(arg, "-U") == 0 || strcmp(arg, "-b") == 0);
}

/* Copies an argument, with what follows a credential's name (or a credential flag's value, also
 * joined to it: curl -uUSER:PASS) replaced by REDACTED, and a URL's userinfo too
 * (https://user:pass@host/): command lines carry secrets as often as headers do. */
static size_t redacted_arg(const char *arg, bool after_flag, bool curl, char *out, size_t cap)
{
	const char *word = after_flag ? arg : secret_word(arg);
	if (!word && curl && arg[0] == '-' && strchr("uUb", arg[1]) && arg[1] && arg[2])
		word = arg + 2; /* curl -uUSER:PASS, -bNAME=VALUE */
	if (word) {
		size_t keep = after_flag ? 0 : (size_t)(word - arg) + strspn(word, ":= \t\"'");
		int n = snprintf(out, cap, "%.*sREDACTED", (int)keep, arg);
		return n < 0 ? 0 : RS_MIN((size_t)n, cap - 1);
	}
	const char *scheme = strstr(arg, "://");
	if (scheme) {
		const char *host = scheme + 3;
		size_t alen = strcspn(host, "/?#");
		const char *at = memrchr(host, '@', alen);
		if (at) {
			int n = snprintf(out, cap, "%.*sREDACTED%s", (int)(host - arg), arg, at);
			return n < 0 ? 0 : RS_MIN((size_t)n, cap - 1);
		}
	}
	return RS_MIN((size_t)snprintf(out, cap, "%s", arg), cap - 1);
}

/* process.command_args from /proc/self/cmdline, at most 64 arguments and 4 KiB, with credentials
 * redacted. */
static void command_args(struct rs_resource *r)
{
	char buf[4096], out[4096 + 64 * 8];
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	if (buf[n - 1] != 0)
		buf[n++] = 0; /* cut short: end the last argument */
	const char *base = strrchr(buf, '/');
	bool curl = strcmp(base ? base + 1 : buf, "curl") == 0;
	size_t count = 0, used = 0, o = 0;
	bool after_flag = false;
	while (used < (size_t)n && count < 64) {
		const char *arg = buf + used;
		o += redacted_arg(arg, after_flag, curl, out + o, sizeof(out) - o - 1) + 1;
		out[o - 1] = 0;
		after_flag = credential_flag(arg, curl);
		used += strlen(arg) + 1;
		count++;
	}
	rs_resource_set_strs(r, "process.command_args", out, o, count);
}

void rs_process_resource(struct rs_resource *r)
{
	memset(r, 0, sizeof(*r));
	set_cstr(r, "telemetry.sdk.name", "ringside");
	set_cstr(r, "telemetry.sdk.language", "c");
	set_cstr(r, "telemetry.sdk.version", RS_VERSION);

	char exe_path[1024];
	ssize_t n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	exe_path[n > 0 ? n : 0] = 0;
	const char *exe_name = strrchr(exe_path, '/') ? strrchr(exe_path, '/') + 1 : exe_path;
	char service[sizeof(exe_path) + 20];
	snprintf(service, sizeof(service), "unknown_service:%s", exe_name);
	set_cstr(r, "service.name", service);

	set_cstr(r, "service.instance.id", rs_process_instance());

	rs_resource_set_int(r, "process.pid", rs_process_pid());
	rs_resource_set_int(r, "process.parent_pid", getppid());
	if (*exe_path) {
		set_cstr(r, "process.executable.name", exe_name);
		set_cstr(r, "process.executable.path", exe_path);
	}
	command_args(r);

	struct utsname u;
	if (uname(&u) == 0) {
		set_cstr(r, "host.name", u.nodename);
		const char *arch = strcmp(u.machine, "x86_64") == 0    ? "amd64"
				   : strcmp(u.machine, "aarch64") == 0 ? "arm64"
								       : u.machine;
		set_cstr(r, "host.arch", arch);
	}
	set_cstr(r, "os.type", "linux");

	if (rs_cfg.resource_attrs[0]) {
		char why[160];
		if (!rs_resource_parse_env(r, rs_cfg.resource_attrs, why, sizeof(why)))
			rs_log(RS_LOG_ERROR, "OTEL_RESOURCE_ATTRIBUTES %s; ignoring all of it", why);
	}
	if (rs_cfg.service_name[0])
		set_cstr(r, "service.name", rs_cfg.service_name);
}
