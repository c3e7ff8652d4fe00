/* The TLS layer of tls.h: OpenSSL (libssl.so.3, loaded with dlopen on first use) drives a client
 * session over a BIO pair; this file moves the pair's network side through the loop, one send and
 * one receive at a time, and runs the caller's plaintext operations as OpenSSL allows. Everything
 * that happens is worked out in progress(); callbacks run only from loop completions. */
#include "tls.h"
#include "../preload/clock.h"
#include "../preload/log.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAIR_BUF     (64u << 10) /* each direction of the BIO pair: a full TLS record and more */
#define NET_BUF	     (16u << 10)
#define WRITE_MAX    (16u << 10) /* plaintext per SSL_write: one record */
#define NET_DEFAULT_NS 10000000000ull /* a network send no caller bounds (handshake, alerts) */
#define LOG_AGAIN_NS 60000000000ull	   /* the same failure is said again after a minute */

/* The OpenSSL functions used, resolved once from libssl.so.3 (libcrypto's come through it). */
#define SSL_FUNCS(X)                                                                               \
	X(OPENSSL_init_ssl)                                                                        \
	X(TLS_client_method)                                                                       \
	X(SSL_CTX_new)                                                                             \
	X(SSL_CTX_free)                                                                            \
	X(SSL_CTX_ctrl)                                                                            \
	X(SSL_CTX_set_verify)                                                                      \
	X(SSL_CTX_set_default_verify_paths)                                                        \
	X(SSL_CTX_load_verify_locations)                                                           \
	X(SSL_CTX_set_alpn_protos)                                                                 \
	X(SSL_CTX_use_certificate_chain_file)                                                      \
	X(SSL_CTX_use_PrivateKey_file)                                                             \
	X(SSL_CTX_check_private_key)                                                               \
	X(SSL_new)                                                                                 \
	X(SSL_free)                                                                                \
	X(SSL_set_bio)                                                                             \
	X(SSL_set_connect_state)                                                                   \
	X(SSL_ctrl)                                                                                \
	X(SSL_set1_host)                                                                           \
	X(SSL_get0_param)                                                                          \
	X(X509_VERIFY_PARAM_set1_ip_asc)                                                           \
	X(SSL_do_handshake)                                                                        \
	X(SSL_read)                                                                                \
	X(SSL_write)                                                                               \
	X(SSL_get_error)                                                                           \
	X(SSL_get_verify_result)                                                                   \
	X(SSL_get0_alpn_selected)                                                                  \
	X(BIO_new_bio_pair)                                                                        \
	X(BIO_read)                                                                                \
	X(BIO_write)                                                                               \
	X(BIO_free)                                                                                \
	X(BIO_ctrl_pending)                                                                        \
	X(X509_verify_cert_error_string)                                                           \
	X(ERR_get_error)                                                                           \
	X(ERR_error_string_n)                                                                      \
	X(ERR_clear_error)

static struct {
	bool tried, ok;
#define X(f) __typeof__(f) *f;
	SSL_FUNCS(X)
#undef X
} L;

static bool load(const char *what)
{
	if (L.tried)
		return L.ok;
	L.tried = true;
	void *h = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		rs_log(RS_LOG_ERROR, "%s: cannot load OpenSSL (%s); install libssl3", what,
		       dlerror());
		return false;
	}
