/* The reporter's HTTP/1.1 client (see http_client.h): connect, send the head and the body, read
 * and parse the answer, keep the connection for the next request unless the server closes it. A
 * request that fails before any answer on a reused connection (the server timed it out while
 * idle) is sent once more on a fresh one. */
#include "http_client.h"
#include "../preload/clock.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_RESPONSE (4u << 20)
#define MAX_BODY (64u << 10)
#define CONNECT_TIMEOUT_NS 5000000000ull

enum { IDLE, CONNECTING, SENDING, RECEIVING };

bool rs_endpoint_parse(const char *text, uint16_t default_port, struct rs_endpoint *e, char *why,
		       size_t whylen)
{
	memset(e, 0, sizeof(*e));
	const char *p = text;
	if (strncmp(p, "http://", 7) == 0) {
		p += 7;
	} else if (strncmp(p, "https://", 8) == 0) {
		p += 8;
		e->tls = true;
	} else if (strstr(p, "://")) {
		snprintf(why, whylen, "has a scheme other than http:// or https://");
		return false;
	}
	size_t hl = strcspn(p, "/?#");
	const char *host = p, *colon = NULL;
	size_t host_len = hl;
	if (hl && p[0] == '[') { /* [v6]:port */
		const char *close = memchr(p, ']', hl);
		if (!close) {
			snprintf(why, whylen, "has an unclosed [");
			return false;
		}
		host = p + 1;
		host_len = (size_t)(close - p - 1);
		if (close + 1 < p + hl && close[1] == ':')
			colon = close + 1;
	} else {
		colon = memchr(p, ':', hl);
		if (colon)
			host_len = (size_t)(colon - p);
	}
	if (host_len == 0 || host_len >= sizeof(e->host)) {
		snprintf(why, whylen, "has no host, or one too long");
		return false;
	}
	memcpy(e->host, host, host_len);
	e->port = default_port ? default_port : (e->tls ? 443 : 80);
	if (colon) {
		unsigned long port = 0;
		const char *d = colon + 1;
		if (d == p + hl)
			goto bad_port;
		for (; d < p + hl; d++) {
			if (*d < '0' || *d > '9' || (port = port * 10 + (unsigned long)(*d - '0')) > 65535)
				goto bad_port;
		}
		if (!port)
			goto bad_port;
		e->port = (uint16_t)port;
	}
	const char *path = p + hl;
	if (!*path)
		path = "/";
	if (strlen(path) >= sizeof(e->path)) {
		snprintf(why, whylen, "has a path too long");
		return false;
	}
	strcpy(e->path, path);
	return true;
bad_port:
	snprintf(why, whylen, "has a port that is not 1 to 65535");
	return false;
}

