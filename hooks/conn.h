/* Per-descriptor connection state, indexed by fd, and the connection spans made from it. Lookups
 * on the data path are two loads; nothing here takes a lock or makes a system call per call. */
#ifndef RS_HOOKS_CONN_H
#define RS_HOOKS_CONN_H

#include "../preload/record.h"
#include "../preload/rs.h"
#include "../preload/thread.h"

#include <sys/socket.h>
#include <sys/uio.h>

struct rs_http;

/* What a connection speaks, decided from its first bytes. */
enum rs_conn_proto { RS_PROTO_UNKNOWN = 0, RS_PROTO_HTTP, RS_PROTO_OTHER };

enum rs_conn_state {
	RS_CONN_NONE = 0,  /* not a descriptor the shim follows */
	RS_CONN_TCP_NEW,   /* TCP socket, not yet connected (maybe bound or listening) */
	/* A duplicate closed, or its number taken by a new socket, in a signal handler that
	 * interrupted a change of the links on its thread (hooks/dup.c): it keeps its place in its
	 * owner's list, which the interrupted change may be walking, but is not followed; the next
	 * change unlinks it. Below CLIENT: the data path passes it by. */
	RS_CONN_ALIAS_STALE,
	RS_CONN_CLIENT,	   /* connected by this process */
	RS_CONN_SERVER,	   /* accepted by this process */
	RS_CONN_ALIAS,	   /* a duplicate (dup, dup2, F_DUPFD) of a followed descriptor: its
			    * connection's state is in another slot, its owner (conn) */
};

struct rs_conn {
	_Atomic uint32_t state;
	uint16_t flags;	       /* RS_SPAN_* flags carried into the span */
	uint16_t local_port;   /* from bind(), the listener, or getsockname() once */
	int16_t err;	       /* errno of a failed connect */
	uint8_t family;
	uint8_t shutdown_how;
	/* The next descriptor (fd + 1, 0 for none) in the list of a connection's descriptors: the
	 * owner's starts it, each alias continues it (hooks/dup.c, under its lock). */
	int32_t next_alias;
	uint64_t start_ns;
	uint64_t shutdown_ns;
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t bytes_out;
	struct rs_addr peer;
	uint8_t proto;	   /* enum rs_conn_proto; read and set through rs_conn_proto() */
	uint8_t sniff_len; /* bytes in sniff (rs_conn_sniffed, rs_conn_put_sniffed) */
	char sniff[8];	   /* the first bytes, while the protocol is undecided */
	uint8_t pad2[2];
	uint64_t first_byte_ns; /* a request's first byte, seen by a MSG_PEEK read */
	/* Per-connection HTTP state, from a pool. Attached once, by compare-and-swap from NULL
	 * (hooks/conn.c, attach); replaced by RS_HTTP_GONE when the slot stops holding the
	 * connection (ended: by exchange; handed over to a duplicate: once the new owner holds it),
	 * so that one slot holds it in the end, and an attach that comes too late fails rather than
	 * leave it where no one would free it. */
	struct rs_http *_Atomic http;
	/* A client connection belongs to the work its thread was doing when it connected. */
	uint8_t parent_trace[16];
	uint8_t parent_span[8]; /* all zero: the connection's span is a root */
	/* The slot holding this descriptor's connection: its own (from the chunk's creation on), or
	 * for a duplicate (an alias) the owner's. What the data path works on, so that following
	 * duplicates costs it one load in place of a register move. */
	struct rs_conn *_Atomic conn;
};
_Static_assert(sizeof(struct rs_conn) == 128, "two cache lines per descriptor");

#define RS_CONN_CHUNK_SHIFT 10
#define RS_CONN_CHUNK (1u << RS_CONN_CHUNK_SHIFT)
#define RS_CONN_CHUNKS 1024 /* descriptors up to 2^20 are followed */

extern struct rs_conn *_Atomic rs_conn_chunks[RS_CONN_CHUNKS];

/* The state of fd's connection if the shim follows it (through whichever of its descriptors),
 * else NULL. For the data path: two loads and a compare on a descriptor not followed. */