#define X(f)                                                                                       \
	L.f = (__typeof__(f) *)dlsym(h, #f);                                                       \
	if (!L.f) {                                                                                \
		rs_log(RS_LOG_ERROR, "%s: libssl.so.3 has no %s", what, #f);                       \
		return false;                                                                      \
	}
	SSL_FUNCS(X)
#undef X
	/* No atexit cleanup: the reporter's last flush runs from the shim's destructor, after
	 * atexit handlers, and must still find OpenSSL whole. */
	if (!L.OPENSSL_init_ssl(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_LOAD_SSL_STRINGS, NULL)) {
		rs_log(RS_LOG_ERROR, "%s: OpenSSL did not initialize", what);
		return false;
	}
	L.ok = true;
	return true;
}

/* False once OpenSSL was cleaned up: the program's own use of OpenSSL registers OPENSSL_cleanup
 * with atexit, and the shim's last flush runs after atexit handlers, from its destructor. From
 * then on no OpenSSL object may be touched (they would be used or freed after their library
 * state is gone): sessions fail, and what they hold is left to the process's end. The check
 * itself is safe then: OPENSSL_init_ssl looks at its "stopped" flag first. */
static bool usable(void)
{
	return L.ok && L.OPENSSL_init_ssl(0, NULL) == 1;
}

struct rs_tls_ctx {
	SSL_CTX *ctx;
	bool alpn;
	char what[200];
	char said[256]; /* the last failure said on stderr, and when */
	uint64_t said_at;
};

/* The reason OpenSSL's error queue holds, or fallback. */
static const char *ssl_reason(char *buf, size_t cap, const char *fallback)
{
	unsigned long e, last = 0;
	while ((e = L.ERR_get_error()) != 0)
		last = e;
	if (!last)
		return fallback;
	L.ERR_error_string_n(last, buf, cap);
	return buf;
}

struct rs_tls_ctx *rs_tls_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
				  const char *alpn, const char *what)
{
	if (!load(what) || !usable())
		return NULL;
	struct rs_tls_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	snprintf(x->what, sizeof(x->what), "%s", what);
	char why[256];
	const char *fail = NULL, *file = "";
	L.ERR_clear_error();
	x->ctx = L.SSL_CTX_new(L.TLS_client_method());
	if (!x->ctx) {
		fail = "cannot make a TLS context";
		goto out;
	}
	L.SSL_CTX_ctrl(x->ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
	L.SSL_CTX_set_verify(x->ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file && *ca_file) {
		file = ca_file;
		if (L.SSL_CTX_load_verify_locations(x->ctx, ca_file, NULL) != 1)
			fail = "cannot use the CA certificate file";
	} else if (L.SSL_CTX_set_default_verify_paths(x->ctx) != 1) {
		fail = "cannot use the system's CA certificates";
	}
	if (!fail && cert_file && *cert_file) {
		file = cert_file;
		if (L.SSL_CTX_use_certificate_chain_file(x->ctx, cert_file) != 1) {
			fail = "cannot use the client certificate file";
		} else if (!key_file || !*key_file) {
			fail = "has a client certificate but no client key";
		} else {
			file = key_file;
			if (L.SSL_CTX_use_PrivateKey_file(x->ctx, key_file, SSL_FILETYPE_PEM) != 1 ||
			    L.SSL_CTX_check_private_key(x->ctx) != 1)
				fail = "cannot use the client key file"; /* OpenSSL: mismatch? */
		}
	} else if (!fail && key_file && *key_file) {
		fail = "has a client key but no client certificate";
	}
	/* ALPN "h2": a gRPC server over TLS serves HTTP/2 only to a client that asks for it. */
	if (!fail && alpn) {
		unsigned char p[32];
		size_t n = strlen(alpn);
		if (n >= sizeof(p)) {
			fail = "has an ALPN name too long";
		} else {
			p[0] = (unsigned char)n;
			memcpy(p + 1, alpn, n);
			if (L.SSL_CTX_set_alpn_protos(x->ctx, p, (unsigned)n + 1) != 0)
				fail = "cannot ask for ALPN";
			x->alpn = true;
		}
	}
out:
	if (fail) {
		rs_log(RS_LOG_ERROR, "%s: TLS %s%s%.200s (%s); nothing is sent", what, fail,
		       *file ? " " : "", file, ssl_reason(why, sizeof(why), "no detail"));
		rs_tls_ctx_free(x);
		return NULL;
	}
	return x;
}

void rs_tls_ctx_free(struct rs_tls_ctx *x)
{
	if (!x)
		return;
	if (x->ctx && usable())
		L.SSL_CTX_free(x->ctx);
	free(x);
}

/* A caller's plaintext operation. */
struct user {
	struct rs_loop_op *op; /* NULL: none */
	uint8_t *buf;
	size_t len;
	uint64_t deadline; /* 0: none */
	size_t wrote;	   /* send: plaintext OpenSSL took, its records not yet all sent */
	bool blocked;	   /* waits for bytes from the network */
	bool done;
	int res;
};

struct rs_tls {
	struct rs_tls_ctx *x;
	struct rs_loop *loop;
	int sock;
	SSL *ssl;
	BIO *net; /* the pair's network side */
	char host[256];
	bool shook, freed, net_eof, posted;
	bool net_sending, net_receiving;
	int err; /* sticky failure */
	struct user snd, rcv;
	struct rs_loop_op send_op, recv_op, post_op;
	unsigned depth; /* inside a loop callback of this session */
	uint8_t out[NET_BUF];
	size_t out_len, out_off;
	uint8_t in[NET_BUF];
	size_t in_len, in_off;
};

static void on_net_send(struct rs_loop_op *op, int res);
static void on_net_recv(struct rs_loop_op *op, int res);
static void on_post(struct rs_loop_op *op, int res);

struct rs_tls *rs_tls_new(struct rs_tls_ctx *x, struct rs_loop *loop, int sock, const char *host,
			  int *err)
{
	*err = -ENOMEM;
	struct rs_tls *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->x = x;
	t->loop = loop;
	t->sock = sock;
	snprintf(t->host, sizeof(t->host), "%s", host);
	t->send_op.cb = on_net_send;
	t->recv_op.cb = on_net_recv;
	t->post_op.cb = on_post;
	if (!usable()) {
		RS_LOG_ONCE(RS_LOG_WARN, "%s: the program's OpenSSL was cleaned up (at exit) before the "
					 "shim's last flush: what is left is not sent",
			    x->what);
		free(t);
		*err = -ESHUTDOWN;
		return NULL;
	}
	L.ERR_clear_error();
	BIO *inner = NULL;
	t->ssl = L.SSL_new(x->ctx);
	char why[200];
	if (!t->ssl || L.BIO_new_bio_pair(&inner, PAIR_BUF, &t->net, PAIR_BUF) != 1) {
		rs_log(RS_LOG_ERROR, "%s: TLS session: %s", x->what,
		       ssl_reason(why, sizeof(why), "out of memory"));
		if (t->ssl)
			L.SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	L.SSL_set_bio(t->ssl, inner, inner);
	L.SSL_set_connect_state(t->ssl);
	unsigned char a[16];
	int ok;
	if (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1) {
		ok = L.X509_VERIFY_PARAM_set1_ip_asc(L.SSL_get0_param(t->ssl), host);
	} else {
		ok = L.SSL_set1_host(t->ssl, host) == 1 &&
		     L.SSL_ctrl(t->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
				(void *)host) == 1;
	}
	if (!ok) { /* never connect without checking the name */
		rs_log(RS_LOG_ERROR, "%s: TLS cannot check the name %s: %s", x->what, host,
		       ssl_reason(why, sizeof(why), "refused"));
		rs_tls_free(t);
		*err = -EINVAL;
		return NULL;
	}
	*err = 0;
	return t;
}

/* One line on stderr per distinct failure a minute: every retry would otherwise repeat it. */
static void say(struct rs_tls *t, const char *fmt, const char *detail)
{
	char line[256];
	snprintf(line, sizeof(line), fmt, detail);
	uint64_t now = rs_mono_ns();
	if (strcmp(line, t->x->said) == 0 && now - t->x->said_at < LOG_AGAIN_NS)
		return;
	snprintf(t->x->said, sizeof(t->x->said), "%s", line);
	t->x->said_at = now;
	rs_log(RS_LOG_ERROR, "%s: TLS with %s: %s", t->x->what, t->host, line);
}

static void fail(struct rs_tls *t, int err)
{
	if (!t->err)
		t->err = err;
	struct user *u[] = {&t->snd, &t->rcv};
	for (size_t i = 0; i < 2; i++) {
		if (u[i]->op && !u[i]->done) {
			u[i]->done = true;
			u[i]->res = t->err;
		}
	}
}

/* What an OpenSSL call's failure means for the session (ret: its return value). */
static void ssl_failed(struct rs_tls *t, int ret)
{
	int e = L.SSL_get_error(t->ssl, ret);
	char why[200];
	if (e == SSL_ERROR_ZERO_RETURN) {
		fail(t, -ECONNRESET);
		return;
	}
	long v = L.SSL_get_verify_result(t->ssl);
	if (!t->shook && v != X509_V_OK) {
		L.ERR_clear_error();
		say(t, "certificate verify failed: %s; the batch is not delivered",
		    L.X509_verify_cert_error_string(v));
		fail(t, -EKEYREJECTED);
		return;
	}
	say(t, "%s", ssl_reason(why, sizeof(why), "protocol error"));
	fail(t, -EPROTO);
}

static uint64_t left(uint64_t deadline, uint64_t now)
{
	return deadline > now ? deadline - now : 1;
}

/* Starts what the network side needs: the pair's ciphertext out, a receive when someone waits. */
static void net_io(struct rs_tls *t)
{
	uint64_t now = rs_mono_ns();
	if (!t->net_sending && !t->err) {
		if (t->out_off == t->out_len) {
			t->out_off = t->out_len = 0;
			int n = L.BIO_read(t->net, t->out, sizeof(t->out));
			if (n > 0)
				t->out_len = (size_t)n;
		}
		if (t->out_off < t->out_len) {
			uint64_t to = t->snd.op && t->snd.deadline ? left(t->snd.deadline, now)
								   : NET_DEFAULT_NS;
			t->net_sending = true;
			if (rs_loop_send(t->loop, t->sock, t->out + t->out_off, t->out_len - t->out_off,
					 to, &t->send_op) < 0) {
				t->net_sending = false;
				fail(t, -EBUSY);
			}
		}
	}
	bool want = (t->snd.op && t->snd.blocked) || (t->rcv.op && t->rcv.blocked);
	if (want && !t->net_receiving && !t->net_eof && !t->err && t->in_off == t->in_len) {
		/* Bounded by the earliest deadline of those waiting; none: wait as long as it takes. */
		uint64_t to = 0;
		struct user *u[] = {&t->snd, &t->rcv};
		for (size_t i = 0; i < 2; i++)
			if (u[i]->op && u[i]->blocked && u[i]->deadline)
				to = to ? RS_MIN(to, left(u[i]->deadline, now))
					: left(u[i]->deadline, now);
		t->net_receiving = true;
		if (rs_loop_recv(t->loop, t->sock, t->in, sizeof(t->in), to, &t->recv_op) < 0) {
			t->net_receiving = false;
			fail(t, -EBUSY);
		}
	}
}

/* Feeds what arrived into the pair; true when anything went in. */
static bool feed(struct rs_tls *t)
{
	bool any = false;
	while (t->in_off < t->in_len) {
		int n = L.BIO_write(t->net, t->in + t->in_off, (int)(t->in_len - t->in_off));
		if (n <= 0)
			break;
		t->in_off += (size_t)n;
		any = true;
	}
	return any;
}

/* Advances the handshake and the caller's operations as far as the bytes at hand allow. */
static void progress(struct rs_tls *t)
{
	if (!t->err && !usable())
		t->err = -ESHUTDOWN;
	for (int round = 0; round < 8 && !t->err; round++) {
		bool fed = feed(t);
		t->snd.blocked = t->rcv.blocked = false;
		L.ERR_clear_error();
		if (!t->shook && (t->snd.op || t->rcv.op)) {
			int r = L.SSL_do_handshake(t->ssl);
			if (r == 1) {
				t->shook = true;
				const unsigned char *p = NULL;
				unsigned n = 0;
				L.SSL_get0_alpn_selected(t->ssl, &p, &n);
				if (t->x->alpn && n == 0) {
					say(t, "%s", "the server did not agree to HTTP/2 (ALPN h2)");
					fail(t, -EPROTO);
					break;
				}
			} else {
				int e = L.SSL_get_error(t->ssl, r);
				if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
					ssl_failed(t, r);
					break;
				}
				/* WANT_WRITE: the records out make room (net_io below). */
				t->snd.blocked = t->snd.op && e == SSL_ERROR_WANT_READ;
				t->rcv.blocked = t->rcv.op && e == SSL_ERROR_WANT_READ;
			}
		}
		if (t->shook && t->rcv.op && !t->rcv.done) {
			int r = L.SSL_read(t->ssl, t->rcv.buf, (int)RS_MIN(t->rcv.len, (size_t)INT32_MAX));
			if (r > 0) {
				t->rcv.done = true;
				t->rcv.res = r;
			} else {
				int e = L.SSL_get_error(t->ssl, r);
				if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify */
					t->rcv.done = true;
					t->rcv.res = 0;
				} else if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
					t->rcv.blocked = e == SSL_ERROR_WANT_READ;
				} else {
					ssl_failed(t, r);
					break;
				}
			}
		}
		if (t->shook && t->snd.op && !t->snd.done && !t->snd.wrote) {
			int r = L.SSL_write(t->ssl, t->snd.buf, (int)RS_MIN(t->snd.len, (size_t)WRITE_MAX));
			if (r > 0) {
				t->snd.wrote = (size_t)r;
			} else {
				int e = L.SSL_get_error(t->ssl, r);
				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
					t->snd.blocked = e == SSL_ERROR_WANT_READ;
				} else {
					ssl_failed(t, r);
					break;
				}
			}
		}
		net_io(t);
		/* A send is done once its records have all left. */
		if (t->snd.op && t->snd.wrote && !t->snd.done && !t->net_sending &&
		    L.BIO_ctrl_pending(t->net) == 0) {
			t->snd.done = true;
			t->snd.res = (int)t->snd.wrote;
		}
		/* The peer closed: whoever still waits for bytes will not get them. */
		if (t->net_eof && t->in_off == t->in_len && !fed) {
			if (!t->shook && (t->snd.blocked || t->rcv.blocked)) {
				say(t, "%s", "the server closed the connection during the handshake");
				fail(t, -ECONNRESET);
			} else if (t->rcv.op && t->rcv.blocked && !t->rcv.done) {
				t->rcv.done = true;
				t->rcv.res = 0;
			} else if (t->snd.op && t->snd.blocked) {
				fail(t, -EPIPE);
			}
			break;
		}
		if (!fed)
			break;
	}
	if (t->err)
		fail(t, t->err);
}

