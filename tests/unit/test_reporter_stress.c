/* The reporter under load, through the real shim: linked with the shim's objects, a child copy of
 * this binary runs many threads that connect to its own listener while the reporter drains their
 * rings into the file exporter. Every connection's two spans (connect, accept) must be in the span
 * file or counted in the exit line, exactly. Run under ThreadSanitizer too (scripts/test). */
#include "check.h"
#include "loopback.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum { THREADS = 8, PER_THREAD = 1500 };

static struct sockaddr_in addr;
static int lfd;

static void *client(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
			perror("connect");
			exit(3);
		}
		close(fd);
	}
	return NULL;
}

static void *acceptor(void *arg)
{
	(void)arg;
	for (int i = 0; i < THREADS * PER_THREAD; i++) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			perror("accept");
			exit(3);
		}
		close(fd);
	}
	return NULL;
}

static int child(void)
{
	lfd = loopback_listen(4096, &addr);
	if (lfd < 0)
		return 3;
	pthread_t acc, t[THREADS];
	pthread_create(&acc, NULL, acceptor, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, client, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_join(acc, NULL);
	close(lfd);
	return 0; /* exit() flushes the reporter and writes the loss line, if any */
}

/* Spans in one OTLP/JSON lines file: each span has one "spanId" key ("parentSpanId" differs). */
static long count_spans(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long n = 0;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0)
		for (char *p = line; (p = strstr(p, "\"spanId\"")); p += 8)
			n++;
	free(line);
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return child();

	char dir[] = "/tmp/rs-reporter-stress.XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char errpath[256], spans[256];
	snprintf(errpath, sizeof errpath, "%s/stderr", dir);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		freopen(errpath, "w", stderr);
		setenv("RINGSIDE_OUTPUT_DIR", dir, 1);
		setenv("RINGSIDE_CONN_SPANS", "1", 1);
		setenv("RINGSIDE_RING_KB", "16", 1); /* small rings: some threads fill theirs */
		setenv("RINGSIDE_FLUSH_TIMEOUT_MS", "30000", 1);
		execl("/proc/self/exe", argv[0], "child", (char *)NULL);
		_exit(127);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	snprintf(spans, sizeof spans, "%s/test_reporter_stress.%d.traces.jsonl", dir, (int)pid);
	long written = count_spans(spans);
	long lost = 0, recorded = -1;
	FILE *e = fopen(errpath, "r");
	CHECK(e != NULL);
	char line[1024];
	while (fgets(line, sizeof line, e)) {
		const char *p = strstr(line, " spans lost of ");
		if (!p) {
			fprintf(stderr, "child: %s", line);
			continue;
		}
		const char *q = p;
		while (q > line && q[-1] >= '0' && q[-1] <= '9')
			q--;
		lost = atol(q);
		recorded = atol(p + strlen(" spans lost of "));
	}
	fclose(e);
	long expect = 2L * THREADS * PER_THREAD;
	printf("%ld spans written, %ld counted lost, %ld recorded by the exit line, %ld expected\n",
	       written, lost, recorded, expect);
	CHECK(written >= 0 || lost == expect); /* no file only if everything was lost */
	if (written < 0)
		written = 0;
	CHECK(written + lost == expect);
	CHECK(recorded == -1 || recorded == expect);
	unlink(spans);
	unlink(errpath);
	rmdir(dir); /* fails, harmlessly, if the child wrote another file */
	return check_result();
}
