/* The poll() backend, for where io_uring is refused (a container's seccomp profile, the
 * io_uring_disabled sysctl, old kernels). Writes are synchronous; their completions are delivered
 * from rs_poll_run like io_uring's. Descriptors live in the fd table as shim descriptors and are
 * checked before each use, since a raw close_range could have taken them. */
#include "loop.h"
#include "../preload/process.h"
#include "../preload/sys.h"

#include "../preload/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int rs_poll_open(struct rs_loop *l, int slot, int dirfd, const char *name, int flags,
		 mode_t mode)
{
	int fd = openat(dirfd, name, flags | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	_Atomic int *cell = rs_shim_fd_add(fd);
	if (!cell) {
		rs_sys_close(fd);
		return -EMFILE;
	}
	l->files[slot].cell = cell;
	/* Remember the full path, to reopen the file if a raw close takes it. */
	char link[32], dir[RS_CFG_PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	ssize_t n = readlink(link, dir, sizeof(dir) - 1);
	dir[n > 0 ? n : 0] = 0;
	snprintf(l->files[slot].path, sizeof(l->files[slot].path), "%s/%s", dir, name);
	return 0;
}

/* A raw close took the file: open the same path again (never create it anew). */
static bool reopen(struct rs_loop_file *f)
{
	rs_shim_fd_del(f->cell);
	f->cell = NULL;
	int fd = open(f->path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	f->cell = rs_shim_fd_add(fd);
	if (!f->cell)
		rs_sys_close(fd);
	return f->cell != NULL;
}

static void complete(struct rs_loop *l, struct rs_loop_op *op, int res)
{
	op->res = res;
	op->next = NULL;
	*l->done_tail = op;
	l->done_tail = &op->next;
}

int rs_poll_write(struct rs_loop *l, int slot, const void *buf, size_t len, uint64_t off,
		  struct rs_loop_op *op)
{
	struct rs_loop_file *f = &l->files[slot];
	/* Never write through a number that may now be the program's. */
	if ((!f->cell || !rs_shim_fd_valid(f->cell)) && !reopen(f)) {
		complete(l, op, -EBADF);
		return 0;
	}
	ssize_t n = pwrite(atomic_load(f->cell), buf, len, (off_t)off);
	complete(l, op, n < 0 ? -errno : (int)n);
	return 0;
}

int rs_poll_socket(struct rs_loop *l, int slot, int domain)
{
	int fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	_Atomic int *cell = rs_shim_fd_add(fd);
	if (!cell) {
		rs_sys_close(fd);
		return -EMFILE;
	}
	l->files[slot].cell = cell;
	l->files[slot].path[0] = 0;
	return 0;
}

/* Tries a socket operation now. Returns true when it finished (res set), false to wait. */
static bool try_sockop(int fd, int kind, void *buf, size_t len, const struct sockaddr *addr,
		       socklen_t alen, bool again, int *res)
{
	ssize_t r;
	if (kind == RS_SOCKOP_CONNECT) {
		if (again) { /* writable: how the connection attempt ended */
			int err = 0;
			socklen_t el = sizeof(err);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
			*res = -err;
			return true;
		}
		r = connect(fd, addr, alen);
		if (r < 0 && (errno == EINPROGRESS || errno == EAGAIN))
			return false;
		*res = r < 0 ? -errno : 0;
		return true;
	}
	if (kind == RS_SOCKOP_SEND)
		r = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	else
		r = recv(fd, buf, len, MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return false;
	*res = r < 0 ? -errno : (int)r;
	return true;
}

int rs_poll_sockop(struct rs_loop *l, int slot, int kind, void *buf, size_t len,
		   const struct sockaddr *addr, socklen_t alen, uint64_t timeout_ns,
		   struct rs_loop_op *op)
{
	struct rs_loop_file *f = &l->files[slot];
	if (!f->cell || !rs_shim_fd_valid(f->cell)) {
		complete(l, op, -EBADF);
		return 0;
	}
	int res;
	if (try_sockop(atomic_load(f->cell), kind, buf, len, addr, alen, false, &res)) {
		complete(l, op, res);
		return 0;
	}
	if (l->nwaits == RS_LOOP_POLL_OPS)
		return -EBUSY;
	l->waits[l->nwaits++] = (struct rs_poll_wait){
		.op = op,
		.slot = slot,
		.kind = (uint8_t)kind,
		.buf = buf,
		.len = len,
		.deadline_ns = timeout_ns ? rs_mono_ns() + timeout_ns : UINT64_MAX,
	};
	return 0;
}

void rs_poll_post(struct rs_loop *l, struct rs_loop_op *op)
{
	complete(l, op, 0);
}

int rs_poll_timer(struct rs_loop *l, uint64_t timeout_ns, struct rs_loop_op *op)
{
	if (l->nwaits == RS_LOOP_POLL_OPS)
		return -EBUSY;
	/* A wait on no descriptor: only its deadline ends it. */
	l->waits[l->nwaits++] = (struct rs_poll_wait){
		.op = op,
		.slot = 0,
		.kind = RS_SOCKOP_TIMER,
		.deadline_ns = rs_mono_ns() + timeout_ns,
	};
	return 0;
}

static void drop_wait(struct rs_loop *l, unsigned i)
{
	l->waits[i] = l->waits[--l->nwaits];
}

void rs_poll_close(struct rs_loop *l, int slot)
{
	for (unsigned i = 0; i < l->nwaits;) {
		if (l->waits[i].slot == slot) {
			complete(l, l->waits[i].op, -ECANCELED);
			drop_wait(l, i);
		} else {
			i++;
		}
	}
	struct rs_loop_file *f = &l->files[slot];
	if (f->cell) {
		/* Closed only if it is still ours; a raw close may have made it the program's. */
		if (rs_shim_fd_valid(f->cell))
			rs_sys_close(atomic_load(f->cell));
		rs_shim_fd_del(f->cell);
		f->cell = NULL;
	}
}

/* Runs the waiting socket operations that poll() found ready, and those out of time. Backwards:
 * dropping one moves the last, already visited, into its place, so pfd[i] stays waits[i]. */
static void serve_waits(struct rs_loop *l, const struct pollfd *pfd, unsigned n)
{
	uint64_t now = rs_mono_ns();
	for (unsigned i = n; i-- > 0;) {
		struct rs_poll_wait *w = &l->waits[i];
		int res;
		struct rs_loop_file *f = &l->files[w->slot];
		if (pfd[i].revents && f->cell &&
		    try_sockop(atomic_load(f->cell), w->kind, w->buf, w->len, NULL, 0, true, &res)) {
			complete(l, w->op, res);
			drop_wait(l, i);
		} else if (now >= w->deadline_ns) {
			complete(l, w->op, -ETIMEDOUT);
			drop_wait(l, i);
		}
	}
}

bool rs_poll_run(struct rs_loop *l, uint64_t timeout_ns)
{
	bool woken = false;
	uint64_t now = rs_mono_ns();
	for (unsigned i = 0; i < l->nwaits; i++)
		if (l->waits[i].deadline_ns != UINT64_MAX)
			timeout_ns = RS_MIN(timeout_ns, l->waits[i].deadline_ns > now
								  ? l->waits[i].deadline_ns - now
								  : 0);
	int ms = l->done_head ? 0 : (int)RS_MIN((timeout_ns + 999999) / 1000000ull, 60000ull);
	struct pollfd pfd[RS_LOOP_POLL_OPS + 1];
	unsigned n = l->nwaits;
	for (unsigned i = 0; i < n; i++) {
		struct rs_poll_wait *w = &l->waits[i];
		_Atomic int *cell = l->files[w->slot].cell;
		bool fd_ok = cell && w->kind != RS_SOCKOP_TIMER && rs_shim_fd_valid(cell);
		pfd[i].fd = fd_ok ? atomic_load(cell) : -1;
		pfd[i].events = w->kind == RS_SOCKOP_RECV ? POLLIN : POLLOUT;
		pfd[i].revents = 0;
	}
	bool have_wake = l->wake_read && rs_shim_fd_valid(l->wake_read);
	pfd[n].fd = have_wake ? atomic_load(l->wake_read) : -1;
	pfd[n].events = POLLIN;
	pfd[n].revents = 0;
	if (poll(pfd, n + 1, ms) > 0 && (pfd[n].revents & POLLIN)) {
		uint64_t buf[8];
		while (read(pfd[n].fd, buf, sizeof(buf)) > 0)
			woken = true;
	}
	serve_waits(l, pfd, n);
	struct rs_loop_op *op = l->done_head;
	l->done_head = NULL;
	l->done_tail = &l->done_head;
	while (op) {
		struct rs_loop_op *next = op->next;
		op->cb(op, op->res);
		op = next;
	}
	return woken;
}
