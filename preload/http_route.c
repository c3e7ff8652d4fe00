/* Folding of request paths and redaction of queries (see http_route.h). */
#include "http_route.h"
#include "record.h"
#include "rs.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

void rs_http_target_path(const char *t, size_t n, const char **path, size_t *len)
{
	/* absolute-form: skip "scheme://authority" */
	const char *p = t;
	size_t left = n;
	const char *sep = left > 3 ? memchr(t, ':', left < 16 ? left : 16) : NULL;
	if (sep && (size_t)(sep - t) + 3 <= left && sep[1] == '/' && sep[2] == '/') {
		const char *auth = sep + 3;
		size_t rest = left - (size_t)(auth - t);
		const char *slash = memchr(auth, '/', rest);
		if (!slash) {
			*path = "/";
			*len = 1;
			return;
		}
		p = slash;
		left = rest - (size_t)(slash - auth);
	}
	size_t end = 0;
	while (end < left && p[end] != '?' && p[end] != '#')
		end++;
	*path = p;
	*len = end;
}

/* Byte classes for folding: a segment is {id} when every byte is a digit, {hex} when every byte
 * is a hex digit, so one AND per byte keeps both answers. */
enum { C_DIGIT = 1, C_HEX = 2 };
static const uint8_t cls[256] = {
	['0' ... '9'] = C_DIGIT | C_HEX,
	['a' ... 'f'] = C_HEX,
	['A' ... 'F'] = C_HEX,
};

static bool is_hex(char c)
{
	return cls[(unsigned char)c] & C_HEX;
}

/* The placeholder for a segment, or NULL to keep it. */
static const char *fold(const char *s, size_t n)
{
	if (n == 0)
		return NULL;
	unsigned all = C_DIGIT | C_HEX;
	for (size_t i = 0; i < n && all; i++)
		all &= cls[(unsigned char)s[i]];
	if (all & C_DIGIT)
		return "{id}";
	if (n == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-') {
		bool uuid = true;
		for (size_t i = 0; i < n && uuid; i++)
			uuid = (i == 8 || i == 13 || i == 18 || i == 23) ? true : is_hex(s[i]);
		if (uuid)
			return "{uuid}";
	}
	if ((all & C_HEX) && n >= 16)
		return "{hex}";
	return NULL;
}

size_t rs_http_fold_path(const char *path, size_t n, char *out, size_t cap)
{
	size_t o = 0, i = 0;
	if (cap < 5)
		return 0;
	while (i < n) {
		const char *slash = memchr(path + i, '/', n - i);
		size_t j = slash ? (size_t)(slash - path) : n;
		const char *rep = fold(path + i, j - i);
		size_t seglen = rep ? strlen(rep) : j - i;
		size_t extra = j < n ? 1 : 0; /* the slash after it */
		if (o + seglen + extra > cap - 4) {
			/* Cut at a segment boundary. */
			if (o && out[o - 1] == '/') {
				memcpy(out + o, "...", 3);
				return o + 3;
			}
			memcpy(out + o, "/...", 4);
			return o + 4;
		}
		if (seglen) /* not for the empty segment before a path's first slash */
			memcpy(out + o, rep ? rep : path + i, seglen);
		o += seglen;
		if (extra)
			out[o++] = '/';
		i = j + extra;
	}
	return o;
}

size_t rs_http_redact_query(const char *t, size_t n, char *out, size_t cap)
{
	const char *q = memchr(t, '?', n);
	if (!q)
		return 0;
	const char *end = memchr(q, '#', n - (size_t)(q - t));
	size_t qn = (size_t)((end ? end : t + n) - q - 1);
	q++;
	static const char redacted[] = "REDACTED";
	size_t o = 0;
	for (size_t i = 0; i < qn;) {
		size_t j = i;
		while (j < qn && q[j] != '&')
			j++;
		const char *eq = memchr(q + i, '=', j - i);
		size_t keylen = eq ? (size_t)(eq - (q + i)) : j - i;
		size_t need = keylen + (eq ? 1 + sizeof(redacted) - 1 : 0) + (j < qn ? 1 : 0);
		if (o + need > cap)
			break;
		memcpy(out + o, q + i, keylen);
		o += keylen;
		if (eq) {
			out[o++] = '=';
			memcpy(out + o, redacted, sizeof(redacted) - 1);
			o += sizeof(redacted) - 1;
		}
		if (j < qn)
			out[o++] = '&';
		i = j + 1;
	}
	return o;
}

