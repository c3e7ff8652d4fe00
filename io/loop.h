/* The reporter's event loop: asynchronous file writes and socket operations with timeouts, a
 * wake-up other threads can trigger, and timed waits. Two backends: io_uring (the shim's
 * descriptors stay out of the program's fd table: the ring fd is registered and closed, files and
 * sockets are direct descriptors) and, where io_uring is refused, plain poll() with non-blocking
 * sockets and synchronous file writes. Only the reporter thread calls these, except rs_loop_wake.
 * Errors are returned as -errno; an operation that runs out of time ends with -ETIMEDOUT. */
#ifndef RS_IO_LOOP_H
#define RS_IO_LOOP_H

#include "../preload/config.h"
#include "../preload/rs.h"

#include <liburing.h>
#include <sys/types.h>

struct rs_loop_op;
typedef void (*rs_loop_cb)(struct rs_loop_op *op, int res);

/* Embedded in whatever waits for a completion; cb runs on the reporter thread. */
struct rs_loop_op {
	rs_loop_cb cb;
	struct rs_loop_op *next; /* poll backend: completed, not yet delivered */
	int res;
	struct __kernel_timespec timeout; /* io_uring: read by the kernel at submission */
};

#define RS_LOOP_FILES 64 /* direct-descriptor slots; slot 0 is the wake pipe */
#define RS_LOOP_POLL_OPS 64 /* socket operations waiting in the poll backend */

struct rs_loop_file {
	bool used;
	bool socket;
	_Atomic int *cell; /* poll backend: the fd, registered as a shim descriptor */
	char path[RS_CFG_PATH_MAX + 128]; /* poll backend: to reopen after a raw close */
};

/* A socket operation the poll backend waits to be able to do. */
struct rs_poll_wait {
	struct rs_loop_op *op;
	int slot;
	uint8_t kind; /* connect, send, recv, timer */
	void *buf;
	size_t len;
	uint64_t deadline_ns;
};

struct rs_loop {
	bool uring; /* which backend */
	struct io_uring ring;
	bool ring_fd_closed;
	_Atomic int *wake_cell; /* write end of the wake pipe (a shim descriptor) */
	_Atomic int *wake_read; /* poll backend: read end */
	struct rs_loop_op wake_op;
	bool wake_ready; /* io_uring: slot 0 holds the pipe's read end */
	bool wake_armed;
	uint64_t wake_buf;
	struct rs_loop_file files[RS_LOOP_FILES];
	struct rs_loop_op *done_head, **done_tail; /* poll backend */
	struct rs_poll_wait waits[RS_LOOP_POLL_OPS];   /* poll backend */
	unsigned nwaits;
	unsigned inflight;
};

/* On the thread that starts the reporter: creates the wake pipe, so rs_loop_wake works from the
 * moment the reporter exists. Returns 0 or -errno. */
int rs_loop_prepare(struct rs_loop *l);

/* On the reporter thread, after rs_loop_prepare: sets up the loop: io_uring unless mode says poll or io_uring is refused (then says so once on
 * stderr and uses poll). Returns 0 or -errno when neither works. */
int rs_loop_init(struct rs_loop *l, enum rs_io_mode mode);

/* Opens name relative to dirfd (openat flags and mode) for the loop's use and returns a handle, or
 * -errno. With io_uring the file never enters the fd table. Synchronous. */
int rs_loop_open(struct rs_loop *l, int dirfd, const char *name, int flags, mode_t mode);

/* Starts writing len bytes at offset off to handle; op->cb gets the byte count or -errno. */
int rs_loop_write(struct rs_loop *l, int handle, const void *buf, size_t len, uint64_t off,
		  struct rs_loop_op *op);

/* A non-blocking TCP socket for address family domain (TCP_NODELAY set): a handle, or -errno. */
int rs_loop_socket(struct rs_loop *l, int domain);

/* Connect, send and receive on a socket handle; op->cb gets 0 (connect), the byte count, or
 * -errno; -ETIMEDOUT when timeout_ns passes first. A receive of 0 bytes means the peer closed. */
