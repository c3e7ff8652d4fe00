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

/* "00".."99": two digits per division (timestamps have 19). */
static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324252627282930"
				     "31323334353637383940414243444546474849505152535455565758596061"
				     "62636465666768697071727374757677787980818283848586878889909192"
				     "93949596979899";

void rs_buf_u64(struct rs_buf *b, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);
	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;
		v /= 100;
		tmp[--i] = digit_pairs[d + 1];
		tmp[--i] = digit_pairs[d];
	}
	if (v >= 10) {
		tmp[--i] = digit_pairs[v * 2 + 1];
		tmp[--i] = digit_pairs[v * 2];
	} else {
		tmp[--i] = (char)('0' + v);
	}
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

/* Every byte's two hex digits: ids are written a byte (two digits) at a time. */
static const char hex_pairs[513] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
				     "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
				     "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
				     "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
				     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
				     "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
				     "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
				     "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

void rs_buf_hex(struct rs_buf *b, const uint8_t *bytes, size_t n)
{
	if (rs_unlikely(b->len + 2 * n > b->cap) && !rs_buf_reserve(b, 2 * n))
		return;
	char *o = b->p + b->len;
	for (size_t i = 0; i < n; i++)
		memcpy(o + 2 * i, hex_pairs + 2 * bytes[i], 2);
	b->len += 2 * n;
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

/* How many bytes from s[i] on are valid UTF-8 as they are: ASCII eight bytes at a time (nearly
 * everything a span carries), then whole characters, up to the first byte that starts none. */
static inline __attribute__((always_inline)) size_t utf8_run(const unsigned char *s, size_t i,
							      size_t n)
{
	size_t from = i;
	for (;;) {
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		while (i < n && s[i] < 0x80) /* the last few ASCII bytes */
			i++;
		size_t seq = i < n ? utf8_seq(s + i, n - i) : 0;
		if (!seq)
			return i - from;
		i += seq;
	}
}

bool rs_utf8_valid(const char *str, size_t n)
{
	return utf8_run((const unsigned char *)str, 0, n) == n;
}

const char *rs_utf8_replaced(const char *s, size_t *n)
{
	static struct rs_buf scratch; /* reporter thread only */
	scratch.len = 0;
	scratch.failed = false;
	rs_buf_utf8(&scratch, s, *n);
	if (rs_buf_failed(&scratch))
		return NULL;
	*n = scratch.len;
	return scratch.p;
}

/* Bytes a JSON string can carry as they are: printable ASCII but for quote and backslash. With
 * 0x01 in every byte and 0x80 in every byte, the classic has-a-zero-byte test turned on each
 * condition: a word is plain when no byte is under 0x20, 0x22, 0x5c or 0x80 and above. */
#define RS_ONES 0x0101010101010101ull
#define RS_HIGHS 0x8080808080808080ull
static inline bool json_plain8(uint64_t w)
{
	uint64_t quote = w ^ (RS_ONES * '"'), bslash = w ^ (RS_ONES * '\\');
	uint64_t special = ((w - RS_ONES * 0x20) & ~w) | ((quote - RS_ONES) & ~quote) |
			   ((bslash - RS_ONES) & ~bslash) | w;
	return !(special & RS_HIGHS);
}

void rs_buf_json_str(struct rs_buf *b, const char *str, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	/* Room for the common case (nothing escaped) at once. */
	if (rs_unlikely(b->len + n + 2 > b->cap) && !rs_buf_reserve(b, n + 2))
		return;
	b->p[b->len++] = '"';
	size_t i = 0;
	for (;;) {
		/* Plain ASCII eight bytes at a time: nearly everything a span carries. */
		size_t from = i;
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (!json_plain8(w))
				break;
			i += 8;
		}
		while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
			i++;
		size_t seq = i < n && s[i] >= 0x80 ? utf8_seq(s + i, n - i) : 0;
		i += seq; /* a valid multi-byte character goes through unchanged too */
		rs_buf_put(b, s + from, i - from);
		if (seq)
			continue;
		if (i == n)
			break;
		unsigned c = s[i++];
		if (c == '"' || c == '\\') {
			char esc[2] = {'\\', (char)c};
			rs_buf_put(b, esc, 2);
		} else if (c < 0x20) {
			char esc[6] = {'\\', 'u', '0', '0', digits[c >> 4], digits[c & 15]};
			rs_buf_put(b, esc, 6);
		} else {
			rs_buf_puts(b, "\\ufffd");
		}
	}
	rs_buf_putc(b, '"');
}

void rs_buf_utf8(struct rs_buf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		/* What is valid as it is goes in one put; each byte that starts no valid character
		 * becomes U+FFFD. */
		size_t run = utf8_run(s, i, n);
		rs_buf_put(b, s + i, run);
		i += run;
		if (i < n) {
			rs_buf_put(b, "\xef\xbf\xbd", 3); /* U+FFFD */
			i++;
		}
	}
}
