/* A thread-per-connection HTTP/1.1 server whose requests take a known time in a known function:
 * GET /slow/MS and GET /busy/MS spin for MS milliseconds in spin_in_handler (the frame a stack
 * snapshot of the serving thread must show: two endpoints, one profiled and one not), anything
 * else answers at once. For SkyWalking's profile tasks.
 *   slow_server PORT        serves until SIGTERM/SIGINT */
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

__attribute__((noinline)) unsigned long spin_in_handler(long ms)
{
	volatile unsigned long x = 0;
	double until = now_ms() + (double)ms;
	while (now_ms() < until)
		x++;
	return x;
}

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	char req[4096];
	size_t have = 0;
	for (;;) {
		ssize_t n = read(fd, req + have, sizeof(req) - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		req[have] = 0;
		char *end = strstr(req, "\r\n\r\n");
		if (!end) {
			if (have == sizeof(req) - 1)
				break;
			continue;
		}
		long ms = 0;
		if (!strncmp(req, "GET /slow/", 10) || !strncmp(req, "GET /busy/", 10))
			ms = strtol(req + 10, NULL, 10);
		if (ms > 0)
			spin_in_handler(ms);
		static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nslow\n";
		if (write(fd, resp, sizeof(resp) - 1) != (ssize_t)(sizeof(resp) - 1))
			break;
		size_t used = (size_t)(end + 4 - req);
		memmove(req, req + used, have - used);
		have -= used;
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: slow_server PORT\n");
		return 2;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 64)) {
		perror("slow_server");
		return 1;
	}
	while (!stop) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_t t;
		if (pthread_create(&t, NULL, serve, (void *)(long)fd) == 0)
			pthread_detach(t);
		else
			close(fd);
	}
	return 0;
}
