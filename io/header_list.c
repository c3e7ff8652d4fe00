/* Header lists from the environment and Retry-After values from collectors (see header_list.h). */
#include "header_list.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t'))
		(*s)++, (*n)--;
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

bool rs_header_list_parse(const char *text, struct rs_buf *lines, char *why, size_t whylen)
{
	size_t start = lines->len;
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, ",");
		const char *item = p;
		p += n + (p[n] == ',');
		trim(&item, &n);
		if (!n)
			continue;
		const char *eq = memchr(item, '=', n);
		if (!eq) {
			snprintf(why, whylen, "has an entry without '='");
			goto bad;
		}
		const char *name = item, *val = eq + 1;
		size_t nl = (size_t)(eq - item), vl = n - nl - 1;
		trim(&name, &nl);
		trim(&val, &vl);
		if (!nl) {
			snprintf(why, whylen, "has an entry without a name");
			goto bad;
		}
		for (size_t i = 0; i < nl; i++) {
			if (!is_tchar((unsigned char)name[i])) {
				snprintf(why, whylen, "has a header name that is not an HTTP token");
				goto bad;
			}
			char c = name[i];
			rs_buf_putc(lines, (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c);
		}
		rs_buf_puts(lines, ": ");
		for (size_t i = 0; i < vl; i++) {
			unsigned char c = (unsigned char)val[i];
			if (c == '%') {
				int hi = i + 2 < vl ? rs_hexval((unsigned char)val[i + 1]) : -1;
				int lo = hi >= 0 ? rs_hexval((unsigned char)val[i + 2]) : -1;
				if (lo < 0) {
					snprintf(why, whylen, "has a bad percent escape");
					goto bad;
				}
				c = (unsigned char)(hi << 4 | lo);
				i += 2;
			}
			if (c < 0x20 || c == 0x7f) {
				snprintf(why, whylen, "has a value with a control character");
				goto bad;
			}
			rs_buf_putc(lines, (char)c);
		}
		rs_buf_puts(lines, "\r\n");
	}
	if (rs_buf_failed(lines)) {
		snprintf(why, whylen, "could not be stored (out of memory)");
		return false;
	}
	return true;
bad:
	lines->len = start;
	return false;
}

uint32_t rs_retry_after_ms(const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	if (n && v[0] >= '0' && v[0] <= '9') {
		uint64_t s = 0;
		for (size_t i = 0; i < n && v[i] >= '0' && v[i] <= '9' && s < 3600; i++)
			s = s * 10 + (uint64_t)(v[i] - '0');
		return (uint32_t)(RS_MIN(s, 3600ull) * 1000);
	}
	char tmp[40];
	if (!n || n >= sizeof(tmp))
		return 0;
	memcpy(tmp, v, n);
	tmp[n] = 0;
	struct tm tm = {0};
	/* IMF-fixdate, as RFC 9110 requires senders to use. */
	const char *end = strptime(tmp, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end)
		return 0;
	time_t when = timegm(&tm), now = time(NULL);
	if (when <= now)
		return 0;
	return (uint32_t)(RS_MIN((uint64_t)(when - now), 3600ull) * 1000);
}
