/* Programs that are hard on a preloaded shim, for t_hostile_*.sh. Each mode prints "ok" on stdout
 * when the program itself saw nothing go wrong:
 *   threads PORT N [ENDS]  N short-lived threads, each making one TCP connection to a listener of
 *                    its own and ending as ENDS says in turn (r return, e pthread_exit, c
 *                    cancelled while blocked in read; default "rec"), then a GET to PORT
 *   sigprof PORT     its own SIGPROF handler and ITIMER_PROF timer, while GETs run
 *   dup2 PORT FILE   FILE over fds 1 and 2, a request written through fd 1 dup2'd to a socket
 *   nofile PORT      fills the fd table to its (tiny) limit, frees some, GETs
 *   connectcancel    a thread cancelled while blocked in connect() to a listener whose accept
 *                    queue is full; prints "listener PORT" first
 *   fcntlargs        fcntl and fcntl64 with commands taking no argument, an int and a pointer;
 *                    each result checked
 * One connection through several descriptors (dup, dup2, F_DUPFD) is hostile_dup.c's. */
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>

static struct sockaddr_in listen_addr;

/* Keeps the last 64 connections it accepted open, so a client can block reading from one. */
static void *acceptor(void *arg)
{
	int lfd = (int)(intptr_t)arg, kept[64], k = 0;
	for (int i = 0; i < 64; i++)
		kept[i] = -1;
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		if (kept[k] >= 0)
			close(kept[k]);
		kept[k] = fd;
		k = (k + 1) % 64;
	}
	return NULL;
}

static int connect_own(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&listen_addr, sizeof(listen_addr)) < 0) {
		perror("connect to own listener");
		exit(1);
	}
	return fd;
}

static void connect_once(void)
{
	close(connect_own());
}

static void *ends_by_return(void *arg)
{
	(void)arg;
	connect_once();
	return NULL;
}

static void *ends_by_exit(void *arg)
{
	(void)arg;
	connect_once();
	pthread_exit(NULL);
}

/* Connects, then blocks reading the connection (a cancellation point, inside the shim's read
 * hook) until cancelled; the descriptor is closed by the cleanup handler. */
static void close_fd(void *arg)
{
	close((int)(intptr_t)arg);
}

static void *ends_by_cancel(void *arg)
{
	_Atomic int *connected = arg;
	int fd = connect_own();
	pthread_cleanup_push(close_fd, (void *)(intptr_t)fd);
	*connected = 1;
	char c;
	while (read(fd, &c, 1) > 0)
		;
	pthread_cleanup_pop(1);
	return NULL;
}

static int threads(int port, int n, const char *ends)
{
	size_t nends = strlen(ends);
	int lfd = loopback_listen(4096, &listen_addr);
	if (lfd < 0)
		return 1;
	printf("listener %d\n", ntohs(listen_addr.sin_port));
	pthread_t acc;
	pthread_create(&acc, NULL, acceptor, (void *)(intptr_t)lfd);
	/* In batches of 16, so thousands of threads come and go but few live at once. */
	for (int done = 0; done < n;) {
		pthread_t t[16];
		_Atomic int connected[16] = {0};
		int k = 0;
		for (; k < 16 && done + k < n; k++) {
			int i = done + k;
			char how = ends[i % nends];
			void *(*fn)(void *) = how == 'r' ? ends_by_return : how == 'e' ? ends_by_exit
										: ends_by_cancel;
			int e = pthread_create(&t[k], NULL, fn, &connected[k]);
			if (e) {
				fprintf(stderr, "pthread_create: %s\n", strerror(e));
				return 1;
			}
		}
		for (int j = 0; j < k; j++) {
			if (ends[(done + j) % nends] == 'c') {
				/* Cancel it once it is past its connect (a connect cancelled before it
				 * returns may or may not have connected), usually blocked in read. */
				while (!connected[j])
					usleep(100);
				usleep(100);
				pthread_cancel(t[j]);
			}
			pthread_join(t[j], NULL);
		}
		done += k;
	}
	/* After all of them, a new thread and the main thread are still traced. */
	pthread_t last;
	pthread_create(&last, NULL, ends_by_return, NULL);
	pthread_join(last, NULL);
	if (http_get(port) <= 0)
		return 1;
	printf("ok\n");
	return 0;
}

static volatile sig_atomic_t profs;
static void on_prof(int sig)
{
	(void)sig;
	profs++;
}

