/* A growable byte buffer for the encoders, used on the reporter thread only. Allocation failure
 * sticks: every later append is a no-op and rs_buf_failed() says so, so callers check once. */
#ifndef RS_PROTO_BUF_H
#define RS_PROTO_BUF_H

#include "../preload/rs.h"

#include <string.h>

struct rs_buf {
	char *p;
	size_t len, cap;
	bool failed;
};

bool rs_buf_reserve(struct rs_buf *b, size_t extra);
void rs_buf_free(struct rs_buf *b);

static inline void rs_buf_put(struct rs_buf *b, const void *s, size_t n)
{
	if (rs_unlikely(b->len + n > b->cap) && !rs_buf_reserve(b, n))
		return;
	if (rs_unlikely(!n))
		return; /* an empty buffer has no memory yet: memcpy(NULL, ...) is undefined */
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static inline void rs_buf_puts(struct rs_buf *b, const char *s)
{
	rs_buf_put(b, s, strlen(s));
}

/* A string literal: its length is known at compile time, so the copy is inlined. */
#define rs_buf_lit(b, lit) rs_buf_put((b), "" lit, sizeof(lit) - 1)

static inline void rs_buf_putc(struct rs_buf *b, char c)
{
	rs_buf_put(b, &c, 1);
}

static inline bool rs_buf_failed(const struct rs_buf *b)
{
	return b->failed;
}

void rs_buf_u64(struct rs_buf *b, uint64_t v);
void rs_buf_i64(struct rs_buf *b, int64_t v);
void rs_buf_hex(struct rs_buf *b, const uint8_t *bytes, size_t n);

/* Appends s as a JSON string literal with quotes: escapes quote, backslash and control bytes, and
 * replaces bytes that are not valid UTF-8 with U+FFFD, so any input gives valid JSON. */
void rs_buf_json_str(struct rs_buf *b, const char *s, size_t n);

/* Appends s with every byte that is not part of valid UTF-8 replaced by U+FFFD: protobuf
 * `string` fields must be valid UTF-8, and receivers in Java refuse the message otherwise. */
void rs_buf_utf8(struct rs_buf *b, const char *s, size_t n);

/* True when s is valid UTF-8 (then rs_buf_utf8 would copy it unchanged). */
bool rs_utf8_valid(const char *s, size_t n);

/* s as valid UTF-8, for encoders whose strings must be: s itself (nearly always), or a copy with
 * each bad byte replaced by U+FFFD in a scratch buffer that lasts until the next call (reporter
 * thread only); *n is its length. NULL when memory ran out. */
const char *rs_utf8_replaced(const char *s, size_t *n); /* the copy, for s known invalid */
static inline const char *rs_utf8_clean(const char *s, size_t *n)
{
	return rs_utf8_valid(s, *n) ? s : rs_utf8_replaced(s, n);
}

#endif
