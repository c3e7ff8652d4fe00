/* Connection tracking: TCP sockets are followed from socket() to close(), and each connection
 * becomes one CLIENT or SERVER span with its peer, local port, bytes each way and duration. */
#include "conn.h"
#include "http.h"
#include "../preload/clock.h"
#include "../preload/config.h"
#include "../preload/http_route.h"
#include "../preload/log.h"
#include "../preload/process.h"
#include "../preload/sys.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/mman.h>

struct rs_conn *_Atomic rs_conn_chunks[RS_CONN_CHUNKS];
static _Atomic unsigned max_fd;

unsigned rs_conn_max_fd(void)
{
	return rs_load_relaxed(&max_fd);
}

/* The entry for fd, creating its chunk (one mmap per 1024 descriptors) when asked to. */
struct rs_conn *rs_conn_slot(int fd, bool create)
{
	unsigned u = (unsigned)fd;
	if (u >= RS_CONN_CHUNK * RS_CONN_CHUNKS)
		return NULL;
	struct rs_conn *_Atomic *cell = &rs_conn_chunks[u >> RS_CONN_CHUNK_SHIFT];
	struct rs_conn *chunk = atomic_load_explicit(cell, memory_order_acquire);
	if (!chunk) {
		if (!create)
			return NULL;
		size_t bytes = RS_CONN_CHUNK * sizeof(struct rs_conn);
		void *mem = rs_sys_mmap(NULL, bytes, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (rs_sys_mmap_failed(mem))
			return NULL;
		/* Each slot its own connection until it is made a duplicate's: never NULL. */
		for (unsigned i = 0; i < RS_CONN_CHUNK; i++)
			rs_store_relaxed(&((struct rs_conn *)mem)[i].conn, &((struct rs_conn *)mem)[i]);
		struct rs_conn *expect = NULL;
		if (atomic_compare_exchange_strong(cell, &expect, (struct rs_conn *)mem)) {
			chunk = mem;
		} else {
			rs_sys_munmap(mem, bytes);
			chunk = expect;
		}
	}
	if (create) {
		unsigned m = rs_load_relaxed(&max_fd);
		while (u > m && !atomic_compare_exchange_weak(&max_fd, &m, u))
			;
	}
	return &chunk[u & (RS_CONN_CHUNK - 1)];
}

static void addr_from(struct rs_addr *out, const struct sockaddr *sa, socklen_t len)
{
	memset(out, 0, sizeof(*out));
	if (!sa)
		return;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		out->family = AF_INET;
		out->port = ntohs(in->sin_port);
		memcpy(out->addr, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		out->family = AF_INET6;
		out->port = ntohs(in6->sin6_port);
		memcpy(out->addr, &in6->sin6_addr, 16);
	}
}

static void emit(const struct rs_conn *c, uint32_t state, uint64_t end_ns, uint16_t extra_flags)
{
	if (!rs_cfg.conn_spans)
		return;
	if ((c->flags & RS_SPAN_INHERITED) && !rs_load_relaxed(&c->bytes_in) &&
	    !rs_load_relaxed(&c->bytes_out))
		return; /* a fork child that never used its copy of the connection */
	union rs_rec *rec = rs_emit_reserve();
	if (!rec)
		return;
	struct rs_rec_span *s = &rec->span;
	memset(s, 0, offsetof(struct rs_rec_span, u) + sizeof(struct rs_tcp_info));
	s->h.type = RS_REC_SPAN;
	s->h.nslots = 1;
	s->h.len = sizeof(*s);
	s->h.tid = (uint32_t)rs_thread_tid();
	s->what = RS_SPAN_TCP;
	s->kind = state == RS_CONN_CLIENT ? RS_KIND_CLIENT : RS_KIND_SERVER;
	int16_t err = rs_conn_field(c, err);
	s->status = err ? RS_STATUS_ERROR : RS_STATUS_UNSET;
	s->flags = c->flags | extra_flags;
	s->err = err;
	static const uint8_t zero[8];
	if (memcmp(c->parent_span, zero, 8) != 0) {
		memcpy(s->trace_id, c->parent_trace, 16);
		memcpy(s->parent_id, c->parent_span, 8);
	} else {
		rs_new_trace_id(s->trace_id);
	}
	rs_new_span_id(s->span_id);
	s->start_ns = c->start_ns;
	s->end_ns = end_ns;
	s->u.tcp.peer = c->peer;
	s->u.tcp.local_port = c->local_port;
	s->u.tcp.bytes_in = rs_load_relaxed(&c->bytes_in);
	s->u.tcp.bytes_out = rs_load_relaxed(&c->bytes_out);
	s->u.tcp.shutdown_how = rs_conn_field(c, shutdown_how);
	s->u.tcp.shutdown_ns = rs_conn_field(c, shutdown_ns);
	rs_emit_commit();
}

/* The connection in c ended: its HTTP state, if any, is closed (its waiting requests end as
 * end). Exchanged, not read: an attach racing this fails on GONE and frees its own. */
static void let_go_http(struct rs_conn *c, uint8_t end)
{
	struct rs_http *h = atomic_exchange(&c->http, RS_HTTP_GONE);
	if (h && h != RS_HTTP_GONE)
		rs_http_close(c, h, end);
}

/* Takes fd's connection out of the table; ends its span (and its HTTP requests) if it was
 * connected. */
void rs_conn_finish(struct rs_conn *c, uint16_t extra_flags)
{
	uint32_t st = atomic_exchange(&c->state, RS_CONN_NONE);
	if (st != RS_CONN_CLIENT && st != RS_CONN_SERVER)
		return;
	let_go_http(c, RS_HTTP_END_ABORTED);
	emit(c, st, rs_epoch_ns(), extra_flags);
}

static void start(struct rs_conn *c, uint32_t state, const struct sockaddr *peer, socklen_t len)
{
	c->flags = 0;
	rs_conn_set_field(c, err, 0);
	rs_conn_set_field(c, shutdown_how, 0);
	rs_conn_set_field(c, shutdown_ns, 0);
	rs_store_relaxed(&c->bytes_in, 0);
	rs_store_relaxed(&c->bytes_out, 0);
	addr_from(&c->peer, peer, len);
	rs_conn_set_proto(c, RS_PROTO_UNKNOWN);
	__atomic_store_n(&c->sniff_len, 0, __ATOMIC_RELAXED); /* before the state's release */
	rs_conn_set_first_byte(c, 0);
	rs_store_relaxed(&c->http, NULL);
	c->next_alias = 0;
	rs_store_relaxed(&c->conn, c);
	c->start_ns = rs_epoch_ns();
	/* Release: the fields above are set before a data hook on another thread sees the state. */
	atomic_store_explicit(&c->state, state, memory_order_release);
}

void rs_conn_on_socket(int fd, int domain, int type, int protocol)
{
	if (domain != AF_INET && domain != AF_INET6)
		return;
	if ((type & 0xf) != SOCK_STREAM ||
	    (protocol != 0 && protocol != IPPROTO_TCP && protocol != IPPROTO_MPTCP))
		return;
	struct rs_conn *c = rs_conn_slot(fd, true);
	if (!c)
		return;
	/* Still followed: its last owner was closed by a raw syscall we could not see. */
	if (!rs_conn_drop(fd, c, RS_SPAN_FD_REUSED))
		return;
	c->family = (uint8_t)domain;
	c->local_port = 0;
	atomic_store_explicit(&c->state, RS_CONN_TCP_NEW, memory_order_release);
}

void rs_conn_on_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct rs_conn *c = rs_conn_slot(fd, false);
	if (!c || rs_load_relaxed(&c->state) != RS_CONN_TCP_NEW)
		return;
	struct rs_addr a;
	addr_from(&a, addr, len);
	c->local_port = a.port;
}