static int sigprof(int port)
{
	struct sigaction sa = {.sa_handler = on_prof, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPROF, &sa, NULL);
	struct itimerval it = {{0, 1000}, {0, 1000}};
	setitimer(ITIMER_PROF, &it, NULL);
	/* Work until the program's own timer has fired 50 times, with requests in between. */
	volatile unsigned long x = 0;
	int gets = 0;
	while (profs < 50 || gets < 3) {
		for (int i = 0; i < 1000000; i++)
			x += (unsigned long)i;
		if (gets < 3) {
			if (http_get(port) <= 0)
				return 1;
			gets++;
		}
	}
	struct itimerval off = {0};
	setitimer(ITIMER_PROF, &off, NULL);
	printf("ok\n");
	return 0;
}

static int dup2_mode(int port, const char *file)
{
	int f = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int saved = dup(1);
	if (f < 0 || saved < 0 || dup2(f, 1) != 1 || dup2(f, 2) != 2) {
		perror("dup2 over 1 and 2");
		return 1;
	}
	close(f);
	dprintf(1, "to the file through fd 1\n");
	dprintf(2, "to the file through fd 2\n");
	/* A connection moved onto fd 1: the request goes out through stdout. */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 || dup2(s, 1) != 1) {
		dprintf(saved, "connect/dup2: %s\n", strerror(errno));
		return 1;
	}
	close(s);
	/* write(), not dprintf: libc's stdio writes through its internal call, which no preloaded
	 * library sees. */
	const char req[] = "GET /through-stdout HTTP/1.0\r\n\r\n";
	if (write(1, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
		dprintf(saved, "write: %s\n", strerror(errno));
		return 1;
	}
	char buf[4096];
	long total = 0;
	ssize_t r;
	while ((r = read(1, buf, sizeof(buf))) > 0)
		total += r;
	close(1);
	if (total <= 0 || http_get(port) <= 0) {
		dprintf(saved, "no reply\n");
		return 1;
	}
	dprintf(saved, "ok\n");
	return 0;
}

/* Waits (2 s at most) for a file whose name ends with suffix in dir. */
static void wait_for_file(const char *dir, const char *suffix)
{
	size_t sl = strlen(suffix);
	for (int i = 0; i < 200; i++) {
		DIR *d = opendir(dir);
		for (struct dirent *e; d && (e = readdir(d));) {
			size_t n = strlen(e->d_name);
			if (n >= sl && strcmp(e->d_name + n - sl, suffix) == 0) {
				closedir(d);
				return;
			}
		}
		if (d)
			closedir(d);
		usleep(10000);
	}
}

static int nofile(int port)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	/* The shim opens its output as the program starts (the profiler starts its reporter then):
	 * a table that fills later is what this mode is about, not a race with that first open. */
	if (getenv("RINGSIDE_OUTPUT_DIR"))
		wait_for_file(getenv("RINGSIDE_OUTPUT_DIR"), ".traces.jsonl");
	/* Take every descriptor there is, give three back, and work with those. */
	int fds[4096], n = 0;
	for (int fd; n < 4096 && (fd = open("/dev/null", O_RDONLY)) >= 0;)
		fds[n++] = fd;
	if (errno != EMFILE) {
		perror("open");
		return 1;
	}
	int give = getenv("HOSTILE_FREE_FDS") ? atoi(getenv("HOSTILE_FREE_FDS")) : 3;
	for (int i = 0; i < give && n > 0; i++)
		close(fds[--n]);
	for (int i = 0; i < 3; i++)
		if (http_get(port) <= 0)
			return 1;
	/* The limit is the program's: nothing in the process may have raised it. */
	struct rlimit after;
	getrlimit(RLIMIT_NOFILE, &after);
	if (after.rlim_cur != rl.rlim_cur) {
		fprintf(stderr, "RLIMIT_NOFILE changed from %d to %d\n", (int)rl.rlim_cur,
			(int)after.rlim_cur);
		return 1;
	}
	printf("ok\n");
	return 0;
}

/* Blocks in connect(): the listener's accept queue is full, so its SYNs go unanswered. */
static void *blocked_connect(void *arg)
{
	_Atomic int *started = arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	pthread_cleanup_push(close_fd, (void *)(intptr_t)fd);
	*started = 1;
	connect(fd, (struct sockaddr *)&listen_addr, sizeof(listen_addr));
	pthread_cleanup_pop(1);
	return NULL;
}