static inline struct rs_conn *rs_conn_traced(int fd)
{
	unsigned u = (unsigned)fd;
	if (rs_unlikely(u >= RS_CONN_CHUNK * RS_CONN_CHUNKS))
		return NULL;
	struct rs_conn *chunk =
		atomic_load_explicit(&rs_conn_chunks[u >> RS_CONN_CHUNK_SHIFT], memory_order_acquire);
	if (!chunk)
		return NULL;
	struct rs_conn *c = &chunk[u & (RS_CONN_CHUNK - 1)];
	/* Acquire: a duplicate's conn is published before its state (a plain load on x86). */
	if (atomic_load_explicit(&c->state, memory_order_acquire) < RS_CONN_CLIENT ||
	    rs_thread_passthrough())
		return NULL;
	/* Acquire too: a hand-over publishes the new owner's copied fields before pointing its
	 * duplicates' conn at it. */
	struct rs_conn *conn = atomic_load_explicit(&c->conn, memory_order_acquire);
	if (!conn) /* never: a slot's conn is set with its chunk; saying so saves a test */
		__builtin_unreachable();
	return conn;
}

/* Bytes the program received (not MSG_PEEK) on a followed connection: counted, and parsed
 * when the connection speaks HTTP or may. */
void rs_conn_in(struct rs_conn *c, const char *buf, size_t n);
void rs_conn_in_iov(struct rs_conn *c, const struct iovec *iov, size_t cnt, size_t n);
/* A MSG_PEEK read of n bytes: seen (a request's first byte), not counted or parsed. */
void rs_conn_peeked(struct rs_conn *c, size_t n);

/* Bytes the program sent, when its write was not rewritten. */
void rs_conn_out(struct rs_conn *c, const char *buf, size_t n);
void rs_conn_out_iov(struct rs_conn *c, const struct iovec *iov, size_t cnt, size_t n);
/* Bytes sent without passing through the program's buffers (sendfile). */
void rs_conn_out_opaque(struct rs_conn *c, size_t n);

/* Sends msg the way sendmsg(fd, msg, flags) would, adding trace-context headers to the HTTP
 * requests in it when this connection is an HTTP client that propagates. Returns what the
 * program's call must return: its own bytes sent, or -1 with errno. write, writev, send, sendto
 * and sendmsg all come through here on a client connection. */
ssize_t rs_conn_send(struct rs_conn *c, int fd, const struct msghdr *msg, int flags,
		     ssize_t (*plain)(int fd, const struct msghdr *msg, int flags));

/* Sends the injected bytes a partial send left behind (before sendfile carries the program's
 * next bytes). False with errno set when they could not all go. */
bool rs_conn_flush_injected(struct rs_conn *c, int fd);

/* Decides, from bytes about to be sent, whether an undecided connection speaks HTTP. */
void rs_conn_sniff_out(struct rs_conn *c, const char *buf, size_t n);

/* What a slot's http holds once it no longer holds the connection: its conn names the slot
 * that took it over (itself, when the connection ended). Never dereferenced. */
#define RS_HTTP_GONE ((struct rs_http *)1)

struct rs_http *rs_conn_http_moved(const struct rs_conn *c);

/* c's HTTP state, or NULL. One load on the data path; a data call that found c before a hand-over
 * and parses after it is sent on to the slot that took the connection over. */
static inline struct rs_http *rs_conn_http(const struct rs_conn *c)
{
	/* Acquire: the state's fields, set before it was attached, and c->conn, before GONE. */
	struct rs_http *h = atomic_load_explicit(&c->http, memory_order_acquire);
	if (rs_unlikely(h == RS_HTTP_GONE))
		return rs_conn_http_moved(c);
	return h;
}

/* proto, the sniffed bytes and first_byte_ns are written by data calls while a hand-over on
 * another thread may copy them (hooks/dup.c): relaxed atomic accesses on both sides (plain moves
 * on x86), so neither is a data race. */
static inline uint8_t rs_conn_proto(const struct rs_conn *c)
{
	return __atomic_load_n(&c->proto, __ATOMIC_RELAXED);
}

static inline void rs_conn_set_proto(struct rs_conn *c, uint8_t proto)
{
	__atomic_store_n(&c->proto, proto, __ATOMIC_RELAXED);
}

