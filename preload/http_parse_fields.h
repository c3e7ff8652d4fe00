/* The HTTP/1.x parser's states, the headers it knows, and what it does at a name's end and with a
 * framing header's value (internal: included by http_parse.c only, hence static definitions; kept
 * apart from the state machine so each file stays readable). */
#ifndef RS_HTTP_PARSE_FIELDS_H
#define RS_HTTP_PARSE_FIELDS_H

#include "http_parse.h"
#include "http_scan.h"

enum {
	S_START,
	S_METHOD,
	S_TARGET,
	S_REQ_VERSION,
	S_STATUS_VERSION,
	S_STATUS_CODE,
	S_REASON,
	S_LINE_LF,
	S_HNAME_START,
	S_HNAME,
	S_HVALUE_OWS,
	S_HVALUE,
	S_HVALUE_LF,
	S_HEAD_END_LF,
	S_BODY_LENGTH,
	S_CHUNK_SIZE,
	S_CHUNK_EXT,
	S_CHUNK_SIZE_LF,
	S_CHUNK_DATA,
	S_CHUNK_DATA_CR,
	S_CHUNK_DATA_LF,
	S_TRAILER_START,
	S_TRAILER,
	S_TRAILER_LF,
	S_TRAILER_END_LF,
	S_BODY_CLOSE,	/* response body up to the close */
	S_MSG_DONE,	/* head done, no body: MSG_DONE on the next feed */
	S_OPAQUE,	/* after an upgrade: not HTTP any more */
	S_ERROR,
};
_Static_assert(S_START == RS_HP_STATE_START && S_MSG_DONE == RS_HP_STATE_MSG_DONE,
	       "the states http_parse.h's inline functions test");

/* Headers the parser recognises, lowercase. Index order matters only for the bitmask. */
enum {
	H_HOST,
	H_USER_AGENT,
	H_TRACEPARENT,
	H_TRACESTATE,
	H_SW8,
	H_CONTENT_LENGTH,
	H_TRANSFER_ENCODING,
	H_CONNECTION,
	H_UPGRADE,
	H_RETRY_AFTER,
	H_COUNT,
	H_NONE = 0xff
};

static const struct {
	const char *name;
	uint8_t len;
	uint8_t field;
} headers[H_COUNT] = {
	[H_HOST] = {"host", 4, RS_HPF_HOST},
	[H_USER_AGENT] = {"user-agent", 10, RS_HPF_USER_AGENT},
	[H_TRACEPARENT] = {"traceparent", 11, RS_HPF_TRACEPARENT},
	[H_TRACESTATE] = {"tracestate", 10, RS_HPF_TRACESTATE},
	[H_SW8] = {"sw8", 3, RS_HPF_SW8},
	[H_CONTENT_LENGTH] = {"content-length", 14, RS_HPF_NONE},
	[H_TRANSFER_ENCODING] = {"transfer-encoding", 17, RS_HPF_NONE},
	[H_CONNECTION] = {"connection", 10, RS_HPF_NONE},
	[H_UPGRADE] = {"upgrade", 7, RS_HPF_NONE},
	[H_RETRY_AFTER] = {"retry-after", 11, RS_HPF_RETRY_AFTER},
};

static const uint32_t all_headers = (1u << H_COUNT) - 1;

static bool captured(const struct rs_hp *p, unsigned field)
{
	return field != RS_HPF_NONE && (p->capture & (1u << field)) && p->on_capture;
}

static void emit(struct rs_hp *p, unsigned field, const char *b, size_t n, bool end)
{
	if (captured(p, field))
		p->on_capture(p->arg, (enum rs_hp_field)field, b, n, end);
}

/* Starts the next message in this direction (a no-body expectation was for the one that ended). */
static void next_message(struct rs_hp *p)
{
	p->last_body = p->body_bytes;
	p->state = S_START;
	p->flags = 0;
	p->status = 0;
	p->line = 0;
	p->head = 0;
	p->remaining = 0;
	p->scratch = 0;
	p->vflags = 0;
	p->seen = 0;
	p->content_length = 0;
	p->body_bytes = 0;
	p->field = H_NONE;
}

static void fail(struct rs_hp *p)
{
	p->state = S_ERROR;
}

