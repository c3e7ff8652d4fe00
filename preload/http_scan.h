/* Byte classes and word-at-a-time scanners for the HTTP/1.x parser (internal: included by
 * http_parse.c only, hence static definitions). Each scanner answers what the parser's byte-by-byte
 * path would, for a run of bytes that is all in the buffer. */
#ifndef RS_HTTP_SCAN_H
#define RS_HTTP_SCAN_H

#include "rs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* RFC 9110 tchar, as a table: tested for every byte of methods and header names. */
static const uint8_t tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
	['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
};

static inline bool is_tchar(unsigned char c)
{
	return tchar[c];
}

static inline unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static inline uint64_t load64(const char *s)
{
	uint64_t v;
	memcpy(&v, s, 8);
	return v;
}

static inline uint16_t load16(const char *s)
{
	uint16_t v;
	memcpy(&v, s, 2);
	return v;
}

static inline uint32_t load32(const char *s)
{
	uint32_t v;
	memcpy(&v, s, 4);
	return v;
}

/* Whether any of the eight bytes of x is c (exact: the zero-byte test on x ^ c). */
static inline bool has_byte8(uint64_t x, unsigned char c)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t y = x ^ (ones * c);
	return ((y - ones) & ~y & highs) != 0;
}

/* lower() of each of the eight bytes of x: 0x20 added where a byte is in 'A'..'Z' (the 7-bit
 * sums cannot carry into the next byte; bytes from 0x80 up are left alone). */
static inline uint64_t lower8(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t h = x & ~highs;
	uint64_t upper = ((h + ones * (0x80 - 'A')) ^ (h + ones * (0x7f - 'Z'))) & ~x & highs;
	return x | upper >> 2;
}

/* Whether the n tchar bytes at s are lc (lowercase) ignoring case, n >= 3. OR-ing 0x20 into every
 * byte is exact here: the known names hold only lowercase letters, digits and '-', which all have
 * that bit, and among tchars only an uppercase letter becomes a lowercase one (the bytes it would
 * also fold, CR and 0x18 into '-' and '8', are not tchars and never reach this). Overlapping
 * loads compare any length in two or three steps. */
static inline bool name_eq(const char *s, const char *lc, size_t n)
{
	if (n >= 8) {
		const uint64_t m = 0x2020202020202020ull;
		bool eq = ((load64(s) | m) == load64(lc)) &&
			  ((load64(s + n - 8) | m) == load64(lc + n - 8));
		return n > 16 ? eq && (load64(s + 8) | m) == load64(lc + 8) : eq;
	}
	if (n >= 4)
		return ((load32(s) | 0x20202020u) == load32(lc)) &&
		       ((load32(s + n - 4) | 0x20202020u) == load32(lc + n - 4));
	return (s[0] | 0x20) == lc[0] && (s[1] | 0x20) == lc[1] && (s[n - 1] | 0x20) == lc[n - 1];
}

/* Length of the run of bytes from b that stay in the current value: up to CR or LF. Values are
 * short (tens of bytes), where two memchr calls cost more than the scan: eight bytes at a time,
 * any byte up to 0x0d (CR, LF, and the rare tab or control byte) flagged by subtracting 0x0e
 * from each; the bytes of a flagged word are then looked at one by one, from the first flagged
 * (a true one: false flags lie only above a byte that borrowed). */
static inline __attribute__((always_inline)) size_t value_run(const char *b, size_t n)
{
	size_t i = 0;
#ifdef __SSE2__
	/* Sixteen at a time while the buffer has them (a value's line usually has more lines after
	 * it): CR and LF compared exactly, no false flags. */
	for (; i + 16 <= n; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
			_mm_cmpeq_epi8(x, _mm_set1_epi8('\r')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\n'))));
		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
#endif
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ /* the lowest flagged byte is the first in memory */
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	for (; i + 8 <= n; i += 8) {
		uint64_t w = load64(b + i);
		uint64_t z = (w - ones * 0x0e) & ~w & highs;
		if (rs_likely(!z))
			continue;
		for (size_t k = i + (size_t)(__builtin_ctzll(z) >> 3); k < i + 8; k++)
			if (b[k] == '\r' || b[k] == '\n')
				return k;
	}
#endif
	for (; i < n; i++)
		if (b[i] == '\r' || b[i] == '\n')
			return i;
	return n;
}

/* Length of the run of bytes from b that stay in a request target: up to a control byte, a
 * space or DEL (bytes from 0x80 up pass). Eight at a time as in value_run: bytes below 0x21 are
 * flagged by subtracting 0x21 from each (a byte from 0x80 up never borrows), DEL by the zero-byte
 * trick on b ^ 0x7f. */
static inline __attribute__((always_inline)) size_t target_run(const char *b, size_t n)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	size_t i = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; i + 8 <= n; i += 8) {
		uint64_t w = load64(b + i), d = w ^ (ones * 0x7f);
		uint64_t z = (((w - ones * 0x21) & ~w) | ((d - ones) & ~d)) & highs;
		if (z)
			return i + (size_t)(__builtin_ctzll(z) >> 3);
	}
#endif
	for (; i < n; i++)
		if ((unsigned char)b[i] <= ' ' || b[i] == 0x7f)
			return i;
	return n;
}

#ifdef __SSE2__
/* How many of the 16 bytes at b are, from the first, letters, digits or '-': what header names
 * are made of (a prefix of the tchar run, so the table loop can go on from there). 16 bytes must
 * be readable at b. Letters are tested case-folded: OR-ing 0x20 sends no other byte into a..z. */
static inline __attribute__((always_inline)) size_t name_run16(const char *b)
{
	__m128i x = _mm_loadu_si128((const __m128i *)(const void *)b);
	__m128i l = _mm_or_si128(x, _mm_set1_epi8(0x20));
	/* Signed compares: bytes from 0x80 up are negative, below every bound here. */
	__m128i letter = _mm_and_si128(_mm_cmpgt_epi8(l, _mm_set1_epi8('a' - 1)),
				       _mm_cmplt_epi8(l, _mm_set1_epi8('z' + 1)));
	__m128i digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
				      _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
	__m128i dash = _mm_cmpeq_epi8(x, _mm_set1_epi8('-'));
	unsigned ok = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), dash));
	return (size_t)__builtin_ctz(~ok); /* bit 16 of ~ok is set: at most 16 */
}
#endif

/* Optional white space after a header's colon. */
static const uint8_t ows[256] = {[' '] = 1, ['\t'] = 1};
#endif
