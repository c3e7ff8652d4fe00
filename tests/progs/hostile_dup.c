/* Programs that follow one connection through several descriptors (dup, dup2, F_DUPFD), hard
 * on the shim's duplicate bookkeeping (hooks/dup.c), for t_hostile_programs.sh. Each mode prints
 * "ok" on stdout when the program itself saw nothing go wrong:
 *   dupserve N       an HTTP server of the classic C kind: for each of N connections, the
 *                    request is read on the accepted descriptor and a 201 reply written on a
 *                    duplicate (dup, then fcntl(F_DUPFD_CLOEXEC), in turn); the two are closed
 *                    original first, then duplicate first, in turn. Prints "listener PORT" first
 *   inetd PORT       a GET through fds 0 and 1 after dup2(s, 0), dup2(s, 1), close(s): written
 *                    on fd 1, the reply read on fd 0; "ok" goes to the original stdout
 *   closeorder PORT HOW  a GET written through dup(s) and its reply read through s, then the
 *                    descriptors closed as HOW says: orig (s first), alias (the dup first),
 *                    range (close_range over both), chain (a dup of the dup too, the middle one
 *                    last), exit (left open)
 *   duprace T K      T threads each make K duplicates of one connection to a listener of its
 *                    own (dup, F_DUPFD_CLOEXEC, dup2 onto a number of its own, in turn), write 16
 *                    bytes through each and close it; then each keeps one, the original is closed,
 *                    all write once more and close theirs at once. Prints "listener PORT" and
 *                    "sent BYTES"
 *   dupsniff K       K fresh connections to a listener of its own: on each, one thread writes a
 *                    GET through dup(s), the connection's first bytes (and on odd ones shuts
 *                    its sending side down), while another closes s, at offsets swept over the
 *                    iterations. Prints "listener PORT" and "sent K"
 *   dupsignal N      a connection, three duplicates and 256 more; while this thread closes the
 *                    oldest of the 256 and makes another over and over, another thread sends it
 *                    N signals, whose handler closes the middle one of the three, opens a socket
 *                    on its number, closes that and makes the duplicate again. Then the original
 *                    is closed and the other two written through. Prints "listener PORT" and
 *                    "sent BYTES" */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <signal.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

static int listen_any(int *port)
{
	struct sockaddr_in a;
	int l = loopback_listen(16, &a);
	if (l < 0)
		exit(1);
	*port = ntohs(a.sin_port);
	return l;
}

static int dupserve(int n)
{
	int port, l = listen_any(&port);
	printf("listener %d\n", port);
	fflush(stdout);
	static const char reply[] =
	    "HTTP/1.1 201 Created\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
	for (int i = 0; i < n; i++) {
		int s = accept(l, NULL, NULL);
		int d = s < 0 ? -1 : i % 2 ? fcntl(s, F_DUPFD_CLOEXEC, 0) : dup(s);
		if (d < 0) {
			perror("accept/dup");
			return 1;
		}
		char req[4096];
		size_t got = 0;
		ssize_t r;
		while (got < sizeof(req) - 1 &&
		       (r = read(s, req + got, sizeof(req) - 1 - got)) > 0) {
			got += (size_t)r;
			req[got] = 0;
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		if (write(d, reply, sizeof(reply) - 1) != (ssize_t)sizeof(reply) - 1) {
			perror("write");
			return 1;
		}
		if (i % 2 ? close(d) | close(s) : close(s) | close(d)) {
			perror("close");
			return 1;
		}
	}
	close(l);
	printf("ok\n");
	return 0;
}

static int connect_port(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		exit(1);
	}
	return s;
}

static long read_all(int fd)
{
	char buf[4096];
	long total = 0;
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		total += r;
	return r < 0 ? -1 : total;
}

static int inetd(int port)
{
	int saved = dup(1);
	int s = connect_port(port);
	if (saved < 0 || dup2(s, 0) != 0 || dup2(s, 1) != 1 || close(s) != 0) {
		perror("dup2 onto 0 and 1");
		return 1;
	}
	const char req[] = "GET /inetd HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	if (write(1, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
		dprintf(saved, "write: %s\n", strerror(errno));
		return 1;
	}
	long got = read_all(0);
	close(0);
	close(1);
	if (got <= 0) {
		dprintf(saved, "no reply\n");
		return 1;
	}
	dprintf(saved, "ok\n");
	return 0;
}