/* Interprets the value of a framing header, byte by byte (values may be split across feeds). */
static inline __attribute__((always_inline)) void framing_byte(struct rs_hp *p, unsigned char c)
{
	switch (p->field) {
	case H_CONTENT_LENGTH:
		if (c == ' ' || c == '\t') {
			if (p->vflags & 1)
				p->vflags |= 2; /* white space after the digits: they must have ended */
			return;
		}
		if (c < '0' || c > '9' || (p->vflags & 2) || p->scratch > (1ull << 52)) {
			fail(p);
			return;
		}
		p->vflags |= 1;
		p->scratch = p->scratch * 10 + (uint64_t)(c - '0');
		return;
	case H_TRANSFER_ENCODING:
	case H_CONNECTION:
	case H_UPGRADE:
		/* The last eight non-space bytes, lowercased, to match the final token. */
		if (c != ' ' && c != '\t')
			p->scratch = (p->scratch << 8) | lower(c);
		return;
	default:
		return;
	}
}

/* framing_byte over a run of n bytes of the value. A token header keeps only the window of its
 * last eight bytes that are not white space, so the run is read from its end for at most those,
 * shifting in below what earlier runs of the value left. */
static inline void framing_run(struct rs_hp *p, const unsigned char *s, size_t n)
{
	if (p->field == H_TRANSFER_ENCODING || p->field == H_CONNECTION || p->field == H_UPGRADE) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		if (n >= 8) { /* the usual case: no white space among the last eight, one word */
			uint64_t x = load64((const char *)s + n - 8);
			if (!has_byte8(x, ' ') && !has_byte8(x, '\t')) {
				p->scratch = __builtin_bswap64(lower8(x)); /* the last byte lowest */
				return;
			}
		}
#endif
		uint64_t w = 0;
		unsigned got = 0;
		for (size_t k = n; k-- > 0 && got < 8;)
			if (s[k] != ' ' && s[k] != '\t')
				w |= (uint64_t)lower(s[k]) << (8 * got++);
		p->scratch = got == 8 ? w : (p->scratch << (8 * got)) | w;
		return;
	}
	for (size_t k = 0; k < n && p->state != S_ERROR; k++)
		framing_byte(p, s[k]);
}

/* Whether the window's last n bytes are the word w (its bytes packed big-endian, as the window
 * shifts them in), n <= 8: the final token of the value. */
static inline bool tail_is(uint64_t window, uint64_t w, unsigned n)
{
	uint64_t mask = n >= 8 ? ~0ull : ((1ull << (8 * n)) - 1);
	if ((window & mask) != w)
		return false;
	/* The byte before the word, if any, must end the previous token. */
	unsigned char before = n < 8 ? (unsigned char)(window >> (8 * n)) : 0;
	return before == 0 || before == ',';
}

/* The final tokens framing_end looks for, packed as tail_is wants them (constants, so that a
 * value's end costs a few compares, not a loop over the word). */
#define W_CHUNKED 0x6368756e6b6564ull	 /* "chunked" */
#define W_CLOSE 0x636c6f7365ull		 /* "close" */
#define W_EP_ALIVE 0x65702d616c697665ull /* "ep-alive": keep-alive, the window holds eight */
#define W_UPGRADE 0x75706772616465ull	 /* "upgrade" */

/* A framing header's value has ended. */
static void framing_end(struct rs_hp *p)
{
	switch (p->field) {
	case H_CONTENT_LENGTH:
		if (!(p->vflags & 1) ||
		    ((p->flags & RS_HPM_LENGTH) && p->content_length != p->scratch)) {
			fail(p); /* empty, or two different lengths: a smuggling attempt */
			return;
		}
		p->flags |= RS_HPM_LENGTH;
		p->content_length = p->scratch;
		return;
	case H_TRANSFER_ENCODING:
		if (tail_is(p->scratch, W_CHUNKED, 7))
			p->flags |= RS_HPM_CHUNKED;
		else
			p->flags &= (uint16_t)~RS_HPM_CHUNKED; /* chunked must be the final coding */
		return;
	case H_CONNECTION:
		if (tail_is(p->scratch, W_CLOSE, 5))
			p->flags |= RS_HPM_CLOSE;
		if (tail_is(p->scratch, W_EP_ALIVE, 8))
			p->flags |= RS_HPM_KEEP_ALIVE;
		if (tail_is(p->scratch, W_UPGRADE, 7))
			p->flags |= RS_HPM_UPGRADE;
		return;
	case H_UPGRADE:
		if (p->mode == RS_HP_REQUEST)
			p->flags |= RS_HPM_UPGRADE;
		return;
	default:
		return;
	}
}

