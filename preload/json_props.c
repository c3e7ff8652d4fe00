/* The flat JSON object parser of json_props.h: Kafka producer properties from the environment.
 * One pass over the bytes with an explicit cursor and an output bound; anything beyond the flat
 * object (nesting, null, trailing bytes, a property too many) fails the whole object. */
#include "json_props.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NAME_MAX_LEN 255

struct parse {
	const char *s;
	size_t len, at;
	char *out;
	size_t size, used;
	const char *err;
};

static bool fail(struct parse *p, const char *err)
{
	if (!p->err)
		p->err = err;
	return false;
}

static void skip_ws(struct parse *p)
{
	while (p->at < p->len && (p->s[p->at] == ' ' || p->s[p->at] == '\t' ||
				  p->s[p->at] == '\n' || p->s[p->at] == '\r'))
		p->at++;
}

static bool peek(struct parse *p, char c)
{
	return p->at < p->len && p->s[p->at] == c;
}

static bool put(struct parse *p, const void *b, size_t n)
{
	if (p->size - p->used < n)
		return fail(p, "the decoded properties do not fit");
	memcpy(p->out + p->used, b, n);
	p->used += n;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits after "\u". */
static bool hex4(struct parse *p, uint32_t *cp)
{
	if (p->len - p->at < 4)
		return fail(p, "a \\u escape is cut short");
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p->s[p->at + (size_t)i]);
		if (h < 0)
			return fail(p, "a \\u escape is not four hex digits");
		v = v << 4 | (uint32_t)h;
	}
	p->at += 4;
	*cp = v;
	return true;
}

static bool put_utf8(struct parse *p, uint32_t cp)
{
	unsigned char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return put(p, b, n);
}

/* An escape after the backslash; surrogate pairs become one 4-byte UTF-8 sequence. */
static bool escape(struct parse *p)
{
	if (p->at >= p->len)
		return fail(p, "a string is not closed");
	char c = p->s[p->at++];
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *m = c ? strchr(from, c) : NULL;
	if (m)
		return put(p, &to[m - from], 1);
	if (c != 'u')
		return fail(p, "a string has an unknown escape");
	uint32_t cp;
	if (!hex4(p, &cp))
		return false;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail(p, "a string has a lone low surrogate");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		uint32_t lo;
		if (p->len - p->at < 2 || p->s[p->at] != '\\' || p->s[p->at + 1] != 'u')
			return fail(p, "a string has a lone high surrogate");
		p->at += 2;
		if (!hex4(p, &lo))
			return false;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(p, "a string has a lone high surrogate");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (cp == 0)
		return fail(p, "a string holds \\u0000");
	return put_utf8(p, cp);
}

/* A string at the cursor (which is at its quote), decoded and NUL-terminated into out. */
static bool string(struct parse *p, bool is_name)
{
	if (p->at >= p->len)
		return fail(p, "the object is not closed");
	if (!peek(p, '"'))
		return fail(p, "expected a property name in quotes");
	p->at++;
	size_t start = p->used;
	for (;;) {
		if (p->at >= p->len)
			return fail(p, "a string is not closed");
		unsigned char c = (unsigned char)p->s[p->at++];
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(p, "a string holds a control character");
		if (c == '\\') {
			if (!escape(p))
				return false;
		} else if (!put(p, &c, 1)) {
			return false;
		}
	}
	if (is_name) {
		size_t n = p->used - start;
		if (n == 0)
			return fail(p, "a property name is empty");
		if (n > NAME_MAX_LEN)
			return fail(p, "a property name is longer than 255 bytes");
		for (size_t i = start; i < p->used; i++)
			if ((unsigned char)p->out[i] <= 0x20 || (unsigned char)p->out[i] >= 0x7f)
				return fail(p, "a property name is not printable ASCII");
	}
	return put(p, "", 1);
}

static size_t digits(struct parse *p)
{
	size_t n = 0;
	while (p->at < p->len && p->s[p->at] >= '0' && p->s[p->at] <= '9')
		p->at++, n++;
	return n;
}

/* A number as JSON writes it, copied as written: librdkafka parses it for the property's type. */
static bool number(struct parse *p)
{
	size_t start = p->at;
	if (peek(p, '-'))
		p->at++;
	if (peek(p, '0'))
		p->at++;
	else if (!digits(p))
		return fail(p, "a value is not a string, number or boolean");
	if (peek(p, '.')) {
		p->at++;
		if (!digits(p))
			return fail(p, "a number has no digits after its point");
	}
	if (peek(p, 'e') || peek(p, 'E')) {
		p->at++;
		if (peek(p, '+') || peek(p, '-'))
			p->at++;
		if (!digits(p))
			return fail(p, "a number has no digits in its exponent");
	}
	return put(p, p->s + start, p->at - start) && put(p, "", 1);
}

static bool literal(struct parse *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->at < n || memcmp(p->s + p->at, word, n) != 0)
		return fail(p, "a value is not a string, number or boolean");
	p->at += n;
	return put(p, word, n + 1);
}

static bool value(struct parse *p)
{
	if (p->at >= p->len)
		return fail(p, "the object is not closed");
	switch (p->s[p->at]) {
	case '"':
		return string(p, false);
	case 't':
		return literal(p, "true");
	case 'f':
		return literal(p, "false");
	case '{':
	case '[':
		return fail(p, "a value is an object or array (only a flat object is read)");
	case 'n':
		return fail(p, "a value is null");
	default:
		return number(p);
	}
}

static bool object(struct parse *p, unsigned *count)
{
	skip_ws(p);
	if (!peek(p, '{'))
		return fail(p, "it does not start with {");
	p->at++;
	skip_ws(p);
	if (peek(p, '}')) {
		p->at++;
	} else {
		for (;;) {
			if (*count == RS_JSON_PROPS_MAX)
				return fail(p, "it has more than 64 properties");
			skip_ws(p);
			if (!string(p, true))
				return false;
			skip_ws(p);
			if (!peek(p, ':'))
				return fail(p, "expected : after a property name");
			p->at++;
			skip_ws(p);
			if (!value(p))
				return false;
			++*count;
			skip_ws(p);
			if (peek(p, ',')) {
				p->at++;
				continue;
			}
			if (peek(p, '}')) {
				p->at++;
				break;
			}
			return fail(p, p->at < p->len ? "expected , or } after a value"
						      : "the object is not closed");
		}
	}
	skip_ws(p);
	if (p->at < p->len)
		return fail(p, "there is more after the object's }");
	return put(p, "", 1);
}

bool rs_json_props(const char *s, size_t len, char *out, size_t size, unsigned *count, char *why,
		   size_t whylen)
{
	struct parse p = {.s = s, .len = len, .out = out, .size = size};
	*count = 0;
	if (object(&p, count))
		return true;
	if (size)
		out[0] = 0;
	*count = 0;
	if (whylen)
		snprintf(why, whylen, "%s (at byte %zu)", p.err ? p.err : "bad input", p.at);
	return false;
}