int rs_resolve(const char *host, uint16_t port, struct sockaddr_storage *addr, socklen_t *len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res;
	char portstr[8];
	snprintf(portstr, sizeof(portstr), "%u", port);
	int e = getaddrinfo(host, portstr, &hints, &res);
	if (e)
		return e == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	memcpy(addr, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void on_capture(void *arg, enum rs_hp_field f, const char *b, size_t n, bool end)
{
	struct rs_http_client *c = arg;
	(void)end;
	if (f == RS_HPF_BODY) {
		/* Kept for reading the answer (partial success, an error's message), up to a bound. */
		size_t room = MAX_BODY - RS_MIN(c->resp_body.len, (size_t)MAX_BODY);
		rs_buf_put(&c->resp_body, b, RS_MIN(n, room));
		return;
	}
	if (f != RS_HPF_RETRY_AFTER)
		return;
	size_t k = RS_MIN(n, sizeof(c->retry_after) - 1 - c->retry_after_len);
	memcpy(c->retry_after + c->retry_after_len, b, k);
	c->retry_after_len += k;
}

void rs_http_client_init(struct rs_http_client *c, struct rs_loop *loop,
			 const struct rs_endpoint *ep)
{
	memset(c, 0, sizeof(*c));
	c->loop = loop;
	c->ep = *ep;
	c->sock = -1;
}

bool rs_http_client_busy(const struct rs_http_client *c)
{
	return c->state != IDLE;
}

void rs_http_client_close(struct rs_http_client *c)
{
	rs_tls_free(c->tls);
	c->tls = NULL;
	if (c->sock >= 0)
		rs_loop_close(c->loop, c->sock);
	c->sock = -1;
}

static uint64_t left(const struct rs_http_client *c)
{
	uint64_t now = rs_mono_ns();
	return c->deadline_ns > now ? c->deadline_ns - now : 1;
}

static void finish(struct rs_http_client *c, int status)
{
	c->state = IDLE;
	if (status <= 0 || !c->keep)
		rs_http_client_close(c);
	uint32_t ra = c->retry_after_len ? rs_retry_after_ms(c->retry_after, c->retry_after_len) : 0;
	c->done(c->arg, status, ra, c->resp_body.p, c->resp_body.len);
}

static void step(struct rs_loop_op *op, int res);
static void send_more(struct rs_http_client *c);
static void start(struct rs_http_client *c);

/* The request failed before an answer: on a connection an earlier request used, the server may
 * have closed it while idle; send once more on a fresh one. */
static void failed(struct rs_http_client *c, int err)
{
	rs_http_client_close(c);
	if (c->reused && !c->retried && c->received == 0 && rs_mono_ns() < c->deadline_ns) {
		c->retried = true;
		start(c);
		return;
	}
	finish(c, err);
}

/* The connection's bytes go through TLS for https://. */
static int sock_send(struct rs_http_client *c, const void *p, size_t n)
{
	return c->tls ? rs_tls_send(c->tls, p, n, left(c), &c->op)
		      : rs_loop_send(c->loop, c->sock, p, n, left(c), &c->op);
}

static void recv_more(struct rs_http_client *c)
{
	c->state = RECEIVING;
	if ((c->tls ? rs_tls_recv(c->tls, c->rbuf, sizeof(c->rbuf), left(c), &c->op)
		    : rs_loop_recv(c->loop, c->sock, c->rbuf, sizeof(c->rbuf), left(c), &c->op)) < 0)
		failed(c, -EBUSY);
}

static void received(struct rs_http_client *c, size_t n)
{
	c->received += n;
	if (c->received > MAX_RESPONSE) {
		/* Past the bound the rest is not read: a status already received stands (its body is
		 * cut to what was kept), else there is no answer. The connection cannot be reused. */
		rs_http_client_close(c);
		c->keep = false;
		finish(c, c->head_done ? c->status : -EMSGSIZE);
		return;
	}
	const char *b = c->rbuf;
	while (n) {
		enum rs_hp_event ev;
		size_t used = rs_hp_feed(&c->resp, b, n, &ev);
		b += used;
		n -= used;
		if (ev == RS_HP_ERROR) {
			rs_http_client_close(c);
			finish(c, -EPROTO);
			return;
		}
		if (ev == RS_HP_HEAD_DONE) {
			if (c->resp.status < 200 && c->resp.status != 101)
				continue; /* 100 Continue and friends: the answer follows */
			c->status = c->resp.status;
			c->head_done = true;
			c->keep = c->resp.version == 1 && !(c->resp.flags & RS_HPM_CLOSE);
			/* An answer without a body ends here (the parser says so on the next feed). */
			enum rs_hp_event ev2;
			if (rs_hp_feed(&c->resp, b, 0, &ev2) == 0 && ev2 == RS_HP_MSG_DONE) {
				finish(c, c->status);
				return;
			}
		}
		if (ev == RS_HP_MSG_DONE && c->head_done) {
			finish(c, c->status);
			return;
		}
	}
	recv_more(c);
}

static void step(struct rs_loop_op *op, int res)
{
	struct rs_http_client *c = (struct rs_http_client *)((char *)op -
							    offsetof(struct rs_http_client, op));
	switch (c->state) {
	case CONNECTING:
		if (res < 0) {
			c->addr_len = 0; /* resolve again next time */
			rs_http_client_close(c);
			finish(c, res);
			return;
		}
		int e;
		if (c->ep.tls && !(c->tls = rs_tls_new(c->tls_ctx, c->loop, c->sock, c->ep.host, &e))) {
			rs_http_client_close(c);
			finish(c, e);
			return;
		}
		c->state = SENDING;
		send_more(c);
		return;
	case SENDING:
		if (res <= 0) {
			failed(c, res < 0 ? res : -EPIPE);
			return;
		}
		c->sent += (size_t)res;
		send_more(c);
		return;
	case RECEIVING:
		if (res < 0) {
			failed(c, res);
			return;
		}
		if (res == 0) {
			/* The server closed: the end of a close-delimited answer, or a cut one. */
			if (c->head_done && rs_hp_close(&c->resp) == RS_HP_MSG_DONE) {
				rs_http_client_close(c);
				finish(c, c->status);
			} else if (c->received) {
				rs_http_client_close(c);
				finish(c, -ECONNRESET);
			} else {
				failed(c, -ECONNRESET);
			}
			return;
		}
		received(c, (size_t)res);
		return;
	default:
		return;
	}
}

static void send_more(struct rs_http_client *c)
{
	size_t total = c->head.len + c->body_len;
	if (c->sent == total) {
		recv_more(c);
		return;
	}
	const char *p = c->sent < c->head.len ? c->head.p + c->sent : c->body + (c->sent - c->head.len);
	size_t n = c->sent < c->head.len ? c->head.len - c->sent : total - c->sent;
	if (sock_send(c, p, n) < 0)
		failed(c, -EBUSY);
}

static void start(struct rs_http_client *c)
{
	c->sent = 0;
	c->received = 0;
	c->head_done = false;
	c->keep = false;
	c->status = 0;
	c->retry_after_len = 0;
	c->resp_body.len = 0;
	c->resp_body.failed = false;
	rs_hp_init(&c->resp, RS_HP_RESPONSE, 1u << RS_HPF_RETRY_AFTER | 1u << RS_HPF_BODY, on_capture, c);
	c->op.cb = step;
	if (c->sock >= 0) {
		c->reused = true;
		c->state = SENDING;
		send_more(c);
		return;
	}
	c->reused = false;
	if (c->ep.tls && !c->tls_ctx) {
		finish(c, -EPROTONOSUPPORT);
		return;
	}
	if (!c->addr_len) {
		int e = rs_resolve(c->ep.host, c->ep.port, &c->addr, &c->addr_len);
		if (e < 0) {
			c->addr_len = 0;
			finish(c, e);
			return;
		}
	}
	c->sock = rs_loop_socket(c->loop, c->addr.ss_family);
	if (c->sock < 0) {
		int e = c->sock;
		c->sock = -1;
		finish(c, e);
		return;
	}
	c->state = CONNECTING;
	if (rs_loop_connect(c->loop, c->sock, (struct sockaddr *)&c->addr, c->addr_len,
			    RS_MIN(left(c), CONNECT_TIMEOUT_NS), &c->op) < 0) {
		rs_http_client_close(c);
		finish(c, -EBUSY);
	}
}

int rs_http_client_post(struct rs_http_client *c, const char *path, const char *content_type,
			const char *content_encoding, const char *extra_headers, const void *body,
			size_t len, uint64_t timeout_ns, rs_http_done_fn done, void *arg)
{
	if (c->state != IDLE)
		return -EBUSY;
	c->head.len = 0;
	c->head.failed = false;
	char line[600];
	bool v6 = strchr(c->ep.host, ':') != NULL;
	snprintf(line, sizeof(line), "POST %s HTTP/1.1\r\nHost: %s%s%s:%u\r\n", path, v6 ? "[" : "",
		 c->ep.host, v6 ? "]" : "", c->ep.port);
	rs_buf_puts(&c->head, line);
	rs_buf_puts(&c->head, "User-Agent: ringside/" RS_VERSION "\r\nContent-Type: ");
	rs_buf_puts(&c->head, content_type);
	snprintf(line, sizeof(line), "\r\nContent-Length: %zu\r\n", len);
	rs_buf_puts(&c->head, line);
	if (content_encoding) {
		rs_buf_puts(&c->head, "Content-Encoding: ");
		rs_buf_puts(&c->head, content_encoding);
		rs_buf_puts(&c->head, "\r\n");
	}
	if (extra_headers)
		rs_buf_puts(&c->head, extra_headers);
	rs_buf_puts(&c->head, "\r\n");
	if (rs_buf_failed(&c->head))
		return -ENOMEM;
	c->body = body;
	c->body_len = len;
	c->done = done;
	c->arg = arg;
	c->retried = false;
	c->deadline_ns = rs_mono_ns() + timeout_ns;
	start(c);
	return 0;
}