static int closeorder(int port, const char *how)
{
	int s = connect_port(port);
	int d = dup(s);
	const char req[] = "GET / HTTP/1.0\r\n\r\n";
	if (d < 0 || write(d, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
		perror("dup/write");
		return 1;
	}
	if (read_all(s) <= 0) {
		fprintf(stderr, "no reply\n");
		return 1;
	}
	int r = 0;
	if (strcmp(how, "orig") == 0) {
		r = close(s) | close(d);
	} else if (strcmp(how, "alias") == 0) {
		r = close(d) | close(s);
	} else if (strcmp(how, "range") == 0) {
		r = close_range((unsigned)(s < d ? s : d), (unsigned)(s < d ? d : s), 0);
	} else if (strcmp(how, "chain") == 0) {
		int e = fcntl(d, F_DUPFD, 0);
		r = e < 0 || close(s) | close(e) | close(d);
	} else if (strcmp(how, "exit") != 0) {
		fprintf(stderr, "closeorder: no order %s\n", how);
		return 2;
	}
	if (r) {
		perror("close");
		return 1;
	}
	printf("ok\n");
	return 0;
}

/* --- duprace: threads making and closing duplicates of one connection at once --- */

struct race {
	int s, k;
	pthread_barrier_t *held, *closed, *written;
};

static void write16(int fd)
{
	static const char b[16] = "0123456789abcdef";
	if (write(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
		perror("write through a duplicate");
		exit(1);
	}
}

static void *race_thread(void *arg)
{
	struct race *r = arg;
	int mine = dup(r->s); /* a number this thread dup2s onto */
	for (int i = 0; i < r->k; i++) {
		int d = i % 3 == 0   ? dup(r->s)
			: i % 3 == 1 ? fcntl(r->s, F_DUPFD_CLOEXEC, 0)
				     : dup2(r->s, mine);
		if (d < 0) {
			perror("duplicate");
			exit(1);
		}
		write16(d);
		if (d != mine)
			close(d);
	}
	pthread_barrier_wait(r->held); /* ... while the main thread closes the original */
	pthread_barrier_wait(r->closed);
	write16(mine);
	/* Closes race each other, not writes: a write on one descriptor racing the close of the one
	 * holding the connection's state may go uncounted (hooks/conn.c, hand_over). */
	pthread_barrier_wait(r->written);
	close(mine);
	return NULL;
}

/* Reads the connection to its end; the byte count goes back through the pointer. */
static void *sink(void *arg)
{
	int lfd = *(int *)arg, fd = accept(lfd, NULL, NULL);
	char buf[4096];
	long total = 0;
	ssize_t n;
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	*(long *)arg = total;
	return NULL;
}

/* A scenario's end: the sink thread's count must be the bytes sent ("sent N", then "ok"). */
static int sink_done(pthread_t sk, int lfd, const long *got, long sent)
{
	pthread_join(sk, NULL);
	close(lfd);
	printf("sent %ld\n", sent);
	if (*got != sent) {
		fprintf(stderr, "the listener read %ld bytes of %ld\n", *got, sent);
		return 1;
	}
	printf("ok\n");
	return 0;
}

static int duprace(int t, int k)
{
	int port;
	long arg = listen_any(&port);
	int lfd = (int)arg;
	printf("listener %d\n", port);
	pthread_t sk, th[64];
	if (t < 1 || t > 64 || pthread_create(&sk, NULL, sink, &arg) != 0)
		return 2;
	pthread_barrier_t held, closed, written;
	pthread_barrier_init(&held, NULL, (unsigned)t + 1);
	pthread_barrier_init(&closed, NULL, (unsigned)t + 1);
	pthread_barrier_init(&written, NULL, (unsigned)t);
	struct race r = {connect_port(port), k, &held, &closed, &written};
	for (int i = 0; i < t; i++)
		if (pthread_create(&th[i], NULL, race_thread, &r) != 0)
			return 1;
	pthread_barrier_wait(&held);
	close(r.s);
	pthread_barrier_wait(&closed);
	for (int i = 0; i < t; i++)
		pthread_join(th[i], NULL);
	return sink_done(sk, lfd, &arg, 16L * t * (k + 1));
}

/* --- dupsniff: HTTP decided through a duplicate while the owner is closed --- */

/* The shim decides a connection speaks HTTP from its first bytes and attaches its HTTP state to
 * the slot holding the connection; closing the owner descriptor moves that to the duplicate
 * (hooks/dup.c, hand_over). Each round starts both at once, the closer delayed by a few more
 * spins each round, so that some rounds land the attach inside the hand-over. */
static struct {
	_Atomic int round, ready, done;
	int d, k;
} sn;

static void spin_until(_Atomic int *v, int want)
{
	for (unsigned spins = 0; atomic_load(v) != want; spins++)
		if (spins > 1000)
			sched_yield(); /* the other thread may share this core */
}

static void *sniff_writer(void *arg)
{
	(void)arg;
	static const char req[] = "GET /dupsniff HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	for (int i = 1; i <= sn.k; i++) {
		spin_until(&sn.round, i);
		atomic_store(&sn.ready, i);
		if (write(sn.d, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
			perror("write through the duplicate");
			exit(1);
		}
		if ((i & 1) && shutdown(sn.d, SHUT_WR) != 0) { /* the shutdown lands on the hand-over */
			perror("shutdown through the duplicate");
			exit(1);
		}
		atomic_store(&sn.done, i);
	}
	return NULL;
}

/* Every descriptor is made and closed on this thread, outside the race: a number the close
 * frees is not reused by another thread while the write that found the old slot is still in the
 * shim (README, Limits: that write's request may then go to the new connection). */
static int dupsniff(int k)
{
	int port, lfd = listen_any(&port);
	printf("listener %d\n", port);
	sn.k = k;
	pthread_t wr;
	if (k < 1 || pthread_create(&wr, NULL, sniff_writer, NULL) != 0)
		return 2;
	for (int i = 1; i <= k; i++) {
		int s = connect_port(port), a = accept(lfd, NULL, NULL);
		sn.d = dup(s);
		if (a < 0 || sn.d < 0) {
			perror("accept/dup");
			return 1;
		}
		atomic_store(&sn.round, i);
		spin_until(&sn.ready, i);
		for (volatile int w = 0; w < (i * 7) % 400; w++)
			;
		if (close(s) != 0) {
			perror("close");
			return 1;
		}
		spin_until(&sn.done, i);
		close(sn.d);
		close(a); /* unread: the request is the client's side of the test */
	}
	pthread_join(wr, NULL);
	close(lfd);
	printf("sent %d\n", k);
	printf("ok\n");
	return 0;
}

/* --- dupsignal: a duplicate's number reused by a signal handler while the links change --- */

/* The handler runs on the thread changing the links (each dup and close is a change under
 * hooks/dup.c's lock; closing the oldest duplicate walks the whole list), so many signals land
 * inside a change, where the shim cannot take its lock to unlink the victim before the socket
 * takes its number. */
static struct {
	int s, victim;
	volatile sig_atomic_t armed;
	pthread_t target;
	_Atomic bool stop;
	_Atomic int handled;
} sg;

static void on_usr1(int sig)
{
	(void)sig;
	if (!sg.armed)
		return;
	int saved = errno;
	close(sg.victim);
	int t = socket(AF_INET, SOCK_STREAM, 0); /* the lowest free number: the victim's */
	if (t >= 0)
		close(t);
	dup2(sg.s, sg.victim);
	atomic_fetch_add(&sg.handled, 1);
	errno = saved;
}

static void *signaller(void *arg)
{
	int n = *(int *)arg;
	for (int i = 0; i < n; i++) {
		pthread_kill(sg.target, SIGUSR1);
		spin_until(&sg.handled, i + 1); /* one at a time: pending signals would merge */
		for (volatile int w = 0; w < (i * 13) % 2000; w++)
			;
	}
	atomic_store(&sg.stop, true);
	return NULL;
}

static int dupsignal(int n)
{
	int port;
	long arg = listen_any(&port);
	int lfd = (int)arg;
	printf("listener %d\n", port);
	pthread_t sk, sig;
	if (pthread_create(&sk, NULL, sink, &arg) != 0)
		return 2;
	sg.s = connect_port(port);
	int first = dup(sg.s);
	sg.victim = dup(sg.s);
	int last = dup(sg.s);
	if (first < 0 || sg.victim < 0 || last < 0) {
		perror("dup");
		return 1;
	}
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
	sigaction(SIGUSR1, &sa, NULL);
	sg.target = pthread_self();
	sg.armed = 1;
	if (pthread_create(&sig, NULL, signaller, &n) != 0)
		return 2;
	long sent = 0;
	const int via[3] = {sg.s, first, last};
	int ring[256];
	for (int i = 0; i < 256; i++)
		ring[i] = fcntl(sg.s, F_DUPFD, 300);
	for (unsigned i = 0; !atomic_load(&sg.stop); i++) {
		int *oldest = &ring[i % 256]; /* the list's last but the three: a long walk */
		if (close(*oldest) != 0 || (*oldest = fcntl(sg.s, F_DUPFD, 300)) < 0) {
			perror("close/dup");
			return 1;
		}
		if (i % 64 == 0) {
			write16(via[i / 64 % 3]);
			sent += 16;
		}
	}
	pthread_join(sig, NULL);
	sg.armed = 0;
	for (int i = 0; i < 256; i++)
		close(ring[i]);
	/* The original first: the connection moves to a duplicate, which must find the others. */
	if (close(sg.victim) != 0 || close(sg.s) != 0) {
		perror("close");
		return 1;
	}
	for (int i = 0; i < 8; i++, sent += 32) {
		write16(first);
		write16(last);
	}
	close(first);
	close(last);
	return sink_done(sk, lfd, &arg, sent);
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "dupserve") == 0)
		return dupserve(atoi(argv[2]));
	if (argc >= 3 && strcmp(argv[1], "inetd") == 0)
		return inetd(atoi(argv[2]));
	if (argc >= 4 && strcmp(argv[1], "duprace") == 0)
		return duprace(atoi(argv[2]), atoi(argv[3]));
	if (argc >= 4 && strcmp(argv[1], "closeorder") == 0)
		return closeorder(atoi(argv[2]), argv[3]);
	if (argc >= 3 && strcmp(argv[1], "dupsniff") == 0)
		return dupsniff(atoi(argv[2]));
	if (argc >= 3 && strcmp(argv[1], "dupsignal") == 0)
		return dupsignal(atoi(argv[2]));
	fprintf(stderr, "usage: hostile_dup dupserve N | inetd PORT | closeorder PORT HOW | "
			"duprace T K | dupsniff K | dupsignal N\n");
	return 2;
}
