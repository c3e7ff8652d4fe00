/* The io_uring backend. Set-up registers a sparse table of direct descriptors and the ring fd
 * itself, then closes the ring fd: nothing the program does to its fd table can reach the ring or
 * the files. Only the write end of the wake pipe stays in the table (see loop.c). */
#include "loop.h"
#include "../preload/process.h"
#include "../preload/sys.h"

#include <errno.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#define RING_ENTRIES 256

int rs_uring_init(struct rs_loop *l)
{
	struct io_uring_params p;
	/* One thread submits and reaps: let the kernel skip cross-thread work where it can. */
	static const unsigned flag_sets[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	int e = -ENOSYS;
	for (size_t i = 0; i < RS_ARRAY_LEN(flag_sets); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = flag_sets[i];
		e = io_uring_queue_init_params(RING_ENTRIES, &l->ring, &p);
		if (e != -EINVAL)
			break;
	}
	if (e < 0)
		return e;
	/* A fork child must not share the parent's rings; it builds its own. */
	e = io_uring_ring_dontfork(&l->ring);
	/* The kernel refuses a table larger than RLIMIT_NOFILE, and liburing then raises the
	 * process's soft limit to make room: the program's own limit, which is not ours to change.
	 * Below it, the poll fallback. */
	struct rlimit rl;
	if (e == 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < RS_LOOP_FILES)
		e = -EMFILE;
	if (e == 0)
		e = io_uring_register_files_sparse(&l->ring, RS_LOOP_FILES);
	if (e < 0) {
		io_uring_queue_exit(&l->ring);
		return e;
	}
	if (io_uring_register_ring_fd(&l->ring) == 1) {
		/* liburing now enters through the registered index; the fd can go. */
		rs_sys_close(l->ring.ring_fd);
		l->ring.ring_fd = -1;
		l->ring_fd_closed = true;
	} else {
		/* Older kernels: keep it, protected from the program's close calls. */
		rs_shim_fd_add(l->ring.ring_fd);
	}
	return 0;
}

static struct io_uring_sqe *get_sqe(struct rs_loop *l)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
	if (!sqe) {
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
	}
	return sqe;
}

struct sync_op {
	struct rs_loop_op op;
	bool done;
};

static void sync_done(struct rs_loop_op *op, int res)
{
	struct sync_op *s = (struct sync_op *)op;
	s->op.res = res;
	s->done = true;
}

/* Runs one prepared SQE to completion, serving other completions meanwhile. */
static int run_sync(struct rs_loop *l, struct io_uring_sqe *sqe)
{
	struct sync_op s = {.op = {.cb = sync_done}};
	io_uring_sqe_set_data(sqe, &s.op);
	l->inflight++;
	while (!s.done)
		rs_uring_run(l, 1000000000ull);
	return s.op.res;
}

int rs_uring_set_wake(struct rs_loop *l, int read_fd)
{
	struct io_uring_sqe *sqe = get_sqe(l);
	if (!sqe)
		return -EBUSY;
	int fds[1] = {read_fd};
	io_uring_prep_files_update(sqe, fds, 1, 0);
	l->wake_ready = false; /* no read on slot 0 until the update has landed */
	int r = run_sync(l, sqe);
	l->wake_ready = r >= 0;
	l->wake_armed = false; /* a read on the old pipe ends with EOF; arm on the new one */
	return r < 0 ? r : 0;
}

int rs_uring_open(struct rs_loop *l, int slot, int dirfd, const char *name, int flags,
		  mode_t mode)
{
	struct io_uring_sqe *sqe = get_sqe(l);
	if (!sqe)
		return -EBUSY;
	/* Direct descriptors are never inherited: O_CLOEXEC is meaningless there, and refused. */
	io_uring_prep_openat_direct(sqe, dirfd, name, flags & ~O_CLOEXEC, mode, (unsigned)slot);
	int r = run_sync(l, sqe);
	return r < 0 ? r : 0;
}

int rs_uring_write(struct rs_loop *l, int slot, const void *buf, size_t len, uint64_t off,
		   struct rs_loop_op *op)
{
	struct io_uring_sqe *sqe = get_sqe(l);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_write(sqe, slot, buf, (unsigned)RS_MIN(len, 1u << 30), off);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, op);
	l->inflight++;
	return 0;
}

int rs_uring_socket(struct rs_loop *l, int slot, int domain)
{
	/* Created in the fd table for its options, then handed to the ring and closed there. */
	int fd = socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct io_uring_sqe *sqe = get_sqe(l);
	int r = -EBUSY;
	if (sqe) {
		int fds[1] = {fd};
		io_uring_prep_files_update(sqe, fds, 1, slot);
		r = run_sync(l, sqe);
	}
	rs_sys_close(fd);
	return r < 0 ? r : 0;
}

