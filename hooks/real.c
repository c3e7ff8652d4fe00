/* Resolution of the real functions behind the hooks, and raw-syscall stand-ins for the moments
 * when dlsym cannot be used (it may allocate, and an allocator may read files through us). */
#include "real.h"
#include "../preload/sys.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <stdarg.h>

#define RS_DEFINE_REAL(name) __typeof__(name) *rs_real_##name;
RS_HOOKED(RS_DEFINE_REAL)
#undef RS_DEFINE_REAL

static RS_TLS int resolving;

void *rs_real_resolve(const char *name, void *self, void *fallback, void **slot)
{
	if (resolving)
		return fallback;
	resolving = 1;
	void *p = dlsym(RTLD_NEXT, name);
	resolving = 0;
	if (!p || p == self)
		return fallback;
	__atomic_store_n(slot, p, __ATOMIC_RELAXED);
	return p;
}

__attribute__((constructor(102))) static void rs_real_init(void)
{
#define RS_RESOLVE(name)                                                                           \
	rs_real_resolve(#name, (void *)name, NULL, (void **)&rs_real_##name);
	RS_HOOKED(RS_RESOLVE)
#undef RS_RESOLVE
}

/* --- stand-ins: the system call itself, with errno set as libc would --- */

static long ret_errno(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

#define SYS(...) ret_errno(rs_sys6(__VA_ARGS__))
#define A(x) (long)(x)

int rs_fallback_socket(int d, int t, int p)
{
	return (int)SYS(SYS_socket, d, t, p, 0, 0, 0);
}
int rs_fallback_bind(int fd, const struct sockaddr *a, socklen_t l)
{
	return (int)SYS(SYS_bind, fd, A(a), l, 0, 0, 0);
}
int rs_fallback_connect(int fd, const struct sockaddr *a, socklen_t l)
{
	return (int)SYS(SYS_connect, fd, A(a), l, 0, 0, 0);
}
int rs_fallback_accept4(int fd, struct sockaddr *a, socklen_t *l, int f)
{
	return (int)SYS(SYS_accept4, fd, A(a), A(l), f, 0, 0);
}
int rs_fallback_accept(int fd, struct sockaddr *a, socklen_t *l)
{
	return rs_fallback_accept4(fd, a, l, 0);
}
int rs_fallback_shutdown(int fd, int how)
{
	return (int)SYS(SYS_shutdown, fd, how, 0, 0, 0, 0);
}
int rs_fallback_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	return (int)SYS(SYS_getsockopt, fd, level, name, A(val), A(len), 0);
}
int rs_fallback_close(int fd)
{
	return (int)SYS(SYS_close, fd, 0, 0, 0, 0, 0);
}
int rs_fallback_close_range(unsigned a, unsigned b, int f)
{
	return (int)SYS(SYS_close_range, a, b, f, 0, 0, 0);
}
void rs_fallback_closefrom(int fd)
{
	rs_sys3(SYS_close_range, fd, ~0U, 0);
}
int rs_fallback_dup3(int o, int n, int f)
{
	return (int)SYS(SYS_dup3, o, n, f, 0, 0, 0);
}
int rs_fallback_dup(int o)
{
	return (int)SYS(SYS_dup, o, 0, 0, 0, 0, 0);
}
/* Like glibc's own: the third argument read as a pointer-sized word, whatever the command. */
int rs_fallback_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return (int)SYS(SYS_fcntl, fd, cmd, A(arg), 0, 0, 0);
}
/* The same system call on 64-bit targets. */
__typeof__(fcntl64) rs_fallback_fcntl64 __attribute__((alias("rs_fallback_fcntl")));
int rs_fallback_pipe2(int fds[2], int flags)
{
	return (int)SYS(SYS_pipe2, A(fds), flags, 0, 0, 0, 0);
}
int rs_fallback_pipe(int fds[2])
{
	return rs_fallback_pipe2(fds, 0);
}
int rs_fallback_dup2(int o, int n)
{
	if (o == n) /* dup3 refuses equal numbers; dup2 checks o and returns it */
		return (int)SYS(SYS_fcntl, o, F_GETFD, 0, 0, 0, 0) < 0 ? -1 : n;
	return rs_fallback_dup3(o, n, 0);
}
ssize_t rs_fallback_read(int fd, void *b, size_t n)
{
	return SYS(SYS_read, fd, A(b), A(n), 0, 0, 0);
}
ssize_t rs_fallback_write(int fd, const void *b, size_t n)
{
	return SYS(SYS_write, fd, A(b), A(n), 0, 0, 0);
}
ssize_t rs_fallback_readv(int fd, const struct iovec *v, int n)
{
	return SYS(SYS_readv, fd, A(v), n, 0, 0, 0);
}
ssize_t rs_fallback_writev(int fd, const struct iovec *v, int n)
{
	return SYS(SYS_writev, fd, A(v), n, 0, 0, 0);
}
ssize_t rs_fallback_sendto(int fd, const void *b, size_t n, int f, const struct sockaddr *a,
			   socklen_t l)
{
	return SYS(SYS_sendto, fd, A(b), A(n), f, A(a), l);
}
ssize_t rs_fallback_recvfrom(int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l)
{
	return SYS(SYS_recvfrom, fd, A(b), A(n), f, A(a), A(l));
}
ssize_t rs_fallback_send(int fd, const void *b, size_t n, int f)
{
	return rs_fallback_sendto(fd, b, n, f, NULL, 0);
}
ssize_t rs_fallback_recv(int fd, void *b, size_t n, int f)
{
	return rs_fallback_recvfrom(fd, b, n, f, NULL, NULL);
}
ssize_t rs_fallback_sendmsg(int fd, const struct msghdr *m, int f)
{
	return SYS(SYS_sendmsg, fd, A(m), f, 0, 0, 0);
}
ssize_t rs_fallback_recvmsg(int fd, struct msghdr *m, int f)
{
	return SYS(SYS_recvmsg, fd, A(m), f, 0, 0, 0);
}
int rs_fallback_sendmmsg(int fd, struct mmsghdr *m, unsigned n, int f)
{
	return (int)SYS(SYS_sendmmsg, fd, A(m), n, f, 0, 0);
}
int rs_fallback_recvmmsg(int fd, struct mmsghdr *m, unsigned n, int f, struct timespec *t)
{
	return (int)SYS(SYS_recvmmsg, fd, A(m), n, f, A(t), 0);
}
ssize_t rs_fallback_sendfile(int o, int i, off_t *off, size_t n)
{
	return SYS(SYS_sendfile, o, i, A(off), A(n), 0, 0);
}
ssize_t rs_fallback_sendfile64(int o, int i, off64_t *off, size_t n)
{
	return SYS(SYS_sendfile, o, i, A(off), A(n), 0, 0);
}
ssize_t rs_fallback___read_chk(int fd, void *b, size_t n, size_t len)
{
	return rs_fallback_read(fd, b, RS_MIN(n, len));
}
ssize_t rs_fallback___recv_chk(int fd, void *b, size_t n, size_t len, int f)
{
	return rs_fallback_recv(fd, b, RS_MIN(n, len), f);
}
ssize_t rs_fallback___recvfrom_chk(int fd, void *b, size_t n, size_t len, int f,
				   struct sockaddr *a, socklen_t *l)
{
	return rs_fallback_recvfrom(fd, b, RS_MIN(n, len), f, a, l);
}
int rs_fallback_execve(const char *p, char *const a[], char *const e[])
{
	return (int)SYS(SYS_execve, A(p), A(a), A(e), 0, 0, 0);
}
int rs_fallback_execveat(int d, const char *p, char *const a[], char *const e[], int f)
{
	return (int)SYS(SYS_execveat, d, A(p), A(a), A(e), f, 0);
}

