/* The interposition mechanism: the list of hooked functions, HOOK() to define one, REAL() to call
 * the next definition in the chain. REAL pointers are resolved in the constructor and lazily in
 * each hook; while dlsym itself is on the stack a raw-syscall fallback stands in. */
#ifndef RS_HOOKS_REAL_H
#define RS_HOOKS_REAL_H

#include "../preload/rs.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <threads.h>
#include <unistd.h>

/* Fortified variants that _FORTIFY_SOURCE builds (curl, nginx on Debian) call instead. */
ssize_t __read_chk(int fd, void *buf, size_t nbytes, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
		       struct sockaddr *from, socklen_t *fromlen);

#include "hooklist.h"

#define RS_DECLARE_REAL(name)                                                                      \
	extern __typeof__(name) *rs_real_##name;                                                   \
	extern __typeof__(name) rs_fallback_##name;
RS_HOOKED(RS_DECLARE_REAL)
#undef RS_DECLARE_REAL

/* Resolves name with dlsym(RTLD_NEXT), refusing our own definition (self). Stores the result in
 * *slot. Returns it, or fallback when dlsym is unavailable or already on this thread's stack. */
void *rs_real_resolve(const char *name, void *self, void *fallback, void **slot);

#define REAL(name)                                                                                 \
	(rs_likely(rs_real_##name != NULL)                                                         \
		 ? rs_real_##name                                                                  \
		 : (__typeof__(rs_real_##name))rs_real_resolve(#name, (void *)name,                \
							       (void *)rs_fallback_##name,         \
							       (void **)&rs_real_##name))

/* For hooks a sanitizer runtime calls while it sets itself up (sigaction, dl_iterate_phdr), when
 * the shim itself is a sanitizer build: no instrumentation, and a plain dlsym to resolve. */
#define RS_NO_SANITIZE __attribute__((no_sanitize("address", "undefined", "thread")))
#define RS_EARLY_REAL(name)                                                                        \
	(rs_likely(__atomic_load_n(&rs_real_##name, __ATOMIC_RELAXED) != NULL)                     \
		 ? rs_real_##name                                                                  \
		 : rs_early_resolve_##name())
#define RS_EARLY_RESOLVER(name)                                                                    \
	RS_NO_SANITIZE static __typeof__(rs_real_##name) rs_early_resolve_##name(void)             \
	{                                                                                          \
		__typeof__(rs_real_##name) p = (__typeof__(p))dlsym(RTLD_NEXT, #name);             \
		if (!p || p == name)                                                               \
			return rs_fallback_##name;                                                 \
		__atomic_store_n(&rs_real_##name, p, __ATOMIC_RELAXED);                            \
		return p;                                                                          \
	}

/* Defines an interposed function: exported, with the libc name and signature. */
#define HOOK(ret, name, ...) RS_EXPORT ret name(__VA_ARGS__)

#endif