int rs_uring_sockop(struct rs_loop *l, int slot, int kind, void *buf, size_t len,
		    const struct sockaddr *addr, socklen_t alen, uint64_t timeout_ns,
		    struct rs_loop_op *op)
{
	struct io_uring_sqe *sqe = get_sqe(l);
	if (!sqe)
		return -EBUSY;
	if (kind == RS_SOCKOP_CONNECT)
		io_uring_prep_connect(sqe, slot, addr, alen);
	else if (kind == RS_SOCKOP_SEND)
		io_uring_prep_send(sqe, slot, buf, len, MSG_NOSIGNAL);
	else
		io_uring_prep_recv(sqe, slot, buf, len, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, op);
	l->inflight++;
	if (timeout_ns) {
		struct io_uring_sqe *t = get_sqe(l);
		if (t) {
			/* Linked: if the operation outlives it, the operation ends -ECANCELED. */
			sqe->flags |= IOSQE_IO_LINK;
			op->timeout.tv_sec = (long long)(timeout_ns / 1000000000ull);
			op->timeout.tv_nsec = (long long)(timeout_ns % 1000000000ull);
			io_uring_prep_link_timeout(t, &op->timeout, 0);
			io_uring_sqe_set_data(t, NULL);
		}
	}
	return 0;
}

void rs_uring_close(struct rs_loop *l, int slot)
{
	/* Operations still waiting on the socket end first (with -ECANCELED), then the slot goes. */
	struct io_uring_sqe *sqe = get_sqe(l);
	if (sqe) {
		io_uring_prep_cancel_fd(sqe, slot, IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD_FIXED);
		io_uring_sqe_set_data(sqe, NULL);
	}
	sqe = get_sqe(l);
	if (sqe) {
		io_uring_prep_close_direct(sqe, (unsigned)slot);
		io_uring_sqe_set_data(sqe, NULL);
	}
}

int rs_uring_post(struct rs_loop *l, struct rs_loop_op *op)
{
	struct io_uring_sqe *sqe = get_sqe(l);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_nop(sqe); /* completes with 0 on the next submission */
	io_uring_sqe_set_data(sqe, op);
	op->timeout.tv_sec = op->timeout.tv_nsec = 0;
	l->inflight++;
	return 0;
}

int rs_uring_timer(struct rs_loop *l, uint64_t timeout_ns, struct rs_loop_op *op)
{
	struct io_uring_sqe *sqe = get_sqe(l);
	if (!sqe)
		return -EBUSY;
	op->timeout.tv_sec = (long long)(timeout_ns / 1000000000ull);
	op->timeout.tv_nsec = (long long)(timeout_ns % 1000000000ull);
	io_uring_prep_timeout(sqe, &op->timeout, 0, 0);
	io_uring_sqe_set_data(sqe, op);
	l->inflight++;
	return 0;
}

static void arm_wake(struct rs_loop *l)
{
	struct io_uring_sqe *sqe = get_sqe(l);
	if (!sqe)
		return;
	io_uring_prep_read(sqe, 0, &l->wake_buf, sizeof(l->wake_buf), 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, &l->wake_op);
	l->wake_armed = true;
}

bool rs_uring_run(struct rs_loop *l, uint64_t timeout_ns)
{
	if (l->wake_ready && !l->wake_armed)
		arm_wake(l);
	struct __kernel_timespec ts = {.tv_sec = (long long)(timeout_ns / 1000000000ull),
				       .tv_nsec = (long long)(timeout_ns % 1000000000ull)};
	struct io_uring_cqe *cqe;
	io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);

	/* Copy completions out first: callbacks may submit and even wait. */
	bool woken = false;
	for (;;) {
		struct rs_loop_op *ops[64];
		int res[64];
		unsigned n = 0, head;
		io_uring_for_each_cqe(&l->ring, head, cqe)
		{
			if (n == RS_ARRAY_LEN(ops))
				break;
			ops[n] = io_uring_cqe_get_data(cqe);
			res[n++] = cqe->res;
		}
		io_uring_cq_advance(&l->ring, n);
		for (unsigned i = 0; i < n; i++) {
			if (ops[i] == &l->wake_op) {
				l->wake_armed = false;
				woken = woken || res[i] > 0;
			} else if (ops[i]) {
				l->inflight--;
				/* A linked timeout that fired ends its operation with -ECANCELED. */
				if (res[i] == -ECANCELED && (ops[i]->timeout.tv_sec || ops[i]->timeout.tv_nsec))
					res[i] = -ETIMEDOUT;
				if (res[i] == -ETIME) /* a timer (rs_uring_timer) ran out */
					res[i] = -ETIMEDOUT;
				ops[i]->timeout.tv_sec = ops[i]->timeout.tv_nsec = 0;
				ops[i]->cb(ops[i], res[i]);
			}
		}
		if (n < RS_ARRAY_LEN(ops))
			break;
	}
	return woken;
}
