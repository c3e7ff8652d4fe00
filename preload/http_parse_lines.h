/* The HTTP/1.x parser's loop over whole header lines (internal: included by http_parse.c only).
 * Most heads arrive in one buffer, and most of their lines name headers the parser does not
 * follow: those cost a name scan, a value scan and an addition here, instead of the state
 * machine's stores and bound checks per part. */
#ifndef RS_HTTP_PARSE_LINES_H
#define RS_HTTP_PARSE_LINES_H

#include "http_parse_fields.h"

#ifdef __SSE2__
/* Bit n set when a known header's name has n bytes: the lengths name_lookup switches on. */
static const uint32_t known_lengths = 1u << 3 | 1u << 4 | 1u << 7 | 1u << 10 | 1u << 11 | 1u << 14 |
				      1u << 17;

/* From b[i], a line start in S_HNAME_START (p->line is 0 there): every following header line that
 * is whole in the buffer and ends in CRLF, exactly as the state machine would take it. Returns
 * where it stopped: at the first line it leaves to the state machine (the empty line that ends
 * the head, a bare LF, a name split by the buffer's end, anything to report as an error), with
 * p in S_HNAME_START; or in S_ERROR when a framing header's value was wrong. Lines are taken
 * only while the head stays within RS_HP_MAX_LINE, so no bound can be passed here (the state
 * machine finds any that is). */
static size_t lines_whole(struct rs_hp *p, const char *buf, size_t i, size_t len)
{
	const unsigned char *b = (const unsigned char *)buf;
	if (p->head >= RS_HP_MAX_LINE)
		return i;
	size_t end = i + RS_MIN(len - i, (size_t)(RS_HP_MAX_LINE - p->head));
	uint32_t head = p->head;
	while (end - i >= 16) { /* name_run16 reads 16 bytes */
		size_t j = i + name_run16(buf + i);
		if (j < end && b[j] != ':')
			while (j < end && is_tchar(b[j]))
				j++;
		if (j == i || j >= end || b[j] != ':')
			break; /* not a name, or not whole here */
		size_t name = i, nl = j - i;
		j++;
		if (j < end && b[j] == ' ') /* the usual single space, then any more */
			j++;
		while (j < end && ows[b[j]])
			j++;
		size_t v = j;
		j += value_run(buf + j, end - j);
		if (end - j < 2 || load16(buf + j) != load16("\r\n"))
			break; /* a bare LF, a lone CR, or the line goes on past what is here */
		/* Only names of a known header's length are looked up (most lines' are not). */
		unsigned h = nl < 32 && (known_lengths >> nl & 1) ? name_lookup(buf + name, nl) : H_NONE;
		if (h != H_NONE) {
			if (h >= H_TRACEPARENT && h <= H_SW8)
				emit(p, RS_HPF_NAME_TRACEPARENT + h - H_TRACEPARENT, buf + name + nl - 1, 1,
				     true);
			name_is(p, h);
			unsigned field = headers[h].field;
			if (field != RS_HPF_NONE)
				emit(p, field, buf + v, j - v, true);
			else
				framing_run(p, b + v, j - v);
			if (p->state != S_ERROR)
				framing_end(p);
			if (p->state == S_ERROR)
				return i;
			p->field = H_NONE;
			p->state = S_HNAME_START;
		}
		head += (uint32_t)(j + 2 - i);
		i = j + 2;
	}
	p->head = head;
	return i;
}
#endif

#endif
