/* Helpers for the test programs: a blocking HTTP/1.0 GET to 127.0.0.1:port that reads the whole
 * reply, reporting failures on stderr; and the unit tests' loopback_listen for a listener. */
#ifndef RS_TEST_PROGS_COMMON_H
#define RS_TEST_PROGS_COMMON_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../unit/loopback.h"

/* Returns the number of reply bytes, or -1. */
static inline long http_get(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0) {
		perror("socket");
		return -1;
	}
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		close(fd);
		return -1;
	}
	const char req[] = "GET / HTTP/1.0\r\n\r\n";
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
		perror("write");
		close(fd);
		return -1;
	}
	char buf[4096];
	long total = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return n < 0 ? -1 : total;
}

#endif
