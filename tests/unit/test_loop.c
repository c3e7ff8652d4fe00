/* The reporter's loop on both backends (io_uring and poll): connect, send, receive against a
 * real listener, a connection refused, a receive that times out, a close that cancels a waiting
 * receive, and file writes at offsets. Linked with the shim's objects; this thread marks itself
 * the shim's own so its sockets are not traced. */
#include "../../io/loop.h"
#include "../../preload/thread.h"
#include "check.h"
#include "loopback.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct waiter {
	struct rs_loop_op op;
	bool done;
	int res;
};

static void done(struct rs_loop_op *op, int res)
{
	struct waiter *w = (struct waiter *)op;
	w->done = true;
	w->res = res;
}

static int wait_for(struct rs_loop *l, struct waiter *w)
{
	for (int i = 0; i < 500 && !w->done; i++)
		rs_loop_run(l, 10000000);
	return w->done ? w->res : -9999;
}

static void run(enum rs_io_mode mode)
{
	static struct rs_loop l;
	CHECK_EQ_U(rs_loop_prepare(&l), 0);
	CHECK_EQ_U(rs_loop_init(&l, mode), 0);
	CHECK(l.uring == (mode == RS_IO_URING));

	struct sockaddr_in a;
	int ls = loopback_listen(4, &a);
	CHECK(ls >= 0);

	int h = rs_loop_socket(&l, AF_INET);
	CHECK(h > 0);
	struct waiter w = {.op = {.cb = done}};
	CHECK_EQ_U(rs_loop_connect(&l, h, (struct sockaddr *)&a, sizeof(a), 1000000000ull, &w.op), 0);
	CHECK_EQ_U(wait_for(&l, &w), 0);
	int peer = accept(ls, NULL, NULL);
	CHECK(peer >= 0);

	w = (struct waiter){.op = {.cb = done}};
	CHECK_EQ_U(rs_loop_send(&l, h, "ping", 4, 1000000000ull, &w.op), 0);
	CHECK_EQ_U(wait_for(&l, &w), 4);
	char buf[16] = {0};
	CHECK_EQ_U(read(peer, buf, sizeof(buf)), 4);
	CHECK(memcmp(buf, "ping", 4) == 0);

	/* Nothing to read: the receive ends with -ETIMEDOUT. */
	w = (struct waiter){.op = {.cb = done}};
	CHECK_EQ_U(rs_loop_recv(&l, h, buf, sizeof(buf), 50000000ull, &w.op), 0);
	CHECK(wait_for(&l, &w) == -ETIMEDOUT);

	w = (struct waiter){.op = {.cb = done}};
	CHECK_EQ_U(rs_loop_recv(&l, h, buf, sizeof(buf), 1000000000ull, &w.op), 0);
	CHECK_EQ_U(write(peer, "pong", 4), 4);
	CHECK_EQ_U(wait_for(&l, &w), 4);
	CHECK(memcmp(buf, "pong", 4) == 0);

	/* The peer closes: a receive of 0. */
	close(peer);
	w = (struct waiter){.op = {.cb = done}};
	rs_loop_recv(&l, h, buf, sizeof(buf), 1000000000ull, &w.op);
	CHECK_EQ_U(wait_for(&l, &w), 0);

	/* A receive waiting when its socket is closed ends with an error, not never. */
	int h2 = rs_loop_socket(&l, AF_INET);
	struct waiter c = {.op = {.cb = done}};
	rs_loop_connect(&l, h2, (struct sockaddr *)&a, sizeof(a), 1000000000ull, &c.op);
	CHECK_EQ_U(wait_for(&l, &c), 0);
	int peer2 = accept(ls, NULL, NULL);
	w = (struct waiter){.op = {.cb = done}};
	rs_loop_recv(&l, h2, buf, sizeof(buf), 0, &w.op);
	rs_loop_run(&l, 1000000);
	rs_loop_close(&l, h2);
	CHECK(wait_for(&l, &w) < 0);
	close(peer2);
	rs_loop_close(&l, h);

	/* Nobody listening: refused. */
	close(ls);
	int h3 = rs_loop_socket(&l, AF_INET);
	w = (struct waiter){.op = {.cb = done}};
	rs_loop_connect(&l, h3, (struct sockaddr *)&a, sizeof(a), 1000000000ull, &w.op);
	CHECK(wait_for(&l, &w) == -ECONNREFUSED);
	rs_loop_close(&l, h3);

	/* A posted operation completes with 0 from the loop, never inside the call; a timer with
	 * -ETIMEDOUT. */
	w = (struct waiter){.op = {.cb = done}};
	CHECK_EQ_U(rs_loop_post(&l, &w.op), 0);
	CHECK(!w.done);
	CHECK_EQ_U(wait_for(&l, &w), 0);
	w = (struct waiter){.op = {.cb = done}};
	CHECK_EQ_U(rs_loop_timer(&l, 1000000ull, &w.op), 0);
	CHECK(!w.done);
	CHECK(wait_for(&l, &w) == -ETIMEDOUT);

	/* A file, written at offsets out of order. */
	char dir[] = "/tmp/rs-loop-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	int f = rs_loop_open(&l, dfd, "out", O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(f > 0);
	w = (struct waiter){.op = {.cb = done}};
	rs_loop_write(&l, f, "world", 5, 6, &w.op);
	CHECK_EQ_U(wait_for(&l, &w), 5);
	w = (struct waiter){.op = {.cb = done}};
	rs_loop_write(&l, f, "hello ", 6, 0, &w.op);
	CHECK_EQ_U(wait_for(&l, &w), 6);
	rs_loop_close(&l, f);
	rs_loop_run(&l, 1000000);
	int rfd = openat(dfd, "out", O_RDONLY);
	memset(buf, 0, sizeof(buf));
	CHECK_EQ_U(read(rfd, buf, sizeof(buf)), 11);
	CHECK(strcmp(buf, "hello world") == 0);
	close(rfd);
	unlinkat(dfd, "out", 0);
	close(dfd);
	rmdir(dir);
}

int main(void)
{
	rs_thread_set_internal();
	run(RS_IO_POLL);
	run(RS_IO_URING);
	return check_result();
}