static void release(struct rs_tls *t)
{
	if (!t->freed || t->depth || t->net_sending || t->net_receiving || t->posted || t->snd.op ||
	    t->rcv.op)
		return;
	if (usable()) {
		L.SSL_free(t->ssl); /* frees the inner BIO */
		L.BIO_free(t->net);
	}
	free(t);
}

/* Runs the callbacks of finished operations (from a loop completion only). */
static void deliver(struct rs_tls *t)
{
	struct user *u[] = {&t->snd, &t->rcv};
	for (size_t i = 0; i < 2; i++) {
		if (!u[i]->op || !u[i]->done)
			continue;
		struct rs_loop_op *op = u[i]->op;
		int res = u[i]->res;
		memset(u[i], 0, sizeof(*u[i]));
		op->cb(op, res);
	}
}

/* A loop completion: work out what it changed, tell the callers, free if let go. */
static void completed(struct rs_tls *t)
{
	t->depth++;
	progress(t);
	deliver(t);
	t->depth--;
	release(t);
}

static void on_net_send(struct rs_loop_op *op, int res)
{
	struct rs_tls *t = (struct rs_tls *)((char *)op - offsetof(struct rs_tls, send_op));
	t->net_sending = false;
	if (res <= 0)
		fail(t, res < 0 ? res : -EPIPE);
	else
		t->out_off += (size_t)res;
	completed(t);
}