void rs_http_host_port(const char *v, size_t n, const char **host, size_t *hlen, unsigned *port)
{
	*port = 0;
	const char *end = v + n, *colon = NULL;
	if (n && v[0] == '[') {
		const char *close = memchr(v, ']', n);
		if (!close) {
			*host = v;
			*hlen = n;
			return;
		}
		*host = v + 1;
		*hlen = (size_t)(close - v - 1);
		colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = memchr(v, ':', n);
		*host = v;
		*hlen = colon ? (size_t)(colon - v) : n;
	}
	if (!colon)
		return;
	unsigned p = 0;
	for (const char *c = colon + 1; c < end; c++) {
		if (*c < '0' || *c > '9' || p > 65535)
			return;
		p = p * 10 + (unsigned)(*c - '0');
	}
	*port = p <= 65535 && colon + 1 < end ? p : 0;
}

static const char *const method_names[] = {
	[RS_M_GET] = "GET",	    [RS_M_HEAD] = "HEAD",	[RS_M_POST] = "POST",
	[RS_M_PUT] = "PUT",	    [RS_M_DELETE] = "DELETE",	[RS_M_CONNECT] = "CONNECT",
	[RS_M_OPTIONS] = "OPTIONS", [RS_M_TRACE] = "TRACE",	[RS_M_PATCH] = "PATCH",
	[RS_M_QUERY] = "QUERY",
};

uint8_t rs_http_method_code(const char *m, size_t n)
{
	/* The methods of each length (all are 3 to 7 bytes), GET first: on every request, so no
	 * strlen or memcmp call per candidate. */
	static const uint8_t by_len[8][3] = {
		[3] = {RS_M_GET, RS_M_PUT},
		[4] = {RS_M_POST, RS_M_HEAD},
		[5] = {RS_M_PATCH, RS_M_TRACE, RS_M_QUERY},
		[6] = {RS_M_DELETE},
		[7] = {RS_M_OPTIONS, RS_M_CONNECT},
	};
	if (n < 3 || n > 7)
		return RS_M_OTHER;
	for (unsigned k = 0; k < 3 && by_len[n][k]; k++) {
		const char *name = method_names[by_len[n][k]];
		size_t i = 0;
		while (i < n && name[i] == m[i])
			i++;
		if (i == n)
			return by_len[n][k];
	}
	return RS_M_OTHER;
}

int rs_http_sniff_request(const char *buf, size_t len)
{
	bool prefix = false;
	for (uint8_t m = RS_M_GET; m < RS_ARRAY_LEN(method_names); m++) {
		size_t ml = strlen(method_names[m]);
		if (memcmp(buf, method_names[m], RS_MIN(len, ml)) != 0)
			continue;
		if (len <= ml)
			prefix = true; /* the name so far, or whole without its space yet */
		else if (buf[ml] == ' ')
			return 1;
	}
	return prefix ? -1 : 0;
}

const char *rs_http_method_name(uint8_t code)
{
	return code < RS_ARRAY_LEN(method_names) ? method_names[code] : NULL;
}

size_t rs_http_span_name(uint8_t method, const char *target, size_t tl, char *out, size_t cap)
{
	const char *m = rs_http_method_name(method);
	if (!m)
		m = "HTTP";
	size_t o = RS_MIN(strlen(m), cap);
	memcpy(out, m, o);
	if (method == RS_M_CONNECT || o == cap)
		return o;
	out[o++] = ' ';
	const char *path;
	size_t pl;
	rs_http_target_path(target, tl, &path, &pl);
	return o + rs_http_fold_path(path, pl, out + o, cap - o);
}
