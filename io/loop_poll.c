/* The poll() backend, for where io_uring is refused (a container's seccomp profile, the
 * io_uring_disabled sysctl, old kernels). Writes are synchronous; their completions are delivered
 * from rs_poll_run like io_uring's. Descriptors live in the fd table as shim descriptors and are
 * checked before each use, since a raw close_range could have taken them. */
#include "loop.h"
#include "../preload/process.h"
#include "../preload/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
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

void rs_poll_close(struct rs_loop *l, int slot)
{
	struct rs_loop_file *f = &l->files[slot];
	if (f->cell && rs_shim_fd_valid(f->cell))
		rs_sys_close(atomic_load(f->cell));
	rs_shim_fd_del(f->cell);
	f->cell = NULL;
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

bool rs_poll_run(struct rs_loop *l, uint64_t timeout_ns)
{
	bool woken = false;
	int ms = l->done_head ? 0 : (int)RS_MIN(timeout_ns / 1000000ull, 60000ull);
	if (l->wake_read && rs_shim_fd_valid(l->wake_read)) {
		struct pollfd p = {.fd = atomic_load(l->wake_read), .events = POLLIN};
		if (poll(&p, 1, ms) > 0 && (p.revents & POLLIN)) {
			uint64_t buf[8];
			while (read(p.fd, buf, sizeof(buf)) > 0)
				woken = true;
		}
	} else if (ms > 0) {
		poll(NULL, 0, ms);
	}
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