/* The head has ended: decide how the body is framed. Returns the state that follows. */
static uint8_t body_state(struct rs_hp *p)
{
	p->remaining = 0;
	if (p->mode == RS_HP_REQUEST) {
		if (p->flags & RS_HPM_CHUNKED)
			return S_CHUNK_SIZE;
		if ((p->flags & RS_HPM_LENGTH) && p->content_length) {
			p->remaining = p->content_length;
			return S_BODY_LENGTH;
		}
		return S_MSG_DONE;
	}
	if (p->status >= 100 && p->status < 200 && p->status != 101)
		return S_START; /* interim response: the final one follows */
	if (p->status == 101) {
		p->flags |= RS_HPM_UPGRADE;
		return S_MSG_DONE;
	}
	if ((p->flags & RS_HPM_NO_BODY) || p->status == 204 || p->status == 304)
		return S_MSG_DONE;
	if (p->flags & RS_HPM_CHUNKED)
		return S_CHUNK_SIZE;
	if (p->flags & RS_HPM_LENGTH) {
		p->remaining = p->content_length;
		return p->content_length ? S_BODY_LENGTH : S_MSG_DONE;
	}
	p->flags |= RS_HPM_TO_CLOSE;
	return S_BODY_CLOSE;
}

/* The name has ended at its colon and is header h (or H_NONE): on to its value. */
static void name_is(struct rs_hp *p, unsigned h)
{
	p->field = (uint8_t)h;
	if (h != H_NONE) {
		unsigned f = headers[h].field;
		if (h == H_TRACEPARENT && (p->seen & (1u << RS_HPF_TRACEPARENT)))
			p->flags |= RS_HPM_DUP_TRACEPARENT;
		if (f != RS_HPF_NONE)
			p->seen |= 1u << f;
	}
	p->candidates = 0;
	p->scratch = 0;
	p->vflags = 0;
	p->state = S_HVALUE_OWS;
}

/* A name that was matched byte by byte (split across feeds) has ended after name_len bytes. */
static void name_done(struct rs_hp *p, size_t name_len)
{
	unsigned field = H_NONE;
	for (unsigned h = 0; h < H_COUNT; h++)
		if ((p->candidates & (1u << h)) && headers[h].len == name_len)
			field = h;
	name_is(p, field);
}
/* Which known header the whole name of n tchar bytes is: by length, then its first byte. */
static unsigned name_lookup(const char *s, size_t n)
{
	unsigned h;
	switch (n) {
	case 3:
		h = H_SW8;
		break;
	case 4:
		h = H_HOST;
		break;
	case 7:
		h = H_UPGRADE;
		break;
	case 10:
		switch (s[0] | 0x20) {
		case 'u':
			h = H_USER_AGENT;
			break;
		case 't':
			h = H_TRACESTATE;
			break;
		case 'c':
			h = H_CONNECTION;
			break;
		default:
			return H_NONE;
		}
		break;
	case 11:
		h = (s[0] | 0x20) == 't' ? H_TRACEPARENT : H_RETRY_AFTER;
		break;
	case 14:
		h = H_CONTENT_LENGTH;
		break;
	case 17:
		h = H_TRANSFER_ENCODING;
		break;
	default:
		return H_NONE;
	}
	return name_eq(s, headers[h].name, n) ? h : H_NONE;
}

/* A whole name of n bytes at name (its colon follows): matched at once by length and bytes. */
static void name_whole(struct rs_hp *p, const char *name, size_t n)
{
	unsigned h = name_lookup(name, n);
	if (h >= H_TRACEPARENT && h <= H_SW8)
		emit(p, RS_HPF_NAME_TRACEPARENT + h - H_TRACEPARENT, name + n - 1, 1, true);
	name_is(p, h);
}

/* Counts a line's byte against the bounds; false (and error) past them. */
static bool count(struct rs_hp *p, size_t n)
{
	p->line += (uint32_t)n;
	p->head += (uint32_t)n;
	if (p->line > RS_HP_MAX_LINE || p->head > RS_HP_MAX_HEAD) {
		fail(p);
		return false;
	}
	return true;
}
#endif
