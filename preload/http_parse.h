/* An incremental HTTP/1.x message parser for one direction of a connection. It never allocates
 * or copies: bytes are fed as they pass (any split, down to one byte at a time), and what the
 * caller asked to know comes back as events and as runs of bytes of the fields it captures. It
 * finds where each message ends (Content-Length, chunked, no body, or close) so keep-alive and
 * pipelined messages each get their own. Every line and the whole head are bounded. */
#ifndef RS_HTTP_PARSE_H
#define RS_HTTP_PARSE_H

#include "rs.h"

#include <stddef.h>

#define RS_HP_MAX_LINE 8192  /* a request line, status line or header line */
#define RS_HP_MAX_HEAD 65536 /* the whole head */

/* Fields whose bytes are handed to the capture callback. */
enum rs_hp_field {
	RS_HPF_NONE = 0,
	RS_HPF_METHOD,
	RS_HPF_TARGET,
	RS_HPF_HOST,
	RS_HPF_USER_AGENT,
	RS_HPF_TRACEPARENT,
	RS_HPF_TRACESTATE,
	RS_HPF_SW8,
	RS_HPF_RETRY_AFTER, /* responses: a collector asking to wait */
	/* The last byte of a propagation header's name (n == 1), where a client can rename it;
	 * reported only when the colon follows in the same buffer. */
	RS_HPF_NAME_TRACEPARENT,
	RS_HPF_NAME_TRACESTATE,
	RS_HPF_NAME_SW8,
	RS_HPF_BODY, /* body bytes, de-chunked (end is always false: RS_HP_MSG_DONE ends a body) */
	RS_HPF_COUNT
};

enum rs_hp_mode { RS_HP_REQUEST, RS_HP_RESPONSE };

enum rs_hp_event {
	RS_HP_MORE,	 /* everything fed was consumed; no event */
	RS_HP_LINE_END,	 /* the request line ended (requests only): the injection point */
	RS_HP_HEAD_DONE, /* the head ended */
	RS_HP_MSG_DONE,	 /* the message ended; the next byte starts a new one */
	RS_HP_ERROR,	 /* not HTTP/1.x, or over a bound: the parser stays in error */
};

enum rs_hp_flags {
	RS_HPM_CHUNKED = 1 << 0,
	RS_HPM_LENGTH = 1 << 1,	     /* Content-Length given */
	RS_HPM_CLOSE = 1 << 2,	     /* Connection: close */
	RS_HPM_KEEP_ALIVE = 1 << 3,  /* Connection: keep-alive */
	RS_HPM_UPGRADE = 1 << 4,     /* Upgrade requested (requests) or 101 (responses) */
	RS_HPM_TO_CLOSE = 1 << 5,    /* response body runs to the close of the connection */
	RS_HPM_NO_BODY = 1 << 6,     /* caller says: the response to a HEAD request, or CONNECT 2xx */
	RS_HPM_DUP_TRACEPARENT = 1 << 7, /* more than one traceparent header */
};

struct rs_hp;

/* Receives bytes of a captured field as they pass: several calls make one value when it is split
 * across feeds; end marks the field's last call (possibly with n == 0). */
typedef void (*rs_hp_capture_fn)(void *arg, enum rs_hp_field field, const char *bytes, size_t n,
				 bool end);

/* The two states the inline functions below test (http_parse_fields.h holds the rest). */
#define RS_HP_STATE_START 0
#define RS_HP_STATE_MSG_DONE 26

struct rs_hp {
	uint8_t state;
	uint8_t mode;
	uint8_t version; /* minor version: 0 or 1 */
	uint8_t field;	 /* field being captured, or header being matched */
	uint16_t flags;
	uint16_t status;
	uint32_t line;	    /* bytes in the current line */
	uint32_t head;	    /* bytes in the current head */
	uint64_t remaining; /* body or chunk bytes still to come; position in the version */
	uint64_t scratch;   /* a framing header's value: digits, or its last eight bytes */
	uint8_t vflags;	    /* while in a Content-Length value: digits seen, white space after */
	bool no_line_end;   /* RS_HP_LINE_END not wanted (see rs_hp_no_line_end) */
	uint32_t candidates; /* header names still matching the name being read (bit per entry) */
	uint32_t capture;    /* RS_HPF_* bits the caller wants the bytes of */
	uint32_t seen;	     /* RS_HPF_* bits met in this head */
	uint64_t content_length;
	uint64_t body_bytes; /* body bytes of the current message so far */
	uint64_t last_body;  /* body bytes of the message that ended last */
	rs_hp_capture_fn on_capture;
	void *arg;
};

/* Prepares p for the direction's first message. capture: RS_HPF_* bits (1u << field). */
void rs_hp_init(struct rs_hp *p, enum rs_hp_mode mode, uint32_t capture, rs_hp_capture_fn fn,
		void *arg);

size_t rs_hp_feed_some(struct rs_hp *p, const char *buf, size_t len, enum rs_hp_event *ev);

/* Feeds bytes. Returns how many were consumed: all of len with RS_HP_MORE, or up to and
 * including the byte that raised *ev (the caller acts, then feeds the rest). Callers feed again
 * after every event, often with nothing left: that costs them this test, not a call. */
static inline size_t rs_hp_feed(struct rs_hp *p, const char *buf, size_t len,
				enum rs_hp_event *ev)
{
	if (len == 0 && p->state != RS_HP_STATE_MSG_DONE) {
		*ev = RS_HP_MORE;
		return 0;
	}
	return rs_hp_feed_some(p, buf, len, ev);
}

/* Body bytes that bypassed the parser (sendfile): counts them against the body. Returns the
 * event they cause (RS_HP_MSG_DONE when they complete it), RS_HP_ERROR if the parser was not in a
 * counted body. */
enum rs_hp_event rs_hp_skip(struct rs_hp *p, uint64_t n);

/* The peer closed: a body that runs to the close ends here (RS_HP_MSG_DONE); otherwise a message
 * in progress was cut short (RS_HP_ERROR) or none was (RS_HP_MORE). */
enum rs_hp_event rs_hp_close(struct rs_hp *p);

/* For a response parser: the next response answers a HEAD request or a CONNECT (no body). */
static inline void rs_hp_expect_no_body(struct rs_hp *p)
{
	p->flags |= RS_HPM_NO_BODY;
}

/* For a request parser whose caller has nothing to do at a request line's end (a server's):
 * RS_HP_LINE_END is not reported, and the head is parsed on without returning there. */
static inline void rs_hp_no_line_end(struct rs_hp *p)
{
	p->no_line_end = true;
}

/* True when the parser sits between messages (nothing of the next one seen). */
static inline bool rs_hp_idle(const struct rs_hp *p)
{
	return p->state == RS_HP_STATE_START && p->line == 0;
}

/* Whether the first bytes can start an HTTP/1.x response: "HTTP/1." Returns 1 yes, 0 no, -1 need
 * more bytes. (A request's: rs_http_sniff_request, http_route.h, by the method names.) */
int rs_hp_sniff_response(const char *buf, size_t len);

#endif
