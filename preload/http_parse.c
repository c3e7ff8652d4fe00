/* The HTTP/1.x parser (see http_parse.h). A byte-driven state machine over the head, with runs
 * handed to the capture callback in one call per feed; bodies are skipped by counting. Lenient
 * where real peers are (bare LF line ends, empty lines before a request), strict where a wrong
 * guess would misframe the next message (lengths, chunk sizes). */
#include "http_parse.h"

#include <string.h>

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

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

void rs_hp_init(struct rs_hp *p, enum rs_hp_mode mode, uint32_t capture, rs_hp_capture_fn fn,
		void *arg)
{
	memset(p, 0, sizeof(*p));
	p->mode = (uint8_t)mode;
	p->state = S_START;
	p->capture = capture;
	p->on_capture = fn;
	p->arg = arg;
	p->field = H_NONE;
}

bool rs_hp_idle(const struct rs_hp *p)
{
	return p->state == S_START && p->line == 0;
}

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

static inline uint64_t load64(const char *s)
{
	uint64_t v;
	memcpy(&v, s, 8);
	return v;
}

static inline uint32_t load32(const char *s)
{
	uint32_t v;
	memcpy(&v, s, 4);
	return v;
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

/* Length of the run of bytes from b that stay in the current value: up to CR or LF. Values are
 * short (tens of bytes), where two memchr calls cost more than the scan: eight bytes at a time,
 * any byte up to 0x0d (CR, LF, and the rare tab or control byte) flagged by subtracting 0x0e
 * from each; the bytes of a flagged word are then looked at one by one, from the first flagged
 * (a true one: false flags lie only above a byte that borrowed). */
static inline __attribute__((always_inline)) size_t value_run(const char *b, size_t n)
{
	size_t i = 0;
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

/* Optional white space after a header's colon. */
static const uint8_t ows[256] = {[' '] = 1, ['\t'] = 1};

static size_t feed_bytes(struct rs_hp *p, const char *buf, size_t len, enum rs_hp_event *ev);

size_t rs_hp_feed(struct rs_hp *p, const char *buf, size_t len, enum rs_hp_event *ev)
{
	*ev = RS_HP_MORE;
	if (p->state == S_MSG_DONE) {
		if (p->flags & RS_HPM_UPGRADE) {
			p->state = S_OPAQUE;
		} else {
			next_message(p);
		}
		*ev = RS_HP_MSG_DONE;
		return 0;
	}
	/* Callers feed again after every event, often with nothing left: that costs no more than
	 * this check, not the state machine's frame. */
	if (len == 0)
		return 0;
	return feed_bytes(p, buf, len, ev);
}

/* The state machine over len > 0 bytes (rs_hp_feed has set *ev to RS_HP_MORE). */
static __attribute__((noinline)) size_t feed_bytes(struct rs_hp *p, const char *buf, size_t len,
						   enum rs_hp_event *ev)
{
	const unsigned char *b = (const unsigned char *)buf;
	size_t i = 0;
	while (i < len) {
		unsigned char c = b[i];
		switch (p->state) {
		case S_START:
			if (c == '\r' || c == '\n') {
				/* Empty lines before a message are tolerated, within the bounds. */
				if (!count(p, 1))
					goto error;
				i++;
				break;
			}
			p->line = 0;
			if (p->mode == RS_HP_REQUEST) {
				if (!is_tchar(c))
					goto error;
				p->state = S_METHOD;
			} else {
				p->state = S_STATUS_VERSION;
			}
			break;
		case S_METHOD: {
			size_t j = i;
			while (j < len && is_tchar(b[j]))
				j++;
			/* Ended here: one call with end set, not a second empty one. */
			bool ends = j < len && b[j] == ' ';
			if (!count(p, j - i + ends)) /* with its space */
				goto error;
			emit(p, RS_HPF_METHOD, buf + i, j - i, ends);
			if (j < len) {
				if (!ends)
					goto error;
				p->state = S_TARGET;
				j++;
			}
			i = j;
			break;
		}
		case S_TARGET: {
			size_t j = i + target_run(buf + i, len - i);
			/* Ended here: one call with end set, not a second empty one. */
			bool ends = j < len && b[j] == ' ';
			if (!count(p, j - i + ends)) /* with its space */
				goto error;
			emit(p, RS_HPF_TARGET, buf + i, j - i, ends);
			if (j < len) {
				if (!ends)
					goto error;
				p->state = S_REQ_VERSION;
				p->version = 0xff;
				p->remaining = 0;
				j++;
			}
			i = j;
			break;
		}
		case S_REQ_VERSION:
		case S_STATUS_VERSION: {
			/* "HTTP/1.x", eight bytes, then CR/LF (requests) or a space (responses). */
			static const char v[] = "HTTP/1.";
			size_t k = p->remaining;
			if (k == 0 && len - i >= 8 && memcmp(b + i, v, 7) == 0 &&
			    (b[i + 7] == '0' || b[i + 7] == '1')) {
				/* All eight in this buffer: at once, and the usual terminator with them. */
				p->version = (uint8_t)(b[i + 7] - '0');
				p->remaining = 8;
				if (p->state == S_REQ_VERSION && len - i >= 10 && b[i + 8] == '\r' &&
				    b[i + 9] == '\n') {
					if (!count(p, 9))
						goto error;
					i += 9;
					goto line_end; /* which takes the LF */
				}
				if (p->state == S_STATUS_VERSION && len - i >= 9 && b[i + 8] == ' ') {
					p->state = S_STATUS_CODE;
					p->status = 0;
					p->remaining = 0;
					if (!count(p, 9))
						goto error;
					i += 9;
					break;
				}
				if (!count(p, 8))
					goto error;
				i += 8;
				break;
			}
			if (k < 7) {
				if (c != (unsigned char)v[k])
					goto error;
			} else if (k == 7) {
				if (c != '0' && c != '1')
					goto error;
				p->version = (uint8_t)(c - '0');
			} else if (p->state == S_REQ_VERSION) {
				if (c == '\r') {
					p->state = S_LINE_LF;
				} else if (c == '\n') {
					goto line_end;
				} else {
					goto error;
				}
			} else {
				if (c != ' ')
					goto error;
				p->state = S_STATUS_CODE;
				p->status = 0;
				p->remaining = 0;
				if (!count(p, 1))
					goto error;
				i++;
				break;
			}
			p->remaining = k + 1;
			if (!count(p, 1))
				goto error;
			i++;
			break;
		}
		case S_STATUS_CODE:
			if (p->remaining == 0 && len - i >= 3 && c >= '0' && c <= '9' &&
			    b[i + 1] >= '0' && b[i + 1] <= '9' && b[i + 2] >= '0' && b[i + 2] <= '9') {
				p->status = (uint16_t)((c - '0') * 100 + (b[i + 1] - '0') * 10 +
						       (b[i + 2] - '0'));
				p->remaining = 3;
				bool sp = len - i >= 4 && b[i + 3] == ' ';
				if (sp)
					p->state = S_REASON;
				if (!count(p, 3 + sp))
					goto error;
				i += 3 + sp;
				break;
			}
			if (p->remaining < 3) {
				if (c < '0' || c > '9')
					goto error;
				p->status = (uint16_t)(p->status * 10 + (c - '0'));
				p->remaining++;
			} else if (c == ' ') {
				p->state = S_REASON;
			} else if (c == '\r') {
				p->state = S_LINE_LF;
			} else if (c == '\n') {
				goto line_end;
			} else {
				goto error;
			}
			if (!count(p, 1))
				goto error;
			i++;
			break;
		case S_REASON: {
			size_t j = i + value_run(buf + i, len - i);
			if (!count(p, j - i))
				goto error;
			i = j;
			if (i < len) {
				p->state = b[i] == '\r' ? S_LINE_LF : S_HNAME_START;
				if (!count(p, 1))
					goto error;
				if (b[i++] == '\n')
					p->line = 0;
			}
			break;
		}
		case S_LINE_LF:
			if (c != '\n')
				goto error;
		line_end:
			i++;
			if (!count(p, 1))
				goto error;
			p->line = 0;
			p->state = S_HNAME_START;
			if (p->mode == RS_HP_REQUEST) {
				*ev = RS_HP_LINE_END;
				return i;
			}
			break;
		case S_HNAME_START:
		hname_start:
			if (c == '\r') {
				if (!count(p, 1))
					goto error;
				i++;
				if (i < len && b[i] == '\n')
					goto head_end;
				p->state = S_HEAD_END_LF;
				break;
			}
			if (c == '\n')
				goto head_end;
			if (!is_tchar(c))
				goto error; /* includes obsolete line folding: not followed */
			p->candidates = all_headers;
			/* The usual case: the whole name and its colon are in this buffer. */
			{
				size_t j = i, lim = len - i > 64 ? i + 64 : len;
				while (j + 4 <= lim && (tchar[b[j]] & tchar[b[j + 1]] & tchar[b[j + 2]] &
							tchar[b[j + 3]]))
					j += 4; /* four at a time: names are mostly longer */
				while (j < lim && is_tchar(b[j]))
					j++;
				if (j < len && b[j] == ':') {
					name_whole(p, buf + i, j - i);
					/* Its white space and value too, while they are in this buffer:
					 * a whole header line without a trip through the switch per part. */
					for (j++; j < len && ows[b[j]];)
						j++;
					if (!count(p, j - i))
						goto error;
					i = j;
					if (i == len)
						break;
					p->state = S_HVALUE;
					goto hvalue;
				}
			}
			p->state = S_HNAME;
			break;
		case S_HNAME: {
			/* A name split across feeds: matched byte by byte. */
			if (c == ':') {
				name_done(p, p->line); /* the name starts the line */
				if (!count(p, 1))
					goto error;
				i++;
				break;
			}
			if (!is_tchar(c))
				goto error;
			uint32_t pos = p->line; /* the name starts the line */
			for (unsigned h = 0; h < H_COUNT; h++) {
				if (!(p->candidates & (1u << h)))
					continue;
				if (pos >= headers[h].len || lower(c) != (unsigned char)headers[h].name[pos])
					p->candidates &= ~(1u << h);
			}
			/* The last byte of a propagation header's name, where a client may rename it:
			 * only when the colon follows in this same buffer, so that a longer name is
			 * never touched (a rename is lost when a write ends right after the name). */
			for (unsigned h = H_TRACEPARENT; h <= H_SW8; h++)
				if ((p->candidates & (1u << h)) && pos + 1 == headers[h].len &&
				    i + 1 < len && b[i + 1] == ':')
					emit(p, RS_HPF_NAME_TRACEPARENT + h - H_TRACEPARENT, buf + i, 1,
					     true);
			if (!count(p, 1))
				goto error;
			i++;
			break;
		}
		case S_HVALUE_OWS:
			if (c == ' ' || c == '\t') {
				if (!count(p, 1))
					goto error;
				i++;
				break;
			}
			p->state = S_HVALUE;
			p->candidates = 0;
			break;
		case S_HVALUE:
		hvalue: {
			p->candidates = 0;
			size_t j = i + value_run(buf + i, len - i);
			bool crlf = len - j >= 2 && b[j] == '\r' && b[j + 1] == '\n';
			if (!count(p, j - i + (crlf ? 2 : 0))) /* with its line end when whole */
				goto error;
			if (p->field != H_NONE) {
				unsigned field = headers[p->field].field;
				if (field != RS_HPF_NONE) {
					emit(p, field, buf + i, j - i, j < len);
				} else {
					for (size_t k = i; k < j && p->state != S_ERROR; k++)
						framing_byte(p, b[k]);
					if (p->state == S_ERROR)
						goto error;
				}
			}
			i = j;
			if (i < len) {
				if (p->field != H_NONE) {
					framing_end(p); /* a captured value's end went with its bytes */
					if (p->state == S_ERROR)
						goto error;
				}
				p->field = H_NONE;
				if (crlf) {
					/* CRLF whole (counted above): straight to the next line. */
					i += 2;
					p->state = S_HNAME_START;
					p->line = 0;
					if (i == len)
						break;
					c = b[i];
					goto hname_start; /* the next line, still in this buffer */
				}
				if (!count(p, 1))
					goto error;
				if (b[i++] == '\r') {
					p->state = S_HVALUE_LF;
				} else {
					p->state = S_HNAME_START;
					p->line = 0;
				}
			}
			break;
		}
		case S_HVALUE_LF:
			if (c != '\n')
				goto error;
			if (!count(p, 1))
				goto error;
			i++;
			p->line = 0;
			p->state = S_HNAME_START;
			break;
		case S_HEAD_END_LF:
			if (c != '\n')
				goto error;
		head_end:
			i++;
			p->line = 0;
			p->state = body_state(p);
			if (p->state == S_START && p->mode == RS_HP_RESPONSE) {
				/* An interim (1xx) response: report its head; the real one follows. */
				uint16_t keep = p->flags & RS_HPM_NO_BODY;
				uint16_t status = p->status;
				next_message(p);
				p->flags = keep;
				p->status = status;
			}
			*ev = RS_HP_HEAD_DONE;
			return i;
		case S_BODY_LENGTH: {
			uint64_t n = RS_MIN((uint64_t)(len - i), p->remaining);
			emit(p, RS_HPF_BODY, buf + i, (size_t)n, false);
			p->remaining -= n;
			p->body_bytes += n;
			i += n;
			if (p->remaining == 0) {
				next_message(p);
				*ev = RS_HP_MSG_DONE;
				return i;
			}
			break;
		}
		case S_CHUNK_SIZE: {
			int h = hexval(c);
			if (h >= 0) {
				if (p->remaining >> 56)
					goto error; /* more than 14 hex digits */
				p->remaining = (p->remaining << 4) | (uint64_t)h;
				p->line++;
			} else if (p->line == 0) {
				goto error; /* no digits */
			} else if (c == ';' || c == ' ' || c == '\t') {
				p->state = S_CHUNK_EXT;
			} else if (c == '\r') {
				p->state = S_CHUNK_SIZE_LF;
			} else if (c == '\n') {
				goto chunk_size_done;
			} else {
				goto error;
			}
			i++;
			break;
		}
		case S_CHUNK_EXT: {
			size_t j = i + value_run(buf + i, len - i);
			p->head += (uint32_t)(j - i);
			if (p->head > RS_HP_MAX_HEAD)
				goto error; /* chunk extensions count against the head bound */
			i = j;
			if (i < len) {
				if (b[i] == '\n')
					goto chunk_size_done;
				p->state = S_CHUNK_SIZE_LF;
				i++;
			}
			break;
		}
		case S_CHUNK_SIZE_LF:
			if (c != '\n')
				goto error;
		chunk_size_done:
			i++;
			p->line = 0;
			p->state = p->remaining ? S_CHUNK_DATA : S_TRAILER_START;
			break;
		case S_CHUNK_DATA: {
			uint64_t n = RS_MIN((uint64_t)(len - i), p->remaining);
			emit(p, RS_HPF_BODY, buf + i, (size_t)n, false);
			p->remaining -= n;
			p->body_bytes += n;
			i += n;
			if (p->remaining == 0)
				p->state = S_CHUNK_DATA_CR;
			break;
		}
		case S_CHUNK_DATA_CR:
			if (c == '\n') {
				p->state = S_CHUNK_SIZE;
			} else if (c == '\r') {
				p->state = S_CHUNK_DATA_LF;
			} else {
				goto error;
			}
			i++;
			break;
		case S_CHUNK_DATA_LF:
			if (c != '\n')
				goto error;
			p->state = S_CHUNK_SIZE;
			i++;
			break;
		case S_TRAILER_START:
			if (c == '\r') {
				p->state = S_TRAILER_END_LF;
				i++;
				break;
			}
			if (c == '\n')
				goto msg_done;
			p->state = S_TRAILER;
			p->line = 0;
			break;
		case S_TRAILER: {
			size_t j = i + value_run(buf + i, len - i);
			if (!count(p, j - i))
				goto error;
			i = j;
			if (i < len) {
				if (!count(p, 1))
					goto error;
				p->state = b[i++] == '\r' ? S_TRAILER_LF : S_TRAILER_START;
			}
			break;
		}
		case S_TRAILER_LF:
			if (c != '\n')
				goto error;
			i++;
			p->state = S_TRAILER_START;
			break;
		case S_TRAILER_END_LF:
			if (c != '\n')
				goto error;
		msg_done:
			i++;
			next_message(p);
			*ev = RS_HP_MSG_DONE;
			return i;
		case S_BODY_CLOSE:
			emit(p, RS_HPF_BODY, buf + i, len - i, false);
			p->body_bytes += len - i;
			return len;
		case S_OPAQUE:
			return len;
		case S_MSG_DONE:
			if (p->flags & RS_HPM_UPGRADE)
				p->state = S_OPAQUE;
			else
				next_message(p);
			*ev = RS_HP_MSG_DONE;
			return i;
		case S_ERROR:
		default:
			goto error;
		}
		if (p->state == S_ERROR)
			goto error;
	}
	return i;
error:
	p->state = S_ERROR;
	*ev = RS_HP_ERROR;
	return len;
}

enum rs_hp_event rs_hp_skip(struct rs_hp *p, uint64_t n)
{
	if (p->state == S_BODY_CLOSE || p->state == S_OPAQUE) {
		p->body_bytes += n;
		return RS_HP_MORE;
	}
	if ((p->state != S_BODY_LENGTH && p->state != S_CHUNK_DATA) || n > p->remaining) {
		p->state = S_ERROR;
		return RS_HP_ERROR;
	}
	p->remaining -= n;
	p->body_bytes += n;
	if (p->remaining)
		return RS_HP_MORE;
	if (p->state == S_CHUNK_DATA) {
		p->state = S_CHUNK_DATA_CR;
		return RS_HP_MORE;
	}
	next_message(p);
	return RS_HP_MSG_DONE;
}

enum rs_hp_event rs_hp_close(struct rs_hp *p)
{
	if (p->state == S_BODY_CLOSE) {
		next_message(p);
		return RS_HP_MSG_DONE;
	}
	if (p->state == S_OPAQUE || p->state == S_ERROR || rs_hp_idle(p))
		return RS_HP_MORE;
	return RS_HP_ERROR;
}

static const char *const methods[] = {"GET ",	  "POST ",  "PUT ",	"DELETE ", "HEAD ",
				      "OPTIONS ", "PATCH ", "CONNECT ", "TRACE ",  "QUERY "};

int rs_hp_sniff_request(const char *buf, size_t len)
{
	bool prefix = false;
	for (size_t m = 0; m < RS_ARRAY_LEN(methods); m++) {
		size_t ml = strlen(methods[m]);
		size_t n = RS_MIN(len, ml);
		if (memcmp(buf, methods[m], n) == 0) {
			if (n == ml)
				return 1;
			prefix = true;
		}
	}
	return prefix ? -1 : 0;
}

int rs_hp_sniff_response(const char *buf, size_t len)
{
	static const char v[] = "HTTP/1.";
	size_t n = RS_MIN(len, sizeof(v) - 1);
	if (memcmp(buf, v, n) != 0)
		return 0;
	return n == sizeof(v) - 1 ? 1 : -1;
}