static int connectcancel(void)
{
	int lfd = loopback_listen(0, &listen_addr);
	if (lfd < 0)
		return 1;
	printf("listener %d\n", ntohs(listen_addr.sin_port));
	/* Two non-blocking connections fill the queue (never accepted). */
	int fill[2];
	for (int i = 0; i < 2; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(fill[i], (struct sockaddr *)&listen_addr, sizeof(listen_addr)) < 0 &&
		    errno != EINPROGRESS) {
			perror("connect");
			return 1;
		}
	}
	usleep(100000);
	_Atomic int started = 0;
	pthread_t t;
	pthread_create(&t, NULL, blocked_connect, &started);
	while (!started)
		usleep(1000);
	usleep(200000); /* well inside connect() by now: the first SYN retry comes after 1 s */
	pthread_cancel(t);
	void *res;
	pthread_join(t, &res);
	if (res != PTHREAD_CANCELED) {
		fprintf(stderr, "connect() returned instead of blocking\n");
		return 1;
	}
	close(fill[0]);
	close(fill[1]);
	printf("ok\n");
	return 0;
}

/* --- fcntl's variable argument, through the hooks: none, an int, a pointer --- */

#define FCHECK(cond)                                                                               \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fcntl%s: %s: %s\n", k ? "64" : "", #cond,                 \
				strerror(errno));                                                  \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

static int fcntlargs(void)
{
	int (*const fns[2])(int, int, ...) = {fcntl, fcntl64};
	for (int k = 0; k < 2; k++) {
		int (*f)(int, int, ...) = fns[k];
		int p[2], m = memfd_create("hostile", MFD_ALLOW_SEALING);
		FCHECK(pipe(p) == 0 && m >= 0);
		FCHECK(f(p[0], F_SETPIPE_SZ, 1 << 17) >= 1 << 17 &&
		       f(p[0], F_GETPIPE_SZ) >= 1 << 17);
		FCHECK(f(p[1], F_SETFL, O_NONBLOCK) == 0 && (f(p[1], F_GETFL) & O_NONBLOCK));
		FCHECK(f(p[1], F_SETFD, FD_CLOEXEC) == 0 && f(p[1], F_GETFD) == FD_CLOEXEC);
		int d = f(p[1], F_DUPFD, 40), e = f(p[1], F_DUPFD_CLOEXEC, 50);
		FCHECK(d >= 40 && e >= 50 && f(d, F_GETFD) == 0 && f(e, F_GETFD) == FD_CLOEXEC);
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		FCHECK(f(m, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK);
		fl.l_type = F_WRLCK;
		FCHECK(f(m, F_SETLK, &fl) == 0);
		struct flock ofd = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
		/* The write lock just set is another owner's to an open file description lock. */
		FCHECK(f(m, F_OFD_GETLK, &ofd) == 0 && ofd.l_type == F_WRLCK);
		struct f_owner_ex own = {.pid = -5}; /* no owner set: pid 0 comes back */
		FCHECK(f(p[0], F_GETOWN_EX, &own) == 0 && own.pid == 0);
		FCHECK(f(m, F_ADD_SEALS, F_SEAL_GROW) == 0 && (f(m, F_GET_SEALS) & F_SEAL_GROW));
		FCHECK(f(p[0], F_SETSIG, SIGUSR1) == 0 && f(p[0], F_GETSIG) == SIGUSR1);
		FCHECK(f(-1, F_GETFD) == -1 && errno == EBADF);
		close(p[0]), close(p[1]), close(m), close(d), close(e);
	}
	printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "threads") == 0)
		return threads(atoi(argv[2]), atoi(argv[3]), argc > 4 ? argv[4] : "rec");
	if (argc >= 3 && strcmp(argv[1], "sigprof") == 0)
		return sigprof(atoi(argv[2]));
	if (argc >= 4 && strcmp(argv[1], "dup2") == 0)
		return dup2_mode(atoi(argv[2]), argv[3]);
	if (argc >= 3 && strcmp(argv[1], "nofile") == 0)
		return nofile(atoi(argv[2]));
	if (argc >= 2 && strcmp(argv[1], "connectcancel") == 0)
		return connectcancel();
	if (argc >= 2 && strcmp(argv[1], "fcntlargs") == 0)
		return fcntlargs();
	fprintf(stderr,
		"usage: hostile threads PORT N | sigprof PORT | dup2 PORT FILE | nofile PORT | "
		"connectcancel | fcntlargs\n");
	return 2;
}
