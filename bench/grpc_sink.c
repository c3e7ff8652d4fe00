/* The gRPC collector the benchmarks export to (SkyWalking, OTLP/gRPC): a single-threaded epoll h2c
 * server on nghttp2 that answers every unary or client-streaming call with one empty message and
 * grpc-status 0, so what is measured is the exporter, not a collector's decoding. Protobuf is never
 * parsed: only the 5-byte gRPC length prefixes are followed, to count messages. Counts calls,
 * messages and bytes per method path; prints them as one JSON line on stdout on SIGUSR1 (and goes
 * on) and on SIGTERM/SIGINT (and exits); "requests" (calls) and "body_bytes" (DATA bytes) are
 * named as bench/otlp_sink's. Usage: grpc_sink PORT (0: any; the port is printed on stdout first).
 * Bounded: MAX_CONNS connections (more are closed at once, counted as refused), MAX_STREAMS calls
 * each, OUT_MAX bytes of answers a client has not read before its connection is no longer read. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS   1024
#define MAX_STREAMS 128 /* concurrent streams per connection (SETTINGS) */
#define MAX_PATHS   32	/* distinct paths counted; the rest go under "(other)" */
#define PATH_MAX_   128
#define OUT_MAX	    65536     /* bytes a slow reader may leave unsent before we stop reading */
#define WINDOW	    (4 << 20) /* receive window: bulk exports need not wait for WINDOW_UPDATEs */

struct path_count {
	char path[PATH_MAX_];
	unsigned long long calls, messages, bytes;
};

struct stream {
	int path;	/* index in paths[] */
	uint8_t pre[5]; /* the current message's length prefix, as it arrives */
	unsigned pre_len;
	uint32_t left; /* bytes of the current message still to come */
	unsigned reply_off;
};

struct conn {
	int fd, slot;
	nghttp2_session *s;
	uint8_t out[OUT_MAX]; /* what the socket did not take yet */
	size_t out_len;
	bool want_out; /* EPOLLOUT armed (and EPOLLIN disarmed) */
	bool bad;      /* a protocol error: counted once, when the connection closes */
};

static struct path_count paths[MAX_PATHS + 1]; /* the last one is "(other)" */
static int n_paths;
static unsigned long long n_conn, n_refused, n_bad, n_reset;
static volatile sig_atomic_t stop, dump;

static void on_signal(int s)
{
	if (s == SIGUSR1)
		dump = 1;
	else
		stop = 1;
}

/* The counters as one JSON line. Paths hold only the characters accepted by path_index. */
static void report(void)
{
	unsigned long long calls = 0, msgs = 0, bytes = 0;
	for (int i = 0; i <= MAX_PATHS; i++)
		calls += paths[i].calls, msgs += paths[i].messages, bytes += paths[i].bytes;
	printf(
	    "{\"requests\": %llu, \"messages\": %llu, \"body_bytes\": %llu, \"connections\": %llu, "
	    "\"refused\": %llu, \"bad_connections\": %llu, \"reset_streams\": %llu, \"paths\": {",
	    calls, msgs, bytes, n_conn, n_refused, n_bad, n_reset);
	const char *sep = "";
	for (int i = 0; i <= MAX_PATHS; i++) {
		struct path_count *p = &paths[i];
		if (i == MAX_PATHS && !p->calls && !p->messages && !p->bytes)
			continue;
		if (i < MAX_PATHS && i >= n_paths)
			continue;
		printf("%s\"%s\": {\"calls\": %llu, \"messages\": %llu, \"bytes\": %llu}", sep,
		       i == MAX_PATHS ? "(other)" : p->path, p->calls, p->messages, p->bytes);
		sep = ", ";
	}
	printf("}}\n");
	fflush(stdout);
}

/* The counters' slot for a path: its own while there is room and the path is plain printable
 * ASCII (it goes into JSON unescaped), else "(other)". */
static int path_index(const uint8_t *v, size_t n)
{
	if (n == 0 || n >= PATH_MAX_)
		return MAX_PATHS;
	for (size_t i = 0; i < n; i++)
		if (v[i] <= 0x20 || v[i] >= 0x7f || v[i] == '"' || v[i] == '\\')
			return MAX_PATHS;
	for (int i = 0; i < n_paths; i++)
		if (strlen(paths[i].path) == n && memcmp(paths[i].path, v, n) == 0)
			return i;
	if (n_paths == MAX_PATHS)
		return MAX_PATHS;
	memcpy(paths[n_paths].path, v, n);
	paths[n_paths].path[n] = 0;
	return n_paths++;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	(void)user;
	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct stream *st = calloc(1, sizeof(*st));
	if (!st)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* the stream is reset */
	st->path = MAX_PATHS;
	nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
	return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
		     const uint8_t *value, size_t vl, uint8_t flags, void *user)
{
	(void)flags, (void)user;
	struct stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (st && f->hd.type == NGHTTP2_HEADERS && nl == 5 && memcmp(name, ":path", 5) == 0)
		st->path = path_index(value, vl);
	return 0;
}

