/* Hooks on the socket lifecycle (socket, bind, connect, accept, shutdown), on the calls that
 * close descriptors (close, close_range, closefrom, dup2, dup3), which also keep the program from
 * closing the shim's own descriptors, and on those that duplicate them (dup, dup2, dup3, fcntl's
 * F_DUPFD): a connection is followed through every descriptor that refers to it. pipe and pipe2
 * for the descriptors of the shim's threads.
 * Every hook returns exactly what the real call returned. */
#include "conn.h"
#include "prof.h"
#include "real.h"
#include "../preload/process.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>

/* A descriptor made on an internal thread: the shim's, or a library's working for it
 * (librdkafka's broker sockets and wake-up pipes). Close-on-exec, so that no exec'd program
 * inherits it, and moved up out of the low numbers programs use by habit (below the shim's own
 * descriptors, which keep the top): a program that closes what it did not open, then opens a
 * file, gets a low number back, not one librdkafka still writes to. */
static int internal_fd(int fd)
{
	int saved = errno;
	int want = rs_shim_fd_floor() - 64;
	int hi = fd < want ? fcntl(fd, F_DUPFD_CLOEXEC, want) : -1;
	if (hi >= 0)
		REAL(close)(fd);
	else
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	errno = saved;
	return hi >= 0 ? hi : fd;
}

HOOK(int, socket, int domain, int type, int protocol)
{
	int fd = REAL(socket)(domain, type, protocol);
	if (fd >= 0 && !rs_thread_passthrough())
		rs_conn_on_socket(fd, domain, type, protocol);
	else if (fd >= 0 && rs_t.internal)
		fd = internal_fd(fd);
	return fd;
}

static int internal_pipe(int fds[2], int flags)
{
	int r = REAL(pipe2)(fds, flags | O_CLOEXEC);
	if (r == 0) {
		fds[0] = internal_fd(fds[0]);
		fds[1] = internal_fd(fds[1]);
	}
	return r;
}

HOOK(int, pipe2, int fds[2], int flags)
{
	return rs_t.internal ? internal_pipe(fds, flags) : REAL(pipe2)(fds, flags);
}

HOOK(int, pipe, int fds[2])
{
	return rs_t.internal ? internal_pipe(fds, 0) : REAL(pipe)(fds);
}

HOOK(int, bind, int fd, const struct sockaddr *addr, socklen_t len)
{
	int r = REAL(bind)(fd, addr, len);
	if (r == 0 && !rs_thread_passthrough())
		rs_conn_on_bind(fd, addr, len);
	return r;
}

/* A thread cancelled inside a blocking connect() leaves the connection being made in the
 * background, as EINTR does: it is followed from here, and its span ends when the descriptor is
 * closed (by the thread's cleanup handler, or at exit). */
struct connect_call {
	int fd;
	const struct sockaddr *addr;
	socklen_t len;
};

