/* The TLS layer of tls.h: OpenSSL (see tls_lib.c) drives a client session over a BIO pair; this
 * file moves the pair's network side through the loop, one send and one receive at a time, and
 * runs the caller's plaintext operations as OpenSSL allows. Everything that happens is worked out
 * in progress(); callbacks run only from loop completions. */
#include "../preload/clock.h"
#include "../preload/log.h"
#include "tls_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAIR_BUF       (64u << 10) /* each direction of the BIO pair: a full record and more */
#define NET_BUF	       (16u << 10)
#define WRITE_MAX      (16u << 10)    /* plaintext per SSL_write: one record */
#define NET_DEFAULT_NS 10000000000ull /* a network send no caller bounds (handshake, alerts) */
#define LOG_AGAIN_NS   60000000000ull /* the same failure is said again after a minute */

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

static struct rs_tls *session_new(struct rs_tls_ctx *x, struct rs_loop *loop, int sock,
				  const char *host, int *err)
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
	if (!rs_tls_usable()) {
		RS_LOG_ONCE(RS_LOG_WARN,
			    "%s: the program's OpenSSL was cleaned up (at exit) before the "
			    "shim's last flush: what is left is not sent",
			    x->what);
		free(t);
		*err = -ESHUTDOWN;
		return NULL;
	}
	rs_ssl.ERR_clear_error();
	BIO *inner = NULL;
	t->ssl = rs_ssl.SSL_new(x->ctx);
	char why[200];
	if (!t->ssl || rs_ssl.BIO_new_bio_pair(&inner, PAIR_BUF, &t->net, PAIR_BUF) != 1) {
		rs_log(RS_LOG_ERROR, "%s: TLS session: %s", x->what,
		       rs_tls_reason(why, sizeof(why), "out of memory"));
		if (t->ssl)
			rs_ssl.SSL_free(t->ssl);
		free(t);
		return NULL;
	}
	rs_ssl.SSL_set_bio(t->ssl, inner, inner);
	rs_ssl.SSL_set_connect_state(t->ssl);
	unsigned char a[16];
	int ok;
	if (inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1) {
		ok = rs_ssl.X509_VERIFY_PARAM_set1_ip_asc(rs_ssl.SSL_get0_param(t->ssl), host);
	} else {
		ok = rs_ssl.SSL_set1_host(t->ssl, host) == 1 &&
		     rs_ssl.SSL_ctrl(t->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME,
				     TLSEXT_NAMETYPE_host_name, (void *)host) == 1;
	}
	if (!ok) { /* never connect without checking the name */
		rs_log(RS_LOG_ERROR, "%s: TLS cannot check the name %s: %s", x->what, host,
		       rs_tls_reason(why, sizeof(why), "refused"));
		rs_tls_free(t);
		*err = -EINVAL;
		return NULL;
	}
	*err = 0;
	return t;
}

struct rs_tls *rs_tls_new(struct rs_tls_ctx *x, struct rs_loop *loop, int sock, const char *host,
			  int *err)
{
	rs_tls_enter();
	struct rs_tls *t = session_new(x, loop, sock, host, err);
	rs_tls_leave();
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
	int e = rs_ssl.SSL_get_error(t->ssl, ret);
	char why[200];
	if (e == SSL_ERROR_ZERO_RETURN) {
		fail(t, -ECONNRESET);
		return;
	}
	long v = rs_ssl.SSL_get_verify_result(t->ssl);
	if (!t->shook && v != X509_V_OK) {
		rs_ssl.ERR_clear_error();
		say(t, "certificate verify failed: %s",
		    rs_ssl.X509_verify_cert_error_string(v));
		fail(t, -EKEYREJECTED);
		return;
	}
	say(t, "%s", rs_tls_reason(why, sizeof(why), "protocol error"));
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
			int n = rs_ssl.BIO_read(t->net, t->out, sizeof(t->out));
			if (n > 0)
				t->out_len = (size_t)n;
		}
		if (t->out_off < t->out_len) {
			uint64_t to = t->snd.op && t->snd.deadline ? left(t->snd.deadline, now)
								   : NET_DEFAULT_NS;
			t->net_sending = true;
			if (rs_loop_send(t->loop, t->sock, t->out + t->out_off,
					 t->out_len - t->out_off, to, &t->send_op) < 0) {
				t->net_sending = false;
				fail(t, -EBUSY);
			}
		}
	}
	bool want = (t->snd.op && t->snd.blocked) || (t->rcv.op && t->rcv.blocked);
	if (want && !t->net_receiving && !t->net_eof && !t->err && t->in_off == t->in_len) {
		/* Bounded by the earliest deadline of those waiting; none: wait as long as it
		 * takes. */
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
		int n = rs_ssl.BIO_write(t->net, t->in + t->in_off, (int)(t->in_len - t->in_off));
		if (n <= 0)
			break;
		t->in_off += (size_t)n;
		any = true;
	}
	return any;
}