/* Follows the length prefixes through the request's DATA: a message is counted once its prefix is
 * in (its body is skipped, whatever it claims to be, without being held). */
static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t n,
		   void *user)
{
	(void)flags, (void)user;
	struct stream *st = nghttp2_session_get_stream_user_data(s, id);
	if (!st)
		return 0;
	struct path_count *p = &paths[st->path];
	p->bytes += n;
	while (n) {
		if (st->left) {
			size_t k = n < st->left ? n : st->left;
			st->left -= (uint32_t)k, d += k, n -= k;
			continue;
		}
		st->pre[st->pre_len++] = *d++;
		n--;
		if (st->pre_len == 5) {
			st->pre_len = 0;
			st->left = (uint32_t)st->pre[1] << 24 | (uint32_t)st->pre[2] << 16 |
				   (uint32_t)st->pre[3] << 8 | st->pre[4];
			p->messages++;
		}
	}
	return 0;
}

/* The reply's body: one empty message (flag 0, length 0), then the trailers. */
static ssize_t reply_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
			  nghttp2_data_source *src, void *user)
{
	(void)src, (void)user;
	struct stream *st = nghttp2_session_get_stream_user_data(s, id);
	static const uint8_t empty[5];
	size_t k = 0;
	if (st) {
		k = 5 - st->reply_off < len ? 5 - st->reply_off : len;
		memcpy(buf, empty, k);
		st->reply_off += (unsigned)k;
		if (st->reply_off < 5)
			return (ssize_t)k;
	}
	*flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
	nghttp2_nv tr[] = {{(uint8_t *)"grpc-status", (uint8_t *)"0", 11, 1, NGHTTP2_NV_FLAG_NONE}};
	if (nghttp2_submit_trailer(s, id, tr, 1) != 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return (ssize_t)k;
}

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE \
	}

/* The request is all in (END_STREAM): answer it, whatever its path. */
static int on_frame(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	(void)user;
	if ((f->hd.type != NGHTTP2_DATA && f->hd.type != NGHTTP2_HEADERS) ||
	    !(f->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	struct stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (!st)
		return 0;
	paths[st->path].calls++;
	static const nghttp2_nv hdrs[] = {NV(":status", "200"),
					  NV("content-type", "application/grpc")};
	nghttp2_data_provider prd = {.read_callback = reply_read};
	if (nghttp2_submit_response(s, f->hd.stream_id, hdrs, 2, &prd) != 0)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
	(void)user;
	struct stream *st = nghttp2_session_get_stream_user_data(s, id);
	if (st && code != NGHTTP2_NO_ERROR)
		n_reset++;
	free(st);
	nghttp2_session_set_stream_user_data(s, id, NULL);
	return 0;
}

/* nghttp2 answers most protocol errors with a GOAWAY rather than failing mem_recv. */
static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	(void)s;
	struct conn *c = user;
	if (f->hd.type == NGHTTP2_GOAWAY && f->goaway.error_code != NGHTTP2_NO_ERROR)
		c->bad = true;
	return 0;
}

static nghttp2_session_callbacks *callbacks;
static struct conn *conns[MAX_CONNS];
static int ep;

static void conn_close(struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	nghttp2_session_del(c->s);
	n_bad += c->bad;
	conns[c->slot] = NULL;
	free(c);
}

/* Writes what nghttp2 has to send, gathered into c->out so that a burst of answers is one send().
 * While the peer does not read, the rest waits in c->out and reading stops (EPOLLOUT only): a
 * client that never reads costs at most OUT_MAX here. Returns -1 to close the connection. */
static int flush_out(struct conn *c)
{
	for (bool more = true; more;) {
		while (c->out_len < OUT_MAX / 2) {
			const uint8_t *d;
			ssize_t n = nghttp2_session_mem_send(c->s, &d);
			if (n < 0)
				return -1;
			if (n == 0) {
				more = false;
				break;
			}
			/* Our frames are small (answers, acks): a bound all the same. */
			if ((size_t)n > OUT_MAX - c->out_len)
				return -1;
			memcpy(c->out + c->out_len, d, (size_t)n);
			c->out_len += (size_t)n;
		}
		size_t off = 0;
		while (off < c->out_len) {
			ssize_t w = send(c->fd, c->out + off, c->out_len - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EAGAIN)
				break;
			if (w <= 0)
				return -1;
			off += (size_t)w;
		}
		memmove(c->out, c->out + off, c->out_len - off);
		c->out_len -= off;
		if (c->out_len)
			break;
	}
	bool want_out = c->out_len > 0;
	if (want_out != c->want_out) {
		struct epoll_event ev = {.events = want_out ? EPOLLOUT : EPOLLIN, .data.ptr = c};
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->want_out = want_out;
	}
	if (!c->out_len && !nghttp2_session_want_read(c->s) && !nghttp2_session_want_write(c->s))
		return -1; /* GOAWAY both ways */
	return 0;
}

static void conn_open(int fd)
{
	int slot = -1, one = 1;
	for (int i = 0; i < MAX_CONNS && slot < 0; i++)
		if (!conns[i])
			slot = i;
	struct conn *c = slot < 0 ? NULL : calloc(1, sizeof(*c));
	if (!c) {
		n_refused++;
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->slot = slot;
	nghttp2_session_server_new(&c->s, callbacks, c);
	nghttp2_settings_entry set[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MAX_STREAMS},
					{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, WINDOW}};
	nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, set, 2);
	nghttp2_session_set_local_window_size(c->s, NGHTTP2_FLAG_NONE, 0, WINDOW);
	conns[slot] = c;
	n_conn++;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	if (flush_out(c))
		conn_close(c);
}