/* The rest have no single system call behind them; dlsym never reaches them. */
static int no_real(void)
{
	errno = ENOSYS;
	return -1;
}
int rs_fallback_execv(const char *p, char *const a[])
{
	(void)p, (void)a;
	return no_real();
}
int rs_fallback_execvp(const char *p, char *const a[])
{
	(void)p, (void)a;
	return no_real();
}
int rs_fallback_execvpe(const char *p, char *const a[], char *const e[])
{
	(void)p, (void)a, (void)e;
	return no_real();
}
int rs_fallback_fexecve(int fd, char *const a[], char *const e[])
{
	(void)fd, (void)a, (void)e;
	return no_real();
}
int rs_fallback_posix_spawn(pid_t *pid, const char *p, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *at, char *const a[], char *const e[])
{
	(void)pid, (void)p, (void)fa, (void)at, (void)a, (void)e;
	return ENOSYS;
}
int rs_fallback_posix_spawnp(pid_t *pid, const char *p, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *at, char *const a[], char *const e[])
{
	(void)pid, (void)p, (void)fa, (void)at, (void)a, (void)e;
	return ENOSYS;
}
int rs_fallback_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	(void)t, (void)a, (void)fn, (void)arg;
	return ENOSYS;
}
int rs_fallback_thrd_create(thrd_t *t, thrd_start_t fn, void *arg)
{
	(void)t, (void)fn, (void)arg;
	return thrd_error;
}
int rs_fallback_pthread_mutex_lock(pthread_mutex_t *m)
{
	/* trylock is not interposed: spinning on it is a lock, if not a fair one. */
	int r;
	while ((r = pthread_mutex_trylock(m)) == EBUSY)
		sched_yield();
	return r;
}
int rs_fallback_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	(void)sig, (void)act, (void)old;
	return no_real();
}
sighandler_t rs_fallback_signal(int sig, sighandler_t h)
{
	(void)sig, (void)h;
	errno = ENOSYS;
	return SIG_ERR;
}
void *rs_fallback_dlopen(const char *file, int mode)
{
	(void)file, (void)mode;
	return NULL;
}
void *rs_fallback_dlmopen(Lmid_t lmid, const char *file, int mode)
{
	(void)lmid, (void)file, (void)mode;
	return NULL;
}
int rs_fallback_dlclose(void *h)
{
	(void)h;
	return -1;
}
int rs_fallback_dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data)
{
	(void)cb, (void)data;
	return 0;
}
