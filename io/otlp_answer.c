/* Classification of OTLP collectors' answers (see otlp_answer.h). Bodies come from the network:
 * every read is bounded by len, and text shown on stderr is made printable. */
#include "otlp_answer.h"
#include "../preload/propagation.h"
#include "../proto/otlp_pb.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* The value after "key" : in body, or NULL. */
static const char *json_value(const char *body, size_t len, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = body; p + kl + 2 <= body + len;) {
		const char *q = memchr(p, '"', (size_t)(body + len - p));
		if (!q || q + kl + 2 > body + len)
			return NULL;
		if (memcmp(q + 1, key, kl) == 0 && q[kl + 1] == '"') {
			const char *v = q + kl + 2, *end = body + len;
			while (v < end && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n'))
				v++;
			if (v == end || *v != ':')
				return NULL;
			for (v++; v < end && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n');)
				v++;
			return v < end ? v : NULL;
		}
		p = q + 1;
	}
	return NULL;
}

static bool json_uint(const char *v, const char *end, uint64_t *out)
{
	if (v < end && *v == '"')
		v++;
	uint64_t n = 0;
	const char *d = v;
	for (; d < end && *d >= '0' && *d <= '9' && n < UINT64_MAX / 10; d++)
		n = n * 10 + (uint64_t)(*d - '0');
	*out = n;
	return d > v;
}

/* A JSON string value, unescaped only as far as showing it needs (escapes are kept as written). */
static void json_text(const char *v, const char *end, char *msg, size_t cap)
{
	size_t n = 0;
	if (v < end && *v == '"') {
		for (v++; v < end && *v != '"' && n + 1 < cap; v++) {
			if (*v == '\\' && v + 1 < end)
				msg[n++] = *v++;
			if (n + 1 < cap)
				msg[n++] = *v;
		}
	}
	msg[n] = 0;
}

bool rs_otlp_json_partial(const char *body, size_t len, uint64_t *rejected, char *msg, size_t cap)
{
	*rejected = 0;
	msg[0] = 0;
	const char *ps = json_value(body, len, "partialSuccess");
	if (!ps)
		return false;
	size_t rest = len - (size_t)(ps - body);
	const char *r = json_value(ps, rest, "rejectedSpans");
	if (!r)
		r = json_value(ps, rest, "rejectedDataPoints");
	if (r)
		json_uint(r, body + len, rejected);
	const char *m = json_value(ps, rest, "errorMessage");
	if (m)
		json_text(m, body + len, msg, cap);
	printable(msg);
	return true;
}

static void with_message(struct rs_otlp_answer *a, const char *what, const char *msg)
{
	if (msg && *msg)
		snprintf(a->why, sizeof(a->why), "%s: %.150s", what, msg);
	else
		snprintf(a->why, sizeof(a->why), "%s", what);
	printable(a->why);
}

/* No answer came (-errno), over HTTP or gRPC: retried, except that a certificate that failed
 * verification does not get better by retrying within the backoff budget (a wrong CA, a name
 * mismatch): the batch is dropped and counted at once, and the next batch tries again on a new
 * connection. */
enum rs_outcome rs_no_answer(int err, char *why, size_t n)
{
	snprintf(why, n, "%s",
		 err == -EKEYREJECTED ? "TLS certificate verification failed" : strerror(-err));
	return err == -EKEYREJECTED ? RS_REJECTED : RS_RETRY;
}

bool rs_http_retryable(int status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

static void no_answer(int err, struct rs_otlp_answer *a)
{
	char why[64];
	a->outcome = rs_no_answer(err, why, sizeof(why));
	with_message(a, why, NULL);
}

void rs_otlp_http_answer(int status, bool json, const char *body, size_t len,
			 struct rs_otlp_answer *a)
{
	memset(a, 0, sizeof(*a));
	char msg[160] = "", what[48];
	if (status < 0) {
		no_answer(status, a);
		return;
	}
	snprintf(what, sizeof(what), "HTTP %d", status);
	if (status >= 200 && status < 300) {
		a->outcome = RS_DELIVERED;
		int64_t rej = 0;
		if (json)
			rs_otlp_json_partial(body, len, &a->rejected, msg, sizeof(msg));
		else if (len && rs_otlp_pb_trace_answer(body, len, &rej, msg, sizeof(msg)) && rej > 0)
			a->rejected = (uint64_t)rej;
		with_message(a, "partial success", msg);
		return;
	}
	/* The error body is a google.rpc.Status, in the request's encoding. */
	if (json) {
		const char *m = json_value(body, len, "message");
		if (m)
			json_text(m, body + len, msg, sizeof(msg));
	} else if (len) {
		rs_otlp_pb_status(body, len, msg, sizeof(msg));
	}
	a->outcome = rs_http_retryable(status) ? RS_RETRY : RS_REJECTED;
	with_message(a, what, msg);
}

/* The OTLP specification's retryable gRPC codes. RESOURCE_EXHAUSTED is retryable only with a
 * RetryInfo in the status details: a collector that sheds load without one loses that batch
 * rather than being hammered. */
static bool grpc_retryable(int code, uint32_t retry_ms)
{
	switch (code) {
	case 8: /* RESOURCE_EXHAUSTED */
		return retry_ms > 0;
	case 1:	 /* CANCELLED */
	case 4:	 /* DEADLINE_EXCEEDED */
	case 10: /* ABORTED */
	case 11: /* OUT_OF_RANGE */
	case 14: /* UNAVAILABLE */
	case 15: /* DATA_LOSS */
		return true;
	}
	return false;
}

/* grpc-status-details-bin: base64 (unpadded, as gRPC sends it) of a google.rpc.Status. */
static uint32_t retry_info_ms(const char *details)
{
	char status[384];
	long n = details && *details ? rs_b64_decode(details, strlen(details), status,
						     sizeof(status))
				     : -1;
	return n > 0 ? rs_otlp_pb_retry_delay_ms(status, (size_t)n) : 0;
}

void rs_otlp_grpc_answer(int status, const char *message, const char *details, const void *resp,
			 size_t len, struct rs_otlp_answer *a)
{
	memset(a, 0, sizeof(*a));
	char what[48], msg[160] = "";
	if (status < 0) {
		no_answer(status, a);
		return;
	}
	if (status == 0) {
		a->outcome = RS_DELIVERED;
		int64_t rej = 0;
		if (len && rs_otlp_pb_trace_answer(resp, len, &rej, msg, sizeof(msg)) && rej > 0)
			a->rejected = (uint64_t)rej;
		with_message(a, "partial success", msg);
		return;
	}
	snprintf(what, sizeof(what), "grpc-status %d", status);
	uint32_t retry_ms = retry_info_ms(details);
	a->outcome = grpc_retryable(status, retry_ms) ? RS_RETRY : RS_REJECTED;
	if (a->outcome == RS_RETRY)
		a->retry_after_ms = retry_ms;
	with_message(a, what, message);
}