static inline uint64_t rs_conn_first_byte(const struct rs_conn *c)
{
	return __atomic_load_n(&c->first_byte_ns, __ATOMIC_RELAXED);
}

static inline void rs_conn_set_first_byte(struct rs_conn *c, uint64_t ns)
{
	__atomic_store_n(&c->first_byte_ns, ns, __ATOMIC_RELAXED);
}

/* The same for the fields other hooks set on a connection any thread may be handing over
 * (err, shutdown_how, shutdown_ns; a listener's local_port): relaxed, off the data path. */
#define rs_conn_field(c, f) __atomic_load_n(&(c)->f, __ATOMIC_RELAXED)
#define rs_conn_set_field(c, f, v) __atomic_store_n(&(c)->f, (v), __ATOMIC_RELAXED)

/* Puts n sniffed bytes at position at, then the length (release: a hand-over that reads the
 * length with acquire reads these bytes, not a previous connection's). */
static inline void rs_conn_put_sniffed(struct rs_conn *c, size_t at, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		__atomic_store_n(&c->sniff[at + i], b[i], __ATOMIC_RELAXED);
	__atomic_store_n(&c->sniff_len, (uint8_t)(at + n), __ATOMIC_RELEASE);
}

/* Copies the bytes kept while c is undecided to out (sizeof(c->sniff) room); returns how many. */
static inline size_t rs_conn_sniffed(const struct rs_conn *c, char *out)
{
	size_t k = __atomic_load_n(&c->sniff_len, __ATOMIC_ACQUIRE);
	for (size_t i = 0; i < k && i < sizeof(c->sniff); i++)
		out[i] = __atomic_load_n(&c->sniff[i], __ATOMIC_RELAXED);
	return RS_MIN(k, sizeof(c->sniff));
}

/* Whether writes on c must go through rs_conn_send. */
static inline bool rs_conn_rewrites(const struct rs_conn *c)
{
	return rs_conn_proto(c) != RS_PROTO_OTHER && rs_load_relaxed(&c->state) == RS_CONN_CLIENT;
}

/* Lifecycle events from the socket hooks; each is a no-op for descriptors it does not concern. */
void rs_conn_on_socket(int fd, int domain, int type, int protocol);
void rs_conn_on_bind(int fd, const struct sockaddr *addr, socklen_t len);
void rs_conn_on_connect(int fd, const struct sockaddr *addr, socklen_t len, int result, int err);
/* The asynchronous outcome of a non-blocking connect (SO_ERROR). */
void rs_conn_on_connect_error(int fd, int err);
void rs_conn_on_accept(int listen_fd, int fd, const struct sockaddr *peer, socklen_t len);
void rs_conn_on_shutdown(int fd, int how);

/* fd is being closed (close, dup2 over it, close_range): ends its connection's span when it was
 * the connection's last descriptor; otherwise another of them carries the connection on. */
void rs_conn_on_close(int fd);

/* newfd was made a duplicate of oldfd (dup, dup2, dup3, F_DUPFD, F_DUPFD_CLOEXEC): a followed
 * connection is followed through both. Whatever newfd held must have been closed first. */
void rs_conn_on_dup(int oldfd, int newfd);

/* Ends the spans of every followed descriptor in [first, last]. */
void rs_conn_on_close_range(unsigned first, unsigned last);

/* Lowest and highest fd the shim has followed, for range operations. */
unsigned rs_conn_max_fd(void);

/* Between hooks/conn.c and hooks/dup.c. fd's slot (NULL past the table, or when its chunk was
 * never made and create is false). */
struct rs_conn *rs_conn_slot(int fd, bool create);
/* Takes the slot's connection out of the table, ending its span (with extra_flags) if it was
 * connected. */
void rs_conn_finish(struct rs_conn *c, uint16_t extra_flags);
/* fd no longer refers to what was followed there (closed, or found reused): its connection goes
 * on through another of its descriptors, or ends with flags. False when the slot must keep what
 * it holds for now (a signal handler interrupted a change of the links on this thread): a new
 * socket there is then not followed. */
bool rs_conn_drop(int fd, struct rs_conn *c, uint16_t flags);
/* In a fork child: the lock hooks/dup.c takes is free again. */
void rs_conn_dup_after_fork(void);

#endif
