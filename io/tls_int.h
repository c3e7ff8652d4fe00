/* What io/tls.c (the sessions) and io/tls_lib.c (loading OpenSSL, contexts, the fork guard)
 * share. Reporter thread only; nothing else includes it. */
#ifndef RS_IO_TLS_INT_H
#define RS_IO_TLS_INT_H

#include "tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

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

struct rs_tls_lib {
	bool tried, ok;
	bool forked_unsafe; /* a fork child of a parent that was inside OpenSSL */
#define X(f) __typeof__(f) *f;
	SSL_FUNCS(X)
#undef X
};
extern struct rs_tls_lib rs_ssl;

struct rs_tls_ctx {
	SSL_CTX *ctx;
	bool alpn;
	char what[200];
	char said[256]; /* the last failure said on stderr, and when */
	uint64_t said_at;
};

/* Around every OpenSSL call: keeps forks out meanwhile (tls_lib.c). Nests. */
void rs_tls_enter(void);
void rs_tls_leave(void);
/* OpenSSL may be used: loaded, not cleaned up, not left unsafe by a fork. */
bool rs_tls_usable(void);
/* The reason OpenSSL's error queue holds (emptied), or fallback. */
const char *rs_tls_reason(char *buf, size_t cap, const char *fallback);

#endif