/* Readable (or writable again): reads what is there into nghttp2, then writes its answers. */
static void conn_event(struct conn *c)
{
	static uint8_t buf[1 << 16];
	if (c->want_out) {
		if (flush_out(c))
			conn_close(c);
		return;
	}
	for (;;) {
		ssize_t r = read(c->fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r <= 0) {
			conn_close(c);
			return;
		}
		if (nghttp2_session_mem_recv(c->s, buf, (size_t)r) < 0) {
			c->bad = true; /* not HTTP/2, or an error nghttp2 could not answer */
			conn_close(c);
			return;
		}
		if (flush_out(c)) {
			conn_close(c);
			return;
		}
		if (c->want_out)
			return;
	}
	if (flush_out(c))
		conn_close(c);
}

int main(int argc, char **argv)
{
	char *end;
	long port = argc == 2 ? strtol(argv[1], &end, 10) : -1;
	if (argc != 2 || *end || port < 0 || port > 65535) {
		fprintf(stderr, "usage: grpc_sink PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 512) ||
	    getsockname(ls, (struct sockaddr *)&a, &al)) {
		perror("grpc_sink: listen");
		return 1;
	}
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);

	nghttp2_session_callbacks_new(&callbacks);
	nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data);
	nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame);
	nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_close);
	nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send);

	/* Room for MAX_CONNS connections where the hard limit allows it. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < MAX_CONNS + 16) {
		rl.rlim_cur = rl.rlim_max < MAX_CONNS + 16 ? rl.rlim_max : MAX_CONNS + 16;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	ep = epoll_create1(0);
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev);
	struct epoll_event evs[64];
	struct timespec paused = {0}; /* out of descriptors: the listener rests 100 ms */
	while (!stop) {
		if (dump) {
			dump = 0;
			report();
		}
		if (paused.tv_sec) {
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((now.tv_sec - paused.tv_sec) * 1000 +
				(now.tv_nsec - paused.tv_nsec) / 1000000 >=
			    100) {
				epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev);
				paused.tv_sec = 0;
			}
		}
		int n = epoll_wait(ep, evs, 64, paused.tv_sec ? 100 : 200);
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr) {
				conn_event(evs[i].data.ptr);
				continue;
			}
			int c;
			while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0)
				conn_open(c);
			if (errno == EMFILE || errno == ENFILE) {
				/* Level-triggered, the listener would wake us at once, again and
				 * again; the connections wait in the backlog meanwhile. */
				epoll_ctl(ep, EPOLL_CTL_DEL, ls, NULL);
				clock_gettime(CLOCK_MONOTONIC, &paused);
				paused.tv_sec += !paused.tv_sec; /* 0 means "not paused" */
			}
		}
	}
	report();
	return 0;
}
