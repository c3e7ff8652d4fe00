/* W3C Trace Context and SkyWalking sw8 on the wire (see propagation.h). Field rules follow the
 * W3C processing model and SkyWalking's cross-process propagation headers v3. */
#include "propagation.h"

#include <string.h>

/* Lowercase hex digits: 0x10 | value; 0 for every other byte (uppercase is not allowed here). */
static const uint8_t lhex[256] = {
	['0'] = 0x10, ['1'] = 0x11, ['2'] = 0x12, ['3'] = 0x13, ['4'] = 0x14, ['5'] = 0x15,
	['6'] = 0x16, ['7'] = 0x17, ['8'] = 0x18, ['9'] = 0x19, ['a'] = 0x1a, ['b'] = 0x1b,
	['c'] = 0x1c, ['d'] = 0x1d, ['e'] = 0x1e, ['f'] = 0x1f,
};

/* Parses 2n lowercase hex digits into n bytes; false on any other character. */
static bool lhex_bytes(const char *s, size_t n, uint8_t *out)
{
	unsigned all = 0x10;
	for (size_t i = 0; i < n; i++) {
		unsigned hi = lhex[(unsigned char)s[2 * i]], lo = lhex[(unsigned char)s[2 * i + 1]];
		all &= hi & lo; /* loses 0x10 at the first byte that is not a digit */
		out[i] = (uint8_t)((hi & 15) << 4 | (lo & 15));
	}
	return all;
}

static bool all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t'))
		(*s)++, (*n)--;
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

bool rs_traceparent_parse(const char *s, size_t n, struct rs_ctx *out)
{
	struct rs_ctx c = {0};
	out->valid = false;
	trim(&s, &n);
	if (n < RS_TRACEPARENT_LEN)
		return false;
	uint8_t version, flags;
	if (!lhex_bytes(s, 1, &version) || version == 0xff || s[2] != '-' ||
	    !lhex_bytes(s + 3, 16, c.trace_id) || s[35] != '-' || !lhex_bytes(s + 36, 8, c.span_id) ||
	    s[52] != '-' || !lhex_bytes(s + 53, 1, &flags))
		return false;
	/* Version 00 is exactly 55 characters; a later version may add fields after a dash. */
	if (version == 0 ? n != RS_TRACEPARENT_LEN : (n > RS_TRACEPARENT_LEN && s[55] != '-'))
		return false;
	if (all_zero(c.trace_id, 16) || all_zero(c.span_id, 8))
		return false;
	c.flags = flags;
	c.valid = true;
	*out = c;
	return true;
}

/* Every byte's two lowercase hex digits: one two-byte copy per byte. */
static const char hex_pairs[513] =
	"000102030405060708090a0b0c0d0e0f"
	"101112131415161718191a1b1c1d1e1f"
	"202122232425262728292a2b2c2d2e2f"
	"303132333435363738393a3b3c3d3e3f"
	"404142434445464748494a4b4c4d4e4f"
	"505152535455565758595a5b5c5d5e5f"
	"606162636465666768696a6b6c6d6e6f"
	"707172737475767778797a7b7c7d7e7f"
	"808182838485868788898a8b8c8d8e8f"
	"909192939495969798999a9b9c9d9e9f"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
	"b0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
	"d0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeef"
	"f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

void rs_hex(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		memcpy(out + 2 * i, hex_pairs + 2 * in[i], 2);
}

void rs_traceparent_format(const struct rs_ctx *c, char out[RS_TRACEPARENT_LEN])
{
	static const char d[] = "0123456789abcdef";
	memcpy(out, "00-", 3);
	rs_hex(c->trace_id, 16, out + 3);
	out[35] = '-';
	rs_hex(c->span_id, 8, out + 36);
	out[52] = '-';
	/* Only the sampled bit and the random-trace-id bit have a meaning at level 2. */
	uint8_t f = c->flags & 0x03;
	out[53] = d[f >> 4];
	out[54] = d[f & 15];
}

