/* Hooks on exec and posix_spawn: the child's environment keeps LD_PRELOAD naming the shim and the
 * RINGSIDE_/OTEL_/SW_ settings the process started with, even when the caller passes its own
 * envp (env -i, sanitising launchers). Before exec replaces the image, what is recorded is flushed.
 * vfork is not wrapped (a wrapper cannot return twice); its child reaches these hooks directly,
 * and they use only the stack until exec. */
#include "http.h"
#include "real.h"
#include "../preload/config.h"
#include "../preload/propagation.h"
#include "../preload/log.h"
#include "../preload/process.h"
#include "../preload/sys.h"
#include "../preload/thread.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>

extern char **environ;

#define ENV_STACK 512		      /* environments up to this many entries stay on the stack */
#define PRELOAD_MAX (PATH_MAX + 4096) /* "LD_PRELOAD=" + theirs + ":" + ours */

struct child_env {
	char **vec;
	size_t mapped; /* bytes to munmap when vec did not fit on the stack */
	char *stack_vec[ENV_STACK];
	char preload[PRELOAD_MAX];
	char traceparent[12 + RS_TRACEPARENT_LEN + 1];
};

static bool name_is(const char *kv, const char *name, size_t len)
{
	return strncmp(kv, name, len) == 0 && kv[len] == '=';
}

/* Whether an LD_PRELOAD value already names a libringside.so (ours or a copy). */
static bool preload_has_shim(const char *v, const char *ours)
{
	const char *base = strrchr(ours, '/');
	base = base ? base + 1 : ours;
	size_t blen = strlen(base);
	while (*v) {
		size_t len = strcspn(v, ": ");
		const char *slash = NULL;
		for (const char *p = v; p < v + len; p++)
			if (*p == '/')
				slash = p;
		const char *b = slash ? slash + 1 : v;
		if ((size_t)(v + len - b) == blen && memcmp(b, base, blen) == 0)
			return true;
		v += len;
		v += strspn(v, ": ");
	}
	return false;
}

/* Builds the child's environment in *ce from envp: LD_PRELOAD naming the shim, the carried
 * settings it lacks, and TRACEPARENT set to this thread's current context (the span it serves,
 * else the context it inherited), so the child's spans join this trace. Returns the vector to
 * pass: envp itself when it cannot be built. */
static char *const *child_env_build(struct child_env *ce, char *const *envp)
{
	const char *lib = rs_process_lib_path();
	static char *const empty[] = {NULL};
	if (!envp)
		envp = empty;
	size_t n = 0;
	while (envp[n])
		n++;
	struct rs_ctx ctx;
	bool have_ctx = rs_http_current_context(&ctx);
	if (have_ctx) {
		memcpy(ce->traceparent, "TRACEPARENT=", 12);
		rs_traceparent_format(&ctx, ce->traceparent + 12);
		ce->traceparent[12 + RS_TRACEPARENT_LEN] = 0;
	}
	size_t need = n + rs_cfg.carry_count + 3;
	ce->mapped = 0;
	ce->vec = ce->stack_vec;
	if (need > ENV_STACK) {
		size_t bytes = need * sizeof(char *);
		void *m = rs_sys_mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (rs_sys_mmap_failed(m))
			return envp;
		ce->vec = m;
		ce->mapped = bytes;
	}
	size_t k = 0;
	bool have_preload = false;
	for (size_t i = 0; i < n; i++) {
		char *kv = envp[i];
		if (have_ctx && name_is(kv, "TRACEPARENT", 11))
			continue; /* replaced by the current context below */
		if (*lib && name_is(kv, "LD_PRELOAD", 10)) {
			if (have_preload)
				continue; /* the loader reads the first; keep one */
			have_preload = true;
			const char *v = kv + 11;
			if (!preload_has_shim(v, lib)) {
				size_t vl = strlen(v), ll = strlen(lib);
				if (11 + vl + 1 + ll + 1 <= sizeof(ce->preload)) {
					memcpy(ce->preload, "LD_PRELOAD=", 11);
					memcpy(ce->preload + 11, v, vl);
					ce->preload[11 + vl] = ':';
					memcpy(ce->preload + 12 + vl, lib, ll + 1);
					kv = ce->preload;
				}
			}
		}
		ce->vec[k++] = kv;
	}
	if (*lib && !have_preload && 11 + strlen(lib) + 1 <= sizeof(ce->preload)) {
		memcpy(ce->preload, "LD_PRELOAD=", 11);
		strcpy(ce->preload + 11, lib);
		ce->vec[k++] = ce->preload;
	}
	/* Carried settings the caller's environment lacks; where it sets one, its value wins. */
	for (const char *c = rs_cfg.carry; c < rs_cfg.carry + rs_cfg.carry_len;
	     c += strlen(c) + 1) {
		size_t nl = strcspn(c, "=");
		bool present = false;
		for (size_t i = 0; i < n && !present; i++)
			present = name_is(envp[i], c, nl);
		if (!present)
			ce->vec[k++] = (char *)c;
	}
	if (have_ctx)
		ce->vec[k++] = ce->traceparent;
	ce->vec[k] = NULL;
	return ce->vec;
}

