/* Growable buffer and the number, hex and JSON-string appenders the encoders share. */
#include "buf.h"

#include <stdlib.h>

bool rs_buf_reserve(struct rs_buf *b, size_t extra)
{
	if (b->failed)
		return false;
	if (b->len + extra <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void rs_buf_free(struct rs_buf *b)
{
	free(b->p);
	*b = (struct rs_buf){0};
}

void rs_buf_u64(struct rs_buf *b, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	rs_buf_put(b, tmp + i, sizeof(tmp) - i);
}

void rs_buf_i64(struct rs_buf *b, int64_t v)
{
	if (v < 0) {
		rs_buf_putc(b, '-');
		rs_buf_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		rs_buf_u64(b, (uint64_t)v);
	}
}

void rs_buf_hex(struct rs_buf *b, const uint8_t *bytes, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	if (!rs_buf_reserve(b, 2 * n))
		return;
	for (size_t i = 0; i < n; i++) {
		b->p[b->len++] = digits[bytes[i] >> 4];
		b->p[b->len++] = digits[bytes[i] & 15];
	}
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	unsigned cp = c & (0x3f >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

bool rs_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	for (;;) {
		/* ASCII eight bytes at a time: nearly everything a span carries. */
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		if (i >= n)
			return true;
		size_t seq = utf8_seq(s + i, n - i);
		if (!seq)
			return false;
		i += seq;
	}
}

void rs_buf_json_str(struct rs_buf *b, const char *str, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	rs_buf_putc(b, '"');
	size_t run = 0; /* bytes copied through unchanged, flushed in one put */
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t seq = c >= 0x20 && c != '"' && c != '\\' ? utf8_seq(s + i, n - i) : 0;
		if (seq) {
			i += seq;
			run += seq;
			continue;
		}
		rs_buf_put(b, s + i - run, run);
		run = 0;
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			rs_buf_put(b, esc, 2);
		} else if (c < 0x20) {
			char esc[6] = {'\\', 'u', '0', '0', digits[c >> 4], digits[c & 15]};
			rs_buf_put(b, esc, 6);
		} else {
			rs_buf_puts(b, "\\ufffd");
		}
		i++;
	}
	rs_buf_put(b, s + n - run, run);
	rs_buf_putc(b, '"');
}

void rs_buf_utf8(struct rs_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < n;) {
		size_t seq = utf8_seq(s + i, n - i);
		if (seq) {
			rs_buf_put(b, s + i, seq);
			i += seq;
		} else {
			rs_buf_put(b, "\xef\xbf\xbd", 3); /* U+FFFD */
			i++;
		}
	}
}
