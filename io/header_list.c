/* Header lists from the environment and Retry-After values from collectors (see header_list.h). */
#include "header_list.h"
#include "../preload/config.h"
#include "../preload/kv_list.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

bool rs_header_list_parse(const char *text, struct rs_buf *lines, char *why, size_t whylen)
{
	size_t start = lines->len;
	struct rs_kv kv;
	int r;
	for (const char *p = text; (r = rs_kv_next(&p, &kv)) != 0;) {
		if (r < 0) {
			snprintf(why, whylen, "has an entry without '='");
			goto bad;
		}
		if (!kv.key_len) {
			snprintf(why, whylen, "has an entry without a name");
			goto bad;
		}
		for (size_t i = 0; i < kv.key_len; i++) {
			char c = kv.key[i];
			if (!is_tchar((unsigned char)c)) {
				snprintf(why, whylen, "has a header name that is not an HTTP token");
				goto bad;
			}
			rs_buf_putc(lines, (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c);
		}
		char val[RS_CFG_ATTRS_MAX];
		long vl = rs_pct_decode(kv.val, kv.val_len, val, sizeof(val));
		if (vl < 0) {
			snprintf(why, whylen, "has a bad percent escape or a value too long");
			goto bad;
		}
		for (long i = 0; i < vl; i++)
			if ((unsigned char)val[i] < 0x20 || val[i] == 0x7f) {
				snprintf(why, whylen, "has a value with a control character");
				goto bad;
			}
		rs_buf_puts(lines, ": ");
		rs_buf_put(lines, val, (size_t)vl);
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