void rs_conn_on_connect(int fd, const struct sockaddr *addr, socklen_t len, int result, int err)
{
	struct rs_conn *c = rs_conn_slot(fd, false);
	if (!c)
		return;
	uint32_t st = rs_load_relaxed(&c->state);
	if (st == RS_CONN_CLIENT) {
		/* A repeated connect() on a non-blocking socket reports how the first one ended. */
		if (result < 0 && err != EALREADY && err != EISCONN && err != EINPROGRESS &&
		    err != EINTR)
			rs_conn_set_field(c, err, (int16_t)err);
		return;
	}
	if (st != RS_CONN_TCP_NEW || !addr ||
	    (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
		return;
	const struct rs_ctx *ctx = rs_t.active.valid ? &rs_t.active : &rs_t.inherited;
	if (ctx->valid) {
		memcpy(c->parent_trace, ctx->trace_id, 16);
		memcpy(c->parent_span, ctx->span_id, 8);
	} else {
		memset(c->parent_span, 0, 8);
	}
	start(c, RS_CONN_CLIENT, addr, len); /* keeps local_port, from bind() if any */
	/* EINPROGRESS and EINTR leave the connection being established in the background. */
	if (result < 0 && err != EINPROGRESS && err != EINTR) {
		rs_conn_set_field(c, err, (int16_t)err);
		rs_conn_finish(c, 0);
		atomic_store_explicit(&c->state, RS_CONN_TCP_NEW, memory_order_release);
	}
}

void rs_conn_on_connect_error(int fd, int err)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (c && rs_load_relaxed(&c->state) == RS_CONN_CLIENT && !rs_load_relaxed(&c->bytes_in) &&
	    !rs_load_relaxed(&c->bytes_out))
		rs_conn_set_field(c, err, (int16_t)err);
}

void rs_conn_on_accept(int listen_fd, int fd, const struct sockaddr *peer, socklen_t len)
{
	if (!peer || (peer->sa_family != AF_INET && peer->sa_family != AF_INET6))
		return;
	struct rs_conn *l = rs_conn_slot(listen_fd, true);
	struct rs_conn *c = rs_conn_slot(fd, true);
	if (!l || !c)
		return;
	uint16_t port = rs_conn_field(l, local_port); /* accepting threads may race to set it */
	if (port == 0) {
		/* A listener inherited through exec: ask the kernel once, then remember. */
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int saved = errno;
		if (getsockname(listen_fd, (struct sockaddr *)&ss, &sl) == 0) {
			struct rs_addr a;
			addr_from(&a, (struct sockaddr *)&ss, sl);
			port = a.port;
			rs_conn_set_field(l, local_port, port);
		}
		errno = saved;
	}
	if (!rs_conn_drop(fd, c, RS_SPAN_FD_REUSED))
		return;
	c->family = peer->sa_family;
	memset(c->parent_span, 0, 8);
	c->local_port = port; /* before start's release of the state */
	start(c, RS_CONN_SERVER, peer, len);
}

void rs_conn_on_shutdown(int fd, int how)
{
	struct rs_conn *c = rs_conn_traced(fd);
	if (c && !rs_conn_field(c, shutdown_how)) {
		rs_conn_set_field(c, shutdown_ns, rs_epoch_ns());
		rs_conn_set_field(c, shutdown_how, (uint8_t)(how + 1));
	}
}

void rs_conn_on_close(int fd)
{
	struct rs_conn *c = rs_conn_slot(fd, false);
	if (c && rs_load_relaxed(&c->state) != RS_CONN_NONE) /* most closes: files, pipes */
		rs_conn_drop(fd, c, 0);
}

void rs_conn_on_close_range(unsigned first, unsigned last)
{
	unsigned top = RS_MIN(last, rs_conn_max_fd());
	for (unsigned fd = first; fd <= top && fd < RS_CONN_CHUNK * RS_CONN_CHUNKS; fd++) {
		if (!atomic_load(&rs_conn_chunks[fd >> RS_CONN_CHUNK_SHIFT])) {
			fd |= RS_CONN_CHUNK - 1; /* skip the whole missing chunk */
			continue;
		}
		rs_conn_on_close((int)fd);
	}
}

/* Calls fn on every connected descriptor's entry, skipping chunks never created. */
static void for_each_connected(void (*fn)(struct rs_conn *c, uint32_t state, uint64_t now))
{
	unsigned top = rs_conn_max_fd();
	uint64_t now = rs_epoch_ns();
	for (unsigned fd = 0; fd <= top; fd++) {
		struct rs_conn *c = rs_conn_slot((int)fd, false);
		if (!c) {
			fd |= RS_CONN_CHUNK - 1;
			continue;
		}
		uint32_t st = rs_load_relaxed(&c->state);
		if (st == RS_CONN_CLIENT || st == RS_CONN_SERVER)
			fn(c, st, now);
	}
}

/* --- the data path: what a connection speaks, and feeding its parser --- */

struct rs_http *rs_conn_http_moved(const struct rs_conn *c)
{
	/* Bounded: each hop is a hand-over that happened during this one data call. */
	for (unsigned hops = 0; hops < 8; hops++) {
		const struct rs_conn *to = rs_load_relaxed(&c->conn);
		if (to == c)
			return NULL; /* the connection ended */
		c = to;
		struct rs_http *h = atomic_load_explicit(&c->http, memory_order_acquire);
		if (h != RS_HTTP_GONE)
			return h;
	}
	return NULL;
}

/* Attaches h, just opened for c's first request, where c's connection is held, and returns the
 * state this data call goes on with, or NULL. Once per connection: a compare-and-swap from NULL,
 * so that of two threads deciding at once one wins (the other frees its own and uses the
 * winner's), and one that lost the slot to a hand-over (GONE) follows it to the slot that took
 * the connection over rather than leave h where no one would free it. */
static struct rs_http *attach(struct rs_conn *c, struct rs_http *h)
{
	struct rs_conn *at = c;
	for (unsigned hops = 0; hops < 8; hops++) {
		struct rs_http *cur = NULL;
		if (atomic_compare_exchange_strong(&at->http, &cur, h)) {
			/* at may have been copied from c before c decided */
			rs_conn_set_proto(at, RS_PROTO_HTTP);
			return h;
		}
		if (cur != RS_HTTP_GONE) {
			rs_http_close(at, h, RS_HTTP_END_ABORTED); /* nothing parsed into it yet */
			return cur;
		}
		/* Acquire (the failed exchange): the hand-over set conn before GONE. */
		struct rs_conn *to = rs_load_relaxed(&at->conn);
		if (to == at)
			break; /* the connection ended under this call */
		at = to;
	}
	rs_http_close(c, h, RS_HTTP_END_ABORTED);
	return NULL;
}

/* Decides from the first bytes of the request direction whether c speaks HTTP. Bytes seen in
 * earlier calls wait in c->sniff; with HTTP decided they are fed first. Returns the HTTP state
 * the bytes go to once HTTP is decided, else NULL. */
static struct rs_http *sniff(struct rs_conn *c, const char *buf, size_t n, bool out)
{
	bool server = rs_load_relaxed(&c->state) == RS_CONN_SERVER;
	if (!rs_cfg.http || out == server) {
		/* The side that should listen spoke first: not an HTTP/1.x exchange. */
		rs_conn_set_proto(c, RS_PROTO_OTHER);
		return NULL;
	}
	char head[sizeof(c->sniff)];
	size_t k = rs_conn_sniffed(c, head), add = RS_MIN(n, sizeof(head) - k);
	memcpy(head + k, buf, add);
	int v = rs_http_sniff_request(head, k + add);
	if (v == 0 || (v < 0 && k + add == sizeof(head))) {
		rs_conn_set_proto(c, RS_PROTO_OTHER);
		return NULL;
	}
	if (v < 0)
		return NULL; /* undecided: the caller keeps the bytes once they have passed */
	struct rs_http *mine = rs_http_open(c, server);
	struct rs_http *h = mine ? attach(c, mine) : NULL;
	if (!h) {
		rs_conn_set_proto(c, RS_PROTO_OTHER);
		return NULL;
	}
	rs_conn_set_proto(c, RS_PROTO_HTTP);
	if (k && h == mine) /* else the winner of the attach fed them */
		rs_http_requests(c, h, head, k);
	return h;
}

void rs_conn_sniff_out(struct rs_conn *c, const char *buf, size_t n)
{
	if (rs_conn_proto(c) == RS_PROTO_UNKNOWN)
		sniff(c, buf, n, true);
}

/* The first bytes, kept while undecided. */
static void keep_sniffed(struct rs_conn *c, const char *buf, size_t n)
{
	size_t k = __atomic_load_n(&c->sniff_len, __ATOMIC_RELAXED);
	rs_conn_put_sniffed(c, k, buf, RS_MIN(n, sizeof(c->sniff) - k));
}

/* Bytes that passed in one direction: parsed according to what c speaks. */
static void passed(struct rs_conn *c, const char *buf, size_t n, bool out)
{
	struct rs_http *h = NULL;
	uint8_t proto = rs_conn_proto(c);
	if (proto == RS_PROTO_UNKNOWN) {
		h = sniff(c, buf, n, out);
		if (rs_conn_proto(c) == RS_PROTO_UNKNOWN)
			keep_sniffed(c, buf, n);
	} else if (proto == RS_PROTO_HTTP) {
		h = rs_conn_http(c);
	}
	if (!h)
		return;
	/* The side from h, not c's state: c may have been handed over during this call. */
	if (h->server != out) /* server in, client out */
		rs_http_requests(c, h, buf, n);
	else
		rs_http_responses(c, h, buf, n);
}

/* The n bytes a call moved, buffer by buffer: counted once, and parsed in order unless c
 * speaks another protocol. Inline: a one-buffer call's loop folds away. */
static inline void passed_iov(struct rs_conn *c, _Atomic uint64_t *count, const struct iovec *iov,
			      size_t cnt, size_t n, bool out)
{
	rs_add_relaxed(count, n);
	if (rs_conn_proto(c) == RS_PROTO_OTHER)
		return;
	int saved = errno;
	for (size_t i = 0; i < cnt && n; i++) {
		size_t k = RS_MIN(iov[i].iov_len, n);
		passed(c, iov[i].iov_base, k, out);
		n -= k;
	}
	errno = saved;
}

void rs_conn_in(struct rs_conn *c, const char *buf, size_t n)
{
	passed_iov(c, &c->bytes_in, &(struct iovec){(void *)buf, n}, 1, n, false);
}

void rs_conn_in_iov(struct rs_conn *c, const struct iovec *iov, size_t cnt, size_t n)
{
	passed_iov(c, &c->bytes_in, iov, cnt, n, false);
}

void rs_conn_peeked(struct rs_conn *c, size_t n)
{
	if (!n || rs_conn_first_byte(c) || rs_load_relaxed(&c->state) != RS_CONN_SERVER)
		return;
	uint8_t proto = rs_conn_proto(c);
	const struct rs_http *h = proto == RS_PROTO_HTTP ? rs_conn_http(c) : NULL;
	if (proto == RS_PROTO_UNKNOWN || (h && !h->building))
		rs_conn_set_first_byte(c, rs_epoch_ns());
}

void rs_conn_out(struct rs_conn *c, const char *buf, size_t n)
{
	passed_iov(c, &c->bytes_out, &(struct iovec){(void *)buf, n}, 1, n, true);
}

void rs_conn_out_iov(struct rs_conn *c, const struct iovec *iov, size_t cnt, size_t n)
{
	passed_iov(c, &c->bytes_out, iov, cnt, n, true);
}

void rs_conn_out_opaque(struct rs_conn *c, size_t n)
{
	rs_add_relaxed(&c->bytes_out, n);
	uint8_t proto = rs_conn_proto(c);
	if (proto == RS_PROTO_UNKNOWN) {
		rs_conn_set_proto(c, RS_PROTO_OTHER); /* a first message we cannot see */
		return;
	}
	struct rs_http *h = proto == RS_PROTO_HTTP ? rs_conn_http(c) : NULL;
	if (h) {
		int saved = errno;
		rs_http_skip(c, h, !h->server, n);
		errno = saved;
	}
}

/* At exit: connections still open end now, marked as such. */
static void end_at_exit(struct rs_conn *c, uint32_t state, uint64_t now)
{
	let_go_http(c, RS_HTTP_END_EXIT);
	emit(c, state, now, RS_SPAN_ENDED_BY_EXIT);
}

/* In a fork child: connections are shared with the parent; the child reports its own use only. */
static void mark_inherited(struct rs_conn *c, uint32_t state, uint64_t now)
{
	(void)state;
	c->flags |= RS_SPAN_INHERITED;
	c->start_ns = now;
	struct rs_http *h = rs_conn_http(c);
	if (h)
		rs_http_after_fork(h);
	rs_store_relaxed(&c->bytes_in, 0);
	rs_store_relaxed(&c->bytes_out, 0);
}

static void conn_at_exit(void)
{
	for_each_connected(end_at_exit);
	/* Every connection's HTTP state has just been closed: any still held belongs to none, and
	 * the requests in it are not reported. Said, so that the races around attaching and
	 * handing it over (attach, hooks/dup.c's hand_over) cannot lose it silently. */
	uint32_t held = rs_http_held();
	if (held)
		rs_log(RS_LOG_WARN, "%u HTTP connection states held by no connection at exit: their "
				    "requests are not reported", held);
}

static void conn_after_fork(void)
{
	rs_conn_dup_after_fork();
	for_each_connected(mark_inherited);
}

__attribute__((constructor(102))) static void rs_conn_init(void)
{
	if (!rs_load_relaxed(&rs_active))
		return;
	rs_conn_slot(0, true); /* the first chunk, so most programs never map one from a hook */
	rs_process_at_exit(conn_at_exit);
	rs_process_at_fork_child(conn_after_fork);
}
