/* `ringside doctor`'s probe: reports whether io_uring can be set up here, with the features the
 * reporter needs (direct descriptors, registered ring fd), and why not. Exit 0 usable, 1 not. */
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	struct io_uring ring;
	int e = io_uring_queue_init(8, &ring, 0);
	if (e < 0) {
		printf("io_uring: refused (%s)\n", strerror(-e));
		return 1;
	}
	e = io_uring_register_files_sparse(&ring, 4);
	if (e < 0) {
		printf("io_uring: set up, but direct descriptors are missing (%s)\n", strerror(-e));
		io_uring_queue_exit(&ring);
		return 1;
	}
	int reg = io_uring_register_ring_fd(&ring);
	printf("io_uring: usable%s\n",
	       reg == 1 ? "" : " (the ring fd stays in the fd table: kernel older than 5.18)");
	io_uring_queue_exit(&ring);
	return 0;
}
