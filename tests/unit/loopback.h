/* A TCP listener on 127.0.0.1 at a port the kernel picks, for the unit tests that need a peer. */
#ifndef RS_TEST_LOOPBACK_H
#define RS_TEST_LOOPBACK_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* The listening socket, its address in *addr; -1 (said on stderr) when any step fails. */
static inline int loopback_listen(int backlog, struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	*addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(*addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof(*addr)) != 0 || listen(fd, backlog) != 0 ||
	    getsockname(fd, (struct sockaddr *)addr, &len) != 0) {
		perror("loopback listener");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

#endif