/* Advances the handshake and the caller's operations as far as the bytes at hand allow. */
static void progress_in(struct rs_tls *t)
{
	if (!t->err && !rs_tls_usable())
		t->err = -ESHUTDOWN;
	for (int round = 0; round < 8 && !t->err; round++) {
		bool fed = feed(t);
		t->snd.blocked = t->rcv.blocked = false;
		rs_ssl.ERR_clear_error();
		if (!t->shook && (t->snd.op || t->rcv.op)) {
			int r = rs_ssl.SSL_do_handshake(t->ssl);
			if (r == 1) {
				t->shook = true;
				const unsigned char *p = NULL;
				unsigned n = 0;
				rs_ssl.SSL_get0_alpn_selected(t->ssl, &p, &n);
				if (t->x->alpn && n == 0) {
					say(t, "%s",
					    "the server did not agree to HTTP/2 (ALPN h2)");
					fail(t, -EPROTO);
					break;
				}
			} else {
				int e = rs_ssl.SSL_get_error(t->ssl, r);
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
			int r = rs_ssl.SSL_read(t->ssl, t->rcv.buf,
						(int)RS_MIN(t->rcv.len, (size_t)INT32_MAX));
			if (r > 0) {
				t->rcv.done = true;
				t->rcv.res = r;
			} else {
				int e = rs_ssl.SSL_get_error(t->ssl, r);
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
			int r = rs_ssl.SSL_write(t->ssl, t->snd.buf,
						 (int)RS_MIN(t->snd.len, (size_t)WRITE_MAX));
			if (r > 0) {
				t->snd.wrote = (size_t)r;
			} else {
				int e = rs_ssl.SSL_get_error(t->ssl, r);
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
		    rs_ssl.BIO_ctrl_pending(t->net) == 0) {
			t->snd.done = true;
			t->snd.res = (int)t->snd.wrote;
		}
		/* The peer closed: whoever still waits for bytes will not get them. */
		if (t->net_eof && t->in_off == t->in_len && !fed) {
			if (!t->shook && (t->snd.blocked || t->rcv.blocked)) {
				say(t, "%s",
				    "the server closed the connection during the handshake");
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

static void progress(struct rs_tls *t)
{
	rs_tls_enter();
	progress_in(t);
	rs_tls_leave();
}

static void release(struct rs_tls *t)
{
	if (!t->freed || t->depth || t->net_sending || t->net_receiving || t->posted || t->snd.op ||
	    t->rcv.op)
		return;
	rs_tls_enter();
	if (rs_tls_usable()) {
		rs_ssl.SSL_free(t->ssl); /* frees the inner BIO */
		rs_ssl.BIO_free(t->net);
	}
	rs_tls_leave();
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

static int start(struct rs_tls *t, struct user *u, const void *buf, size_t len, uint64_t timeout_ns,
		 struct rs_loop_op *op)
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

int rs_tls_recv(struct rs_tls *t, void *buf, size_t len, uint64_t timeout_ns, struct rs_loop_op *op)
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