static void connect_cancelled(void *arg)
{
	const struct connect_call *k = arg;
	/* A cancel already pending acts before the system call: then nothing was started. */
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	if (REAL(getsockopt)(k->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 &&
	    ti.tcpi_state == TCP_CLOSE)
		return;
	if (!rs_thread_passthrough())
		rs_conn_on_connect(k->fd, k->addr, k->len, -1, EINTR);
}

HOOK(int, connect, int fd, const struct sockaddr *addr, socklen_t len)
{
	struct connect_call k = {fd, addr, len};
	uint64_t t0 = rs_wait_begin();
	int r;
	pthread_cleanup_push(connect_cancelled, &k);
	r = REAL(connect)(fd, addr, len);
	pthread_cleanup_pop(0);
	rs_wait_end(t0, RS_SAMPLE_CONNECT, (void *)connect, __builtin_return_address(0));
	if (rs_thread_passthrough())
		return r;
	int saved = errno;
	rs_conn_on_connect(fd, addr, len, r, r < 0 ? saved : 0);
	errno = saved;
	return r;
}

/* accept and accept4 share this: the peer address is always captured, into the caller's buffer
 * when it gave one (so truncation and EFAULT stay the kernel's), else into ours. */
static int accept_common(int lfd, struct sockaddr *addr, socklen_t *len, int flags, bool four,
			 void *ret)
{
	if (rs_thread_passthrough())
		return four ? REAL(accept4)(lfd, addr, len, flags) : REAL(accept)(lfd, addr, len);
	struct sockaddr_storage own;
	socklen_t own_len = sizeof(own);
	struct sockaddr *a = addr ? addr : (struct sockaddr *)&own;
	socklen_t *l = addr ? len : &own_len;
	socklen_t cap = addr ? (len ? *len : 0) : own_len; /* bytes the kernel may write */
	uint64_t t0 = rs_wait_begin();
	int fd = four ? REAL(accept4)(lfd, a, l, flags) : REAL(accept)(lfd, a, l);
	rs_wait_end(t0, RS_SAMPLE_ACCEPT, four ? (void *)accept4 : (void *)accept, ret);
	if (fd >= 0) {
		int saved = errno;
		rs_conn_on_accept(lfd, fd, a, RS_MIN(*l, cap));
		errno = saved;
	}
	return fd;
}

HOOK(int, accept, int fd, struct sockaddr *addr, socklen_t *len)
{
	return accept_common(fd, addr, len, 0, false, __builtin_return_address(0));
}

HOOK(int, accept4, int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	return accept_common(fd, addr, len, flags, true, __builtin_return_address(0));
}

HOOK(int, shutdown, int fd, int how)
{
	int r = REAL(shutdown)(fd, how);
	if (r == 0)
		rs_conn_on_shutdown(fd, how);
	return r;
}

/* Non-blocking clients learn how connect() ended from SO_ERROR: a refused connection shows here. */
HOOK(int, getsockopt, int fd, int level, int name, void *val, socklen_t *len)
{
	int r = REAL(getsockopt)(fd, level, name, val, len);
	if (r == 0 && level == SOL_SOCKET && name == SO_ERROR && val && len &&
	    *len >= sizeof(int) && *(int *)val != 0)
		rs_conn_on_connect_error(fd, *(int *)val);
	return r;
}

HOOK(int, close, int fd)
{
	if (rs_thread_passthrough())
		return REAL(close)(fd);
	if (rs_shim_fd_is(fd)) {
		errno = EBADF; /* to the program it was never open */
		return -1;
	}
	rs_conn_on_close(fd);
	return REAL(close)(fd);
}

/* Calls the real close_range on [first, last] minus the shim's descriptors. */
static int close_range_around_shim(unsigned first, unsigned last, int flags)
{
	int shim[RS_SHIM_FDS];
	int n = rs_shim_fd_list(shim);
	int result = 0, err = 0;
	unsigned lo = first;
	bool tail = true;
	for (int i = 0; i < n; i++) {
		unsigned s = (unsigned)shim[i];
		if (s < lo || s > last)
			continue;
		if (s > lo && REAL(close_range)(lo, s - 1, flags) < 0 && !err) {
			result = -1;
			err = errno;
		}
		if (s == last) {
			tail = false;
			break;
		}
		lo = s + 1;
	}
	if (tail && REAL(close_range)(lo, last, flags) < 0 && !err) {
		result = -1;
		err = errno;
	}
	if (err)
		errno = err;
	return result;
}

static bool shim_fd_in(unsigned first, unsigned last)
{
	int shim[RS_SHIM_FDS];
	int n = rs_shim_fd_list(shim);
	for (int i = 0; i < n; i++)
		if ((unsigned)shim[i] >= first && (unsigned)shim[i] <= last)
			return true;
	return false;
}

HOOK(int, close_range, unsigned first, unsigned last, int flags)
{
	if (rs_thread_passthrough() || (flags & CLOSE_RANGE_CLOEXEC))
		return REAL(close_range)(first, last, flags);
	rs_conn_on_close_range(first, last);
	if (!shim_fd_in(first, last))
		return REAL(close_range)(first, last, flags);
	return close_range_around_shim(first, last, flags);
}

HOOK(void, closefrom, int lowfd)
{
	if (rs_thread_passthrough() || lowfd < 0) {
		REAL(closefrom)(lowfd);
		return;
	}
	rs_conn_on_close_range((unsigned)lowfd, ~0u);
	if (!shim_fd_in((unsigned)lowfd, ~0u)) {
		REAL(closefrom)(lowfd);
		return;
	}
	int saved = errno;
	close_range_around_shim((unsigned)lowfd, ~0u, 0);
	errno = saved; /* closefrom reports nothing */
}

/* dup2 and dup3 close newfd first: a shim descriptor there moves away, a connection there ends. */
static bool dup_prepare(int oldfd, int newfd)
{
	if (rs_shim_fd_is(oldfd)) {
		errno = EBADF;
		return false;
	}
	if (oldfd != newfd && rs_shim_fd_is(newfd))
		rs_shim_fd_evict(newfd);
	return true;
}

HOOK(int, dup2, int oldfd, int newfd)
{
	if (rs_thread_passthrough())
		return REAL(dup2)(oldfd, newfd);
	if (!dup_prepare(oldfd, newfd))
		return -1;
	int r = REAL(dup2)(oldfd, newfd);
	if (r >= 0 && oldfd != newfd) {
		int saved = errno;
		rs_conn_on_close(newfd);
		rs_conn_on_dup(oldfd, newfd);
		errno = saved;
	}
	return r;
}

HOOK(int, dup3, int oldfd, int newfd, int flags)
{
	if (rs_thread_passthrough())
		return REAL(dup3)(oldfd, newfd, flags);
	if (!dup_prepare(oldfd, newfd))
		return -1;
	int r = REAL(dup3)(oldfd, newfd, flags);
	if (r >= 0) {
		int saved = errno;
		rs_conn_on_close(newfd);
		rs_conn_on_dup(oldfd, newfd);
		errno = saved;
	}
	return r;
}

static void duplicated(int oldfd, int newfd)
{
	if (newfd < 0 || rs_thread_passthrough())
		return;
	int saved = errno;
	rs_conn_on_dup(oldfd, newfd);
	errno = saved;
}

HOOK(int, dup, int oldfd)
{
	int r = REAL(dup)(oldfd);
	duplicated(oldfd, r);
	return r;
}

/* fcntl's third argument is whatever the command takes: nothing, an int or a pointer. Each is
 * passed on as it came (an int read as a pointer-sized word would carry stale upper bits where
 * the ABI leaves them undefined). A command not listed passes as a pointer-sized word, as glibc's
 * own fcntl reads every argument; F_DUPFD and F_DUPFD_CLOEXEC make a duplicate. */
static int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, va_list ap)
{
	switch (cmd) {
	case F_GETFD:
	case F_GETFL:
	case F_GETOWN:
	case F_GETSIG:
	case F_GETLEASE:
	case F_GETPIPE_SZ:
	case F_GET_SEALS:
		return real(fd, cmd);
	case F_DUPFD:
	case F_DUPFD_CLOEXEC: {
		int r = real(fd, cmd, va_arg(ap, int));
		duplicated(fd, r);
		return r;
	}
	case F_SETFD:
	case F_SETFL:
	case F_SETOWN:
	case F_SETSIG:
	case F_SETLEASE:
	case F_NOTIFY:
	case F_SETPIPE_SZ:
	case F_ADD_SEALS:
		return real(fd, cmd, va_arg(ap, int));
	default: /* struct flock, f_owner_ex, uint64_t hints, and commands newer than this list */
		return real(fd, cmd, va_arg(ap, void *));
	}
}

HOOK(int, fcntl, int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	int r = fcntl_common(REAL(fcntl), fd, cmd, ap);
	va_end(ap);
	return r;
}

/* What programs built with _FILE_OFFSET_BITS=64 call (glibc 2.28 and later). */
HOOK(int, fcntl64, int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	int r = fcntl_common(REAL(fcntl64), fd, cmd, ap);
	va_end(ap);
	return r;
}