/* W3C tracestate key: simple (a-z first) or multi-tenant (tenant@system). */
static bool ts_key_ok(const char *k, size_t n)
{
	if (n == 0 || n > 256)
		return false;
	const char *at = memchr(k, '@', n);
	for (size_t i = 0; i < n; i++) {
		char c = k[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
			  c == '*' || c == '/' || (c == '@' && k + i == at);
		if (!ok)
			return false;
	}
	if (!at)
		return k[0] >= 'a' && k[0] <= 'z';
	size_t tenant = (size_t)(at - k), system = n - tenant - 1;
	return tenant >= 1 && tenant <= 241 && system >= 1 && system <= 14 &&
	       ((k[0] >= 'a' && k[0] <= 'z') || (k[0] >= '0' && k[0] <= '9')) && at[1] >= 'a' &&
	       at[1] <= 'z';
}

static bool ts_value_ok(const char *v, size_t n)
{
	if (n == 0 || n > 256 || v[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e || v[i] == ',' || v[i] == '=')
			return false;
	return true;
}

size_t rs_tracestate_clean(const char *s, size_t n, char *out, size_t cap)
{
	struct {
		const char *p;
		size_t n;
		bool keep;
	} m[32];
	size_t count = 0;
	while (n) {
		const char *comma = memchr(s, ',', n);
		size_t len = comma ? (size_t)(comma - s) : n;
		const char *item = s;
		size_t ilen = len;
		trim(&item, &ilen);
		if (ilen) {
			const char *eq = memchr(item, '=', ilen);
			if (!eq || !ts_key_ok(item, (size_t)(eq - item)) ||
			    !ts_value_ok(eq + 1, ilen - (size_t)(eq - item) - 1))
				return 0;
			for (size_t j = 0; j < count; j++)
				if (m[j].n >= (size_t)(eq - item) + 1 &&
				    memcmp(m[j].p, item, (size_t)(eq - item) + 1) == 0)
					return 0; /* a key twice */
			if (count == RS_ARRAY_LEN(m))
				break; /* at most 32 members: the rest go */
			m[count].p = item;
			m[count].n = ilen;
			m[count].keep = true;
			count++;
		}
		if (!comma)
			break;
		n -= len + 1;
		s = comma + 1;
	}
	size_t total = 0;
	for (size_t j = 0; j < count; j++)
		total += m[j].n + (j ? 1 : 0);
	/* Too long: members over 128 characters go first, then members from the right. */
	for (size_t j = count; total > cap && j-- > 0;)
		if (m[j].n > 128) {
			m[j].keep = false;
			total -= m[j].n + 1;
		}
	for (size_t j = count; total > cap && j-- > 0;)
		if (m[j].keep) {
			m[j].keep = false;
			total -= m[j].n + 1;
		}
	size_t o = 0;
	for (size_t j = 0; j < count; j++) {
		if (!m[j].keep)
			continue;
		if (o + m[j].n + (o ? 1 : 0) > cap)
			break;
		if (o)
			out[o++] = ',';
		memcpy(out + o, m[j].p, m[j].n);
		o += m[j].n;
	}
	return o;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t rs_b64_encode(const void *in, size_t n, char *out, size_t cap)
{
	const uint8_t *b = in;
	size_t need = (n + 2) / 3 * 4;
	if (need > cap)
		return 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)b[i + 1] << 8;
		if (i + 2 < n)
			v |= b[i + 2];
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	return o;
}

static int b64v(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long rs_b64_decode(const char *in, size_t n, char *out, size_t cap)
{
	while (n && in[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64v(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	return (long)o;
}

/* Decodes one base64 field into buf (cap bytes); false when malformed, empty or too long. */
static bool field_b64(const char *s, size_t n, char *buf, size_t cap, uint16_t *len)
{
	long l = rs_b64_decode(s, n, buf, cap);
	if (l <= 0)
		return false;
	*len = (uint16_t)l;
	return true;
}

bool rs_sw8_parse(const char *s, size_t n, struct rs_sw8 *out)
{
	trim(&s, &n);
	const char *f[8];
	size_t fl[8];
	size_t k = 0;
	const char *dash = NULL;
	while (k < 8) {
		dash = memchr(s, '-', n);
		f[k] = s;
		fl[k] = dash ? (size_t)(dash - s) : n;
		k++;
		if (!dash)
			break;
		n -= fl[k - 1] + 1;
		s = dash + 1;
	}
	if (k != 8 || dash)
		return false; /* exactly eight fields */
	if (fl[0] != 1 || (f[0][0] != '0' && f[0][0] != '1'))
		return false;
	out->sampled = f[0][0] == '1';
	if (fl[3] == 0 || fl[3] > 10)
		return false;
	int64_t idx = 0;
	for (size_t i = 0; i < fl[3]; i++) {
		if (f[3][i] < '0' || f[3][i] > '9')
			return false;
		idx = idx * 10 + (f[3][i] - '0');
	}
	if (idx > INT32_MAX)
		return false;
	out->span_index = (int32_t)idx;
	return field_b64(f[1], fl[1], out->trace_id, sizeof(out->trace_id), &out->trace_id_len) &&
	       field_b64(f[2], fl[2], out->segment, sizeof(out->segment), &out->segment_len) &&
	       field_b64(f[4], fl[4], out->service, sizeof(out->service), &out->service_len) &&
	       field_b64(f[5], fl[5], out->instance, sizeof(out->instance), &out->instance_len) &&
	       field_b64(f[6], fl[6], out->endpoint, sizeof(out->endpoint), &out->endpoint_len) &&
	       field_b64(f[7], fl[7], out->address, sizeof(out->address), &out->address_len);
}

bool rs_sw8_format(const struct rs_sw8 *in, char *out, size_t cap, size_t *len)
{
	const struct {
		const char *p;
		size_t n;
	} b[6] = {{in->trace_id, in->trace_id_len}, {in->segment, in->segment_len},
		  {in->service, in->service_len},   {in->instance, in->instance_len},
		  {in->endpoint, in->endpoint_len}, {in->address, in->address_len}};
	size_t o = 0;
	if (cap < 2)
		return false;
	out[o++] = in->sampled ? '1' : '0';
	for (int i = 0; i < 6; i++) {
		if (o + 1 > cap)
			return false;
		out[o++] = '-';
		if (i == 2) { /* the parent span index comes before the service */
			char num[12];
			int nl = 0;
			uint32_t v = (uint32_t)(in->span_index < 0 ? 0 : in->span_index);
			do
				num[nl++] = (char)('0' + v % 10);
			while (v /= 10);
			if (o + (size_t)nl + 1 > cap)
				return false;
			while (nl)
				out[o++] = num[--nl];
			out[o++] = '-';
		}
		size_t e = rs_b64_encode(b[i].p, b[i].n, out + o, cap - o);
		if (e == 0 && b[i].n)
			return false;
		o += e;
	}
	*len = o;
	return true;
}

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_STEP(h, byte) (((h) ^ (byte)) * 0x100000001b3ull)

static uint64_t hash_final(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

uint64_t rs_hash64(const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t h = FNV_OFFSET;
	for (size_t i = 0; i < n; i++)
		h = FNV_STEP(h, p[i]);
	return hash_final(h);
}

uint64_t rs_hash64_hex(const uint8_t *in, size_t n)
{
	static const uint8_t d[] = "0123456789abcdef";
	uint64_t h = FNV_OFFSET;
	for (size_t i = 0; i < n; i++) {
		h = FNV_STEP(h, d[in[i] >> 4]);
		h = FNV_STEP(h, d[in[i] & 15]);
	}
	return hash_final(h);
}

void rs_sw_span_id(uint64_t seg_hash, int32_t index, uint8_t out[8])
{
	uint64_t z = seg_hash + ((uint64_t)(uint32_t)index + 1) * 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	if (!z)
		z = 1;
	memcpy(out, &z, 8);
}

void rs_trace_id_from_text(const char *s, size_t n, uint8_t out[16])
{
	if (n == 32 && lhex_bytes(s, 16, out) && !all_zero(out, 16))
		return;
	uint64_t a = rs_hash64(s, n), b = rs_hash64(out, 0) ^ (a * 0x9e3779b97f4a7c15ull);
	b = rs_hash64(&b, sizeof(b)) ^ rs_hash64(s, n / 2);
	if (!(a | b))
		a = 1;
	memcpy(out, &a, 8);
	memcpy(out + 8, &b, 8);
}
