/* Backend choice, the wake pipe, and dispatch to the io_uring or poll() backend. */
#include "loop.h"
#include "../preload/log.h"
#include "../preload/process.h"
#include "../preload/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Creates the wake pipe; both ends become shim descriptors until the backend adopts the read end
 * (io_uring registers it as a direct descriptor and closes it). */
static int make_wake_pipe(struct rs_loop *l)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	_Atomic int *rd = rs_shim_fd_add(p[0]);
	_Atomic int *wr = rd ? rs_shim_fd_add(p[1]) : NULL;
	if (!wr) {
		rs_shim_fd_del(rd);
		rs_sys_close(p[0]);
		rs_sys_close(p[1]);
		return -EMFILE;
	}
	_Atomic int *old_rd = l->wake_read, *old_wr = l->wake_cell;
	l->wake_read = rd;
	__atomic_store_n(&l->wake_cell, wr, __ATOMIC_SEQ_CST);
	/* Old numbers are forgotten, not closed: a raw close took them and they may be the
	 * program's now. */
	rs_shim_fd_del(old_rd);
	rs_shim_fd_del(old_wr);
	return 0;
}

/* io_uring reads the wake pipe through direct descriptor 0; the fd-table copy goes. */
static int adopt_wake_pipe(struct rs_loop *l)
{
	if (!l->uring)
		return 0;
	int fd = atomic_load(l->wake_read);
	int e = rs_uring_set_wake(l, fd);
	if (e == 0) {
		rs_shim_fd_del(l->wake_read);
		l->wake_read = NULL;
		rs_sys_close(fd);
	}
	return e;
}

int rs_loop_prepare(struct rs_loop *l)
{
	memset(l, 0, sizeof(*l));
	l->done_tail = &l->done_head;
	l->files[0].used = true; /* the wake pipe */
	return make_wake_pipe(l);
}

int rs_loop_init(struct rs_loop *l, enum rs_io_mode mode)
{
	if (!l->wake_cell) {
		int e = make_wake_pipe(l);
		if (e < 0)
			return e;
	}
	if (mode != RS_IO_POLL) {
		int e = rs_uring_init(l);
		if (e == 0) {
			l->uring = true;
			e = adopt_wake_pipe(l);
			if (e == 0)
				return 0;
			io_uring_queue_exit(&l->ring);
			l->uring = false;
		}
		if (mode == RS_IO_URING)
			rs_log(RS_LOG_ERROR, "io_uring unavailable (%s), although RINGSIDE_IO=io_uring "
					     "asked for it; using the poll() fallback",
			       strerror(-e));
		else
			rs_log(RS_LOG_WARN, "io_uring unavailable (%s); using the poll() fallback",
			       strerror(-e));
	}
	return 0;
}

static int free_slot(struct rs_loop *l);

int rs_loop_open(struct rs_loop *l, int dirfd, const char *name, int flags, mode_t mode)
{
	int slot = free_slot(l);
	if (slot < 0)
		return slot;
	int e = l->uring ? rs_uring_open(l, slot, dirfd, name, flags, mode)
			 : rs_poll_open(l, slot, dirfd, name, flags, mode);
	if (e < 0)
		return e;
	l->files[slot].used = true;
	return slot;
}

static int free_slot(struct rs_loop *l)
{
	int slot = 1;
	while (slot < RS_LOOP_FILES && l->files[slot].used)
		slot++;
	return slot == RS_LOOP_FILES ? -EMFILE : slot;
}

int rs_loop_socket(struct rs_loop *l, int domain)
{
	int slot = free_slot(l);
	if (slot < 0)
		return slot;
	int e = l->uring ? rs_uring_socket(l, slot, domain) : rs_poll_socket(l, slot, domain);
	if (e < 0)
		return e;
	l->files[slot].used = true;
	l->files[slot].socket = true;
	return slot;
}

static int sockop(struct rs_loop *l, int handle, int kind, void *buf, size_t len,
		  const struct sockaddr *addr, socklen_t alen, uint64_t timeout_ns,
		  struct rs_loop_op *op)
{
	if (handle <= 0 || handle >= RS_LOOP_FILES || !l->files[handle].socket)
		return -EBADF;
	return l->uring ? rs_uring_sockop(l, handle, kind, buf, len, addr, alen, timeout_ns, op)
			: rs_poll_sockop(l, handle, kind, buf, len, addr, alen, timeout_ns, op);
}

int rs_loop_connect(struct rs_loop *l, int handle, const struct sockaddr *addr, socklen_t len,
		    uint64_t timeout_ns, struct rs_loop_op *op)
{
	return sockop(l, handle, RS_SOCKOP_CONNECT, NULL, 0, addr, len, timeout_ns, op);
}

int rs_loop_send(struct rs_loop *l, int handle, const void *buf, size_t len, uint64_t timeout_ns,
		 struct rs_loop_op *op)
{
	return sockop(l, handle, RS_SOCKOP_SEND, (void *)buf, len, NULL, 0, timeout_ns, op);
}

int rs_loop_recv(struct rs_loop *l, int handle, void *buf, size_t len, uint64_t timeout_ns,
		 struct rs_loop_op *op)
{
	return sockop(l, handle, RS_SOCKOP_RECV, buf, len, NULL, 0, timeout_ns, op);
}

int rs_loop_post(struct rs_loop *l, struct rs_loop_op *op)
{
	if (l->uring)
		return rs_uring_post(l, op);
	rs_poll_post(l, op);
	return 0;
}

int rs_loop_timer(struct rs_loop *l, uint64_t timeout_ns, struct rs_loop_op *op)
{
	return l->uring ? rs_uring_timer(l, timeout_ns, op) : rs_poll_timer(l, timeout_ns, op);
}

void rs_loop_close(struct rs_loop *l, int handle)
{
	if (handle <= 0 || handle >= RS_LOOP_FILES || !l->files[handle].used)
		return;
	if (l->uring)
		rs_uring_close(l, handle);
	else
		rs_poll_close(l, handle);
	l->files[handle].used = false;
	l->files[handle].socket = false;
}

int rs_loop_write(struct rs_loop *l, int handle, const void *buf, size_t len, uint64_t off,
		  struct rs_loop_op *op)
{
	if (handle <= 0 || handle >= RS_LOOP_FILES || !l->files[handle].used)
		return -EBADF;
	return l->uring ? rs_uring_write(l, handle, buf, len, off, op)
			: rs_poll_write(l, handle, buf, len, off, op);
}

bool rs_loop_run(struct rs_loop *l, uint64_t timeout_ns)
{
	return l->uring ? rs_uring_run(l, timeout_ns) : rs_poll_run(l, timeout_ns);
}

void rs_loop_wake(struct rs_loop *l)
{
	_Atomic int *cell = __atomic_load_n(&l->wake_cell, __ATOMIC_SEQ_CST);
	if (!cell || !rs_shim_fd_valid(cell))
		return; /* the reporter rebuilds it; its own timer still runs */
	uint64_t one = 1;
	rs_sys_write(atomic_load(cell), &one, sizeof(one));
}

void rs_loop_check(struct rs_loop *l)
{
	bool ok = l->wake_cell && rs_shim_fd_valid(l->wake_cell);
	if (!l->uring)
		ok = ok && l->wake_read && rs_shim_fd_valid(l->wake_read);
	if (ok)
		return;
	RS_LOG_ONCE(RS_LOG_WARN, "the program closed the shim's wake-up pipe behind its back; "
				 "rebuilding it");
	if (make_wake_pipe(l) == 0)
		adopt_wake_pipe(l);
}
