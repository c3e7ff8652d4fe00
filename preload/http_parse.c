/* The HTTP/1.x parser (see http_parse.h). A byte-driven state machine over the head, with runs
 * handed to the capture callback in one call per feed; bodies are skipped by counting. What is
 * wholly in the buffer (a name and its colon, a value and its CRLF, the version) is taken a word at
 * a time (http_scan.h), the rest byte by byte, with the same outcome for any split. Lenient where
 * real peers are (bare LF line ends, empty lines before a request), strict where a wrong guess
 * would misframe the next message (lengths, chunk sizes). */
#include "http_parse.h"
#include "http_parse_fields.h"
#include "http_parse_lines.h"
#include "http_scan.h"

#include <string.h>

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

static size_t feed_bytes(struct rs_hp *p, const char *buf, size_t len, enum rs_hp_event *ev);

/* Whether the 8 bytes at s are "HTTP/1.0" or "HTTP/1.1". */
static inline bool http1_version(const unsigned char *s)
{
	return memcmp(s, "HTTP/1.", 7) == 0 && (s[7] == '0' || s[7] == '1');
}

/* Whether s starts with "HTTP/1.0 " or "HTTP/1.1 ", three digits and a space (13 bytes). */
static inline bool status_start(const unsigned char *s)
{
	return http1_version(s) && s[8] == ' ' &&
	       (unsigned)(s[9] - '0') < 10 && (unsigned)(s[10] - '0') < 10 &&
	       (unsigned)(s[11] - '0') < 10 && s[12] == ' ';
}

/* rs_hp_feed with bytes to take or a message's end to report. */
size_t rs_hp_feed_some(struct rs_hp *p, const char *buf, size_t len, enum rs_hp_event *ev)
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
	return feed_bytes(p, buf, len, ev); /* with len 0 (rs_hp_feed does not call so): 0, MORE */
}

/* The state machine over len bytes (rs_hp_feed_some has set *ev to RS_HP_MORE). */
static __attribute__((noinline)) size_t feed_bytes(struct rs_hp *p, const char *buf, size_t len,
						   enum rs_hp_event *ev)
{
	const unsigned char *b = (const unsigned char *)buf;
	size_t i = 0;
	size_t pend = 0; /* a header name's bytes, counted with its value (S_HNAME_START) */
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
				goto method;
			}
			p->state = S_STATUS_VERSION;
			/* The usual status line's start, whole in this buffer: at once, to the state
			 * and counts its bytes one by one would reach. */
			if (len - i >= 16 && status_start(b + i)) {
				p->version = (uint8_t)(b[i + 7] - '0');
				p->status = (uint16_t)((b[i + 9] - '0') * 100 + (b[i + 10] - '0') * 10 +
						       (b[i + 11] - '0'));
				p->remaining = 3;
				p->state = S_REASON;
				if (!count(p, 13))
					goto error;
				i += 13;
				c = b[i];
				goto reason;
			}
			break;
		case S_METHOD:
		method: {
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
				i = j + 1;
				if (i == len)
					break;
				c = b[i];
				goto target; /* still in this buffer: no trip through the switch */
			}
			i = j;
			break;
		}
		case S_TARGET:
		target: {
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
				i = j + 1;
				if (i == len)
					break;
				c = b[i];
				goto version;
			}
			i = j;
			break;
		}
		case S_REQ_VERSION:
		case S_STATUS_VERSION:
		version: {
			/* "HTTP/1.x", eight bytes, then CR/LF (requests) or a space (responses). */
			static const char v[] = "HTTP/1.";
			size_t k = p->remaining;
			if (k == 0 && len - i >= 8 && http1_version(b + i)) {
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
		case S_REASON:
		reason: {
			size_t j = i + value_run(buf + i, len - i);
			if (!count(p, j - i))
				goto error;
			i = j;
			if (i < len) {
				if (len - i >= 2 && load16(buf + i) == load16("\r\n")) {
					/* CRLF whole: straight to the first header line. */
					if (!count(p, 2))
						goto error;
					i += 2;
					p->line = 0;
					p->state = S_HNAME_START;
					if (i == len)
						break;
					c = b[i];
					goto hname_start;
				}
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
			if (p->mode == RS_HP_REQUEST && !p->no_line_end) {
				*ev = RS_HP_LINE_END;
				return i;
			}
			if (i == len)
				break;
			c = b[i];
			goto hname_start;
		case S_HNAME_START:
		hname_start:
#ifdef __SSE2__
			if (len - i >= 16 && is_tchar(c)) {
				size_t k = lines_whole(p, buf, i, len);
				if (p->state == S_ERROR)
					goto error;
				if (k != i) {
					i = k;
					if (i == len)
						break;
					c = b[i];
				}
			}
#endif
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
#ifdef __SSE2__
				if (len - i >= 16) {
					j += name_run16(buf + i); /* most names, at once */
					if (j < len && b[j] == ':')
						goto name_colon;
				}
#endif
				while (j + 4 <= lim && (tchar[b[j]] & tchar[b[j + 1]] & tchar[b[j + 2]] &
							tchar[b[j + 3]]))
					j += 4; /* four at a time: names are mostly longer */
				while (j < lim && is_tchar(b[j]))
					j++;
				if (j < len && b[j] == ':') {
#ifdef __SSE2__
				name_colon:
#endif
					name_whole(p, buf + i, j - i);
					/* Its white space and value too, while they are in this buffer:
					 * a whole header line without a trip through the switch per part. */
					for (j++; j < len && ows[b[j]];)
						j++;
					if (j == len) {
						if (!count(p, j - i))
							goto error;
						i = j;
						break;
					}
					/* Counted with the value: the bounds only grow, so one check of
					 * the sum fails exactly when one of the two would have. */
					pend = j - i;
					i = j;
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
			bool crlf = len - j >= 2 && load16(buf + j) == load16("\r\n");
			if (!count(p, pend + j - i + (crlf ? 2 : 0))) /* with its line end when whole */
				goto error;
			pend = 0;
			if (p->field != H_NONE) {
				unsigned field = headers[p->field].field;
				if (field != RS_HPF_NONE) {
					emit(p, field, buf + i, j - i, j < len);
				} else {
					framing_run(p, b + i, j - i);
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
			int h = rs_hexval(c);
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

int rs_hp_sniff_response(const char *buf, size_t len)
{
	static const char v[] = "HTTP/1.";
	size_t n = RS_MIN(len, sizeof(v) - 1);
	if (memcmp(buf, v, n) != 0)
		return 0;
	return n == sizeof(v) - 1 ? 1 : -1;
}
