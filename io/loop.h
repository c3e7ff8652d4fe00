/* The reporter's event loop: asynchronous file writes, a wake-up other threads can trigger, and
 * timed waits. Two backends: io_uring (the shim's descriptors stay out of the program's fd table:
 * the ring fd is registered and closed, files are direct descriptors) and, where io_uring is
 * refused, plain poll() with synchronous writes. Only the reporter thread calls these, except
 * rs_loop_wake. Errors are returned as -errno. */
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
};

#define RS_LOOP_FILES 16 /* direct-descriptor slots; slot 0 is the wake pipe */

struct rs_loop_file {
	bool used;
	_Atomic int *cell; /* poll backend: the fd, registered as a shim descriptor */
	char path[RS_CFG_PATH_MAX + 128]; /* poll backend: to reopen after a raw close */
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

/* Closes a handle; its slot can be opened again. Synchronous. */
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
void rs_uring_close(struct rs_loop *l, int slot);
int rs_uring_set_wake(struct rs_loop *l, int read_fd);

int rs_poll_open(struct rs_loop *l, int slot, int dirfd, const char *name, int flags,
		 mode_t mode);
int rs_poll_write(struct rs_loop *l, int slot, const void *buf, size_t len, uint64_t off,
		  struct rs_loop_op *op);
bool rs_poll_run(struct rs_loop *l, uint64_t timeout_ns);
void rs_poll_close(struct rs_loop *l, int slot);

#endif
