/* The HTTP/1.x parser's loop over whole header lines (internal: included by http_parse.c only).
 * Most heads arrive in one buffer, and most of their lines name headers the parser does not
 * follow: those cost a name scan, a value scan and an addition here, instead of the state
 * machine's stores and bound checks per part. */
#ifndef RS_HTTP_PARSE_LINES_H
#define RS_HTTP_PARSE_LINES_H

#include "http_parse_fields.h"

#ifdef __SSE2__
/* For a name of n bytes (n < 18), a bit for each first letter a known header of that length
 * has, indexed by the letter's low five bits (either case; other bytes that share them only
 * cost a lookup that fails): most names are not looked up at all. */
#define L(c) (1u << ((c) & 31))
static const uint32_t known_first[18] = {
	[3] = L('s'),  [4] = L('h'),	      [7] = L('u'),  [10] = L('u') | L('t') | L('c'),
	[11] = L('t') | L('r'), [14] = L('c'), [17] = L('t'),
};
#undef L

/* Whether [v, e) is all digits. */
static inline bool digits_only(const char *v, const char *e)
{
	for (; v < e; v++)
		if ((unsigned)(*v - '0') >= 10)
			return false;
	return true;
}

/* A Content-Length value of 1 to 15 digits (below framing_byte's bound): its number, as the
 * byte-by-byte path leaves it for framing_end. */
static inline void length_digits(struct rs_hp *p, const char *v, const char *e)
{
	uint64_t n = 0;
	for (; v < e; v++)
		n = n * 10 + (uint64_t)(*v - '0');
	p->scratch = n;
	p->vflags = 1;
}

/* From s = buf + i, a line start in S_HNAME_START (p->line is 0 there): every following
 * header line that is whole in the buffer and ends in CRLF, exactly as the state machine would
 * take it. Returns where it stopped: at the first line it leaves to the state machine (the empty
 * line that ends the head, a bare LF, a name split by the buffer's end, anything to report as
 * an error), with p in S_HNAME_START; or in S_ERROR when a framing header's value was wrong.
 * Lines are taken only while the head stays within RS_HP_MAX_LINE, so no bound can be passed
 * here (the state machine finds any that is). */
static size_t lines_whole(struct rs_hp *p, const char *buf, size_t i, size_t len)
{
	if (p->head >= RS_HP_MAX_LINE)
		return i;
	const char *s = buf + i, *first = s;
	const char *end = s + RS_MIN(len - i, (size_t)(RS_HP_MAX_LINE - p->head));
	while (end - s >= 16) { /* name_run16 reads 16 bytes */
		size_t run = name_run16(s);
		const char *c = s + run;
		if (run == 16 || *c != ':') { /* a name with other tchars, or 16 bytes or longer */
			while (c < end && is_tchar((unsigned char)*c))
				c++;
			if (c == end || *c != ':')
				break;
		}
		if (c == s)
			break; /* not a name */
		size_t nl = (size_t)(c - s);
		/* The value's white space is neither CR nor LF: the line's end is found from past the
		 * usual single space, and the value's start only for a header that is followed. */
		const char *v = c + 1 + (c + 1 < end && c[1] == ' ');
		const char *e = v + value_run(v, (size_t)(end - v));
		if (end - e < 2 || load16(e) != load16("\r\n"))
			break; /* a bare LF, a lone CR, or the line goes on past what is here */
		unsigned h = nl < RS_ARRAY_LEN(known_first) &&
				     (known_first[nl] >> ((unsigned char)*s & 31) & 1)
			     ? name_lookup(s, nl)
			     : H_NONE;
		if (h != H_NONE) {
			while (v < e && ows[(unsigned char)*v])
				v++;
			if (h >= H_TRACEPARENT && h <= H_SW8)
				emit(p, RS_HPF_NAME_TRACEPARENT + h - H_TRACEPARENT, c - 1, 1, true);
			name_is(p, h);
			unsigned field = headers[h].field;
			if (field != RS_HPF_NONE)
				emit(p, field, v, (size_t)(e - v), true);
			else if (h == H_CONTENT_LENGTH && e > v && e - v <= 15 && digits_only(v, e))
				length_digits(p, v, e); /* framing_run's outcome for plain digits */
			else
				framing_run(p, (const unsigned char *)v, (size_t)(e - v));
			if (p->state != S_ERROR)
				framing_end(p);
			if (p->state == S_ERROR)
				return (size_t)(s - buf);
			p->field = H_NONE;
			p->state = S_HNAME_START;
		}
		s = e + 2;
	}
	p->head += (uint32_t)(s - first);
	return (size_t)(s - buf);
}
#endif

#endif
