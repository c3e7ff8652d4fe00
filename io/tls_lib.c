/* OpenSSL for the TLS layer (tls.h): libssl.so.3 loaded with dlopen on first use (a process that
 * never talks TLS never maps it), the fork guard around every call into it, and the contexts that
 * hold a collector's settings (CA, client certificate and key, ALPN). */
#include "../preload/log.h"
#include "tls_int.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rs_tls_lib rs_ssl;

/* --- fork ---------------------------------------------------------------------------------------
 * dlopen and OpenSSL take process-wide locks (the loader's; OpenSSL's provider store, its random
 * generator), shared with the program when it uses OpenSSL too. A fork while the reporter holds
 * one would leave it held forever in the child, and the child's own OpenSSL use would hang. So a
 * forking thread waits (at most 50 ms) for the reporter to leave OpenSSL, and the reporter does not
 * enter it while a fork is pending (seq_cst: one of the two always sees the other); a child forked
 * anyway, after the wait ran out, does not use TLS. As io/kafka.c does for librdkafka. */
static _Atomic int fork_pending;
static _Atomic bool in_ssl;
static _Atomic bool fork_saw_ssl;
static unsigned ssl_depth; /* reporter thread only: nested enters */

static void pause_briefly(void)
{
	nanosleep(&(struct timespec){0, 200000}, NULL);
}

void rs_tls_enter(void)
{
	if (ssl_depth++)
		return;
	for (;;) {
		while (atomic_load(&fork_pending))
			pause_briefly();
		atomic_store(&in_ssl, true);
		if (!atomic_load(&fork_pending))
			return;
		atomic_store(&in_ssl, false);
	}
}

void rs_tls_leave(void)
{
	if (--ssl_depth == 0)
		atomic_store(&in_ssl, false);
}

static void fork_prepare(void)
{
	atomic_fetch_add(&fork_pending, 1);
	for (int i = 0; i < 250 && atomic_load(&in_ssl); i++)
		pause_briefly();
	atomic_store(&fork_saw_ssl, atomic_load(&in_ssl));
}

static void fork_parent(void)
{
	atomic_fetch_sub(&fork_pending, 1);
}

static void fork_child(void)
{
	atomic_store(&fork_pending, 0);
	atomic_store(&in_ssl, false);
	ssl_depth = 0; /* the reporter is not here: its counts go with it */
	if (atomic_load(&fork_saw_ssl))
		rs_ssl.forked_unsafe = true;
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_register(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* Loads libssl (the reporter thread is the only caller, inside rs_tls_enter()). */
static bool load(const char *what)
{
	if (rs_ssl.tried)
		return rs_ssl.ok;
	rs_ssl.tried = true;
	pthread_once(&atfork_once, atfork_register);
	void *h = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		rs_log(RS_LOG_ERROR, "%s: cannot load OpenSSL (%s); install libssl3", what,
		       dlerror());
		return false;
	}
#define X(f)                                                                                       \
	rs_ssl.f = (__typeof__(f) *)dlsym(h, #f);                                                  \
	if (!rs_ssl.f) {                                                                           \
		rs_log(RS_LOG_ERROR, "%s: libssl.so.3 has no %s", what, #f);                       \
		return false;                                                                      \
	}
	SSL_FUNCS(X)
#undef X
	/* No atexit cleanup: the reporter's last flush runs from the shim's destructor, after
	 * atexit handlers, and must still find OpenSSL whole. */
	if (!rs_ssl.OPENSSL_init_ssl(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_LOAD_SSL_STRINGS,
				     NULL)) {
		rs_log(RS_LOG_ERROR, "%s: OpenSSL did not initialize", what);
		return false;
	}
	rs_ssl.ok = true;
	return true;
}

/* False once OpenSSL was cleaned up: the program's own use of OpenSSL registers OPENSSL_cleanup
 * with atexit, and the shim's last flush runs after atexit handlers, from its destructor. From
 * then on no OpenSSL object may be touched (they would be used or freed after their library
 * state is gone): sessions fail, and what they hold is left to the process's end. The check
 * itself is safe then: OPENSSL_init_ssl looks at its "stopped" flag first. */
bool rs_tls_usable(void)
{
	return rs_ssl.ok && !rs_ssl.forked_unsafe && rs_ssl.OPENSSL_init_ssl(0, NULL) == 1;
}

/* The reason OpenSSL's error queue holds, or fallback. */
const char *rs_tls_reason(char *buf, size_t cap, const char *fallback)
{
	unsigned long e, last = 0;
	while ((e = rs_ssl.ERR_get_error()) != 0)
		last = e;
	if (!last)
		return fallback;
	rs_ssl.ERR_error_string_n(last, buf, cap);
	return buf;
}

static struct rs_tls_ctx *ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
				  const char *alpn, const char *what)
{
	if (!load(what) || !rs_tls_usable())
		return NULL;
	struct rs_tls_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	snprintf(x->what, sizeof(x->what), "%s", what);
	char why[256];
	const char *fail = NULL, *file = "";
	rs_ssl.ERR_clear_error();
	x->ctx = rs_ssl.SSL_CTX_new(rs_ssl.TLS_client_method());
	if (!x->ctx) {
		fail = "cannot make a TLS context";
		goto out;
	}
	rs_ssl.SSL_CTX_ctrl(x->ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
	rs_ssl.SSL_CTX_set_verify(x->ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file && *ca_file) {
		file = ca_file;
		if (rs_ssl.SSL_CTX_load_verify_locations(x->ctx, ca_file, NULL) != 1)
			fail = "cannot use the CA certificate file";
	} else if (rs_ssl.SSL_CTX_set_default_verify_paths(x->ctx) != 1) {
		fail = "cannot use the system's CA certificates";
	}
	if (!fail && cert_file && *cert_file) {
		file = cert_file;
		if (rs_ssl.SSL_CTX_use_certificate_chain_file(x->ctx, cert_file) != 1) {
			fail = "cannot use the client certificate file";
		} else if (!key_file || !*key_file) {
			fail = "has a client certificate but no client key";
		} else {
			file = key_file;
			if (rs_ssl.SSL_CTX_use_PrivateKey_file(x->ctx, key_file,
							       SSL_FILETYPE_PEM) != 1 ||
			    rs_ssl.SSL_CTX_check_private_key(x->ctx) != 1)
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
			if (rs_ssl.SSL_CTX_set_alpn_protos(x->ctx, p, (unsigned)n + 1) != 0)
				fail = "cannot ask for ALPN";
			x->alpn = true;
		}
	}
out:
	if (fail) {
		rs_log(RS_LOG_ERROR, "%s: TLS %s%s%.200s (%s); nothing is sent", what, fail,
		       *file ? " " : "", file, rs_tls_reason(why, sizeof(why), "no detail"));
		rs_tls_ctx_free(x);
		return NULL;
	}
	return x;
}

struct rs_tls_ctx *rs_tls_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
				  const char *alpn, const char *what)
{
	rs_tls_enter();
	struct rs_tls_ctx *x = ctx_new(ca_file, cert_file, key_file, alpn, what);
	rs_tls_leave();
	return x;
}

void rs_tls_ctx_free(struct rs_tls_ctx *x)
{
	if (!x)
		return;
	rs_tls_enter();
	if (x->ctx && rs_tls_usable())
		rs_ssl.SSL_CTX_free(x->ctx);
	rs_tls_leave();
	free(x);
}