static void child_env_done(struct child_env *ce)
{
	if (ce->mapped)
		rs_sys_munmap(ce->vec, ce->mapped);
}

/* The body of every exec and spawn hook: REAL(name) is called with `env`, the child's
 * environment built from envp, in the argument list; before an exec the recorded spans are
 * flushed, since the image is about to go. errno is the real call's. */
#define CALL_WITH_CHILD_ENV(flush, envp, name, ...)                                                \
	do {                                                                                       \
		if (rs_thread_passthrough()) {                                                     \
			char *const *env = (envp);                                                 \
			return REAL(name)(__VA_ARGS__);                                            \
		}                                                                                  \
		if (flush)                                                                         \
			rs_process_flush(false);                                                   \
		struct child_env ce;                                                               \
		char *const *env = child_env_build(&ce, (envp));                                   \
		int r_ = REAL(name)(__VA_ARGS__);                                                  \
		int saved_ = errno;                                                                \
		child_env_done(&ce);                                                               \
		errno = saved_;                                                                    \
		return r_;                                                                         \
	} while (0)

HOOK(int, execve, const char *path, char *const argv[], char *const envp[])
{
	CALL_WITH_CHILD_ENV(true, envp, execve, path, argv, (char **)env);
}

HOOK(int, execveat, int dirfd, const char *path, char *const argv[], char *const envp[],
     int flags)
{
	CALL_WITH_CHILD_ENV(true, envp, execveat, dirfd, path, argv, (char **)env, flags);
}

HOOK(int, fexecve, int fd, char *const argv[], char *const envp[])
{
	CALL_WITH_CHILD_ENV(true, envp, fexecve, fd, argv, (char **)env);
}

HOOK(int, execvpe, const char *file, char *const argv[], char *const envp[])
{
	CALL_WITH_CHILD_ENV(true, envp, execvpe, file, argv, (char **)env);
}

/* execv and execvp read environ; as glibc does, they become execve and execvpe with it. */
HOOK(int, execv, const char *path, char *const argv[])
{
	if (rs_thread_passthrough())
		return REAL(execv)(path, argv);
	return execve(path, argv, environ);
}

HOOK(int, execvp, const char *file, char *const argv[])
{
	if (rs_thread_passthrough())
		return REAL(execvp)(file, argv);
	return execvpe(file, argv, environ);
}

/* The variadic forms gather their arguments into a stack array, as glibc's own do, and go
 * through the vector hooks above (which handle the pass-through case themselves). */
static size_t count_args(va_list ap)
{
	va_list c;
	va_copy(c, ap);
	size_t n = 0;
	while (va_arg(c, char *))
		n++;
	va_end(c);
	return n;
}

#define COLLECT_ARGV(argv, arg, ap)                                                                \
	size_t n_ = count_args(ap);                                                                \
	char *argv[n_ + 2];                                                                        \
	argv[0] = (char *)(arg);                                                                   \
	for (size_t i_ = 1; i_ <= n_ + 1; i_++)                                                    \
		argv[i_] = va_arg(ap, char *) /* the last one read is the NULL */

RS_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	COLLECT_ARGV(argv, arg, ap);
	va_end(ap);
	return execve(path, argv, environ);
}

RS_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	COLLECT_ARGV(argv, arg, ap);
	va_end(ap);
	return execvpe(file, argv, environ);
}

RS_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	va_start(ap, arg);
	COLLECT_ARGV(argv, arg, ap);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}

HOOK(int, posix_spawn, pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	CALL_WITH_CHILD_ENV(false, envp, posix_spawn, pid, path, fa, attr, argv, (char **)env);
}

HOOK(int, posix_spawnp, pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	CALL_WITH_CHILD_ENV(false, envp, posix_spawnp, pid, file, fa, attr, argv, (char **)env);
}