int rs_loop_connect(struct rs_loop *l, int handle, const struct sockaddr *addr, socklen_t len,
		    uint64_t timeout_ns, struct rs_loop_op *op);
int rs_loop_send(struct rs_loop *l, int handle, const void *buf, size_t len, uint64_t timeout_ns,
		 struct rs_loop_op *op);
int rs_loop_recv(struct rs_loop *l, int handle, void *buf, size_t len, uint64_t timeout_ns,
		 struct rs_loop_op *op);

/* Runs op->cb(op, 0) from the loop's next run, never from inside this call: lets a caller finish
 * something "later" without a descriptor (an error found before any I/O could start). 0 or
 * -EBUSY. */
int rs_loop_post(struct rs_loop *l, struct rs_loop_op *op);

/* Runs op->cb(op, -ETIMEDOUT) once timeout_ns has passed (a timer; it cannot be cancelled, so op
 * must live until then). 0 or -EBUSY. */
int rs_loop_timer(struct rs_loop *l, uint64_t timeout_ns, struct rs_loop_op *op);

/* Closes a handle (file or socket). Operations still waiting on it end with an error first. */
void rs_loop_close(struct rs_loop *l, int handle);

/* Submits what is queued and waits up to timeout_ns for completions or a wake-up, running the
 * callbacks. Returns true when woken by rs_loop_wake. */
bool rs_loop_run(struct rs_loop *l, uint64_t timeout_ns);

/* From any thread: makes the reporter's rs_loop_run return. Safe against a program that closed or
 * reused the descriptor behind the shim's back (checks it first). */
void rs_loop_wake(struct rs_loop *l);

/* Reporter: rebuilds the wake pipe if a raw close took it. */
void rs_loop_check(struct rs_loop *l);

/* Backend entry points (loop.c dispatches). */
int rs_uring_init(struct rs_loop *l);
int rs_uring_open(struct rs_loop *l, int slot, int dirfd, const char *name, int flags,
		  mode_t mode);
int rs_uring_write(struct rs_loop *l, int slot, const void *buf, size_t len, uint64_t off,
		   struct rs_loop_op *op);
bool rs_uring_run(struct rs_loop *l, uint64_t timeout_ns);
int rs_uring_set_wake(struct rs_loop *l, int read_fd);

int rs_uring_socket(struct rs_loop *l, int slot, int domain);
int rs_uring_sockop(struct rs_loop *l, int slot, int kind, void *buf, size_t len,
		    const struct sockaddr *addr, socklen_t alen, uint64_t timeout_ns,
		    struct rs_loop_op *op);
void rs_uring_close(struct rs_loop *l, int slot);
int rs_uring_post(struct rs_loop *l, struct rs_loop_op *op);
int rs_uring_timer(struct rs_loop *l, uint64_t timeout_ns, struct rs_loop_op *op);

int rs_poll_open(struct rs_loop *l, int slot, int dirfd, const char *name, int flags,
		 mode_t mode);
int rs_poll_socket(struct rs_loop *l, int slot, int domain);
int rs_poll_sockop(struct rs_loop *l, int slot, int kind, void *buf, size_t len,
		   const struct sockaddr *addr, socklen_t alen, uint64_t timeout_ns,
		   struct rs_loop_op *op);
void rs_poll_close(struct rs_loop *l, int slot);
void rs_poll_post(struct rs_loop *l, struct rs_loop_op *op);
int rs_poll_timer(struct rs_loop *l, uint64_t timeout_ns, struct rs_loop_op *op);

enum { RS_SOCKOP_CONNECT, RS_SOCKOP_SEND, RS_SOCKOP_RECV, RS_SOCKOP_TIMER };
int rs_poll_write(struct rs_loop *l, int slot, const void *buf, size_t len, uint64_t off,
		  struct rs_loop_op *op);
bool rs_poll_run(struct rs_loop *l, uint64_t timeout_ns);

#endif