static void on_net_recv(struct rs_loop_op *op, int res)
{
	struct rs_tls *t = (struct rs_tls *)((char *)op - offsetof(struct rs_tls, recv_op));
	t->net_receiving = false;
	if (res == 0) {
		t->net_eof = true;
	} else if (res > 0) {
		t->in_off = 0;
		t->in_len = (size_t)res;
	} else if (res != -ETIMEDOUT || t->snd.blocked || t->rcv.blocked) {
		/* (a timeout nobody waits for any more is no failure) */
		fail(t, res);
	}
	completed(t);
}

static void on_post(struct rs_loop_op *op, int res)
{
	(void)res;
	struct rs_tls *t = (struct rs_tls *)((char *)op - offsetof(struct rs_tls, post_op));
	t->posted = false;
	completed(t);
}

/* After a caller's call: what finished at once is told from the loop's next run. */
static int kick(struct rs_tls *t, struct user *u)
{
	progress(t);
	bool any = (t->snd.op && t->snd.done) || (t->rcv.op && t->rcv.done);
	if (!any || t->posted)
		return 0;
	t->posted = true;
	if (rs_loop_post(t->loop, &t->post_op) < 0) {
		t->posted = false;
		if (u && u->done) { /* cannot be told later: refuse the call instead */
			memset(u, 0, sizeof(*u));
			return -EBUSY;
		}
	}
	return 0;
}

static int start(struct rs_tls *t, struct user *u, const void *buf, size_t len,
		 uint64_t timeout_ns, struct rs_loop_op *op)
{
	if (u->op || t->freed)
		return -EBUSY;
	*u = (struct user){.op = op, .buf = (uint8_t *)buf, .len = len};
	if (timeout_ns)
		u->deadline = rs_mono_ns() + timeout_ns;
	if (t->err || len == 0) {
		u->done = true;
		u->res = t->err;
	}
	return kick(t, u);
}

int rs_tls_send(struct rs_tls *t, const void *buf, size_t len, uint64_t timeout_ns,
		struct rs_loop_op *op)
{
	return start(t, &t->snd, buf, len, timeout_ns, op);
}

int rs_tls_recv(struct rs_tls *t, void *buf, size_t len, uint64_t timeout_ns,
		struct rs_loop_op *op)
{
	return start(t, &t->rcv, buf, len, timeout_ns, op);
}

void rs_tls_free(struct rs_tls *t)
{
	if (!t || t->freed)
		return;
	t->freed = true;
	fail(t, -ECANCELED);
	kick(t, NULL);
	release(t);
}
