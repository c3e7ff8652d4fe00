/* Hand-written protobuf for pprof: field numbers from perftools.profiles' profile.proto (see
 * ../shared/docs/wire-formats.md §7.1). Hand-written rather than protoc-c, because protoc-c wants
 * every sample, location and string as its own allocated message before packing: here each
 * sample is encoded once, straight into one buffer. */
#include "pprof.h"
#include "hmap.h"

#include <stdlib.h>
#include <string.h>

struct str {
	size_t off, len;
};

struct mapping {
	uint64_t start, limit, offset;
	int64_t file, build_id;
	bool has_functions;
};

struct location {
	uint64_t address, mapping, function;
};

struct rs_pprof {
	uint64_t time_ns, period_ns;
	struct rs_buf chars; /* the strings' bytes */
	struct str *strs;
	size_t nstrs, capstrs;
	struct rs_hmap str_index;
	struct mapping *maps;
	size_t nmaps, capmaps;
	int64_t *funcs; /* function id - 1 -> name index */
	size_t nfuncs, capfuncs;
	struct rs_hmap func_index; /* by name index */
	struct location *locs;
	size_t nlocs, caplocs;
	struct rs_hmap loc_index; /* by address */
	struct rs_buf samples;	  /* encoded Sample messages, each with its field tag */
	size_t nsamples;
	struct rs_buf scratch, tmp;
	bool failed;
};

/* --- protobuf primitives --- */

static void put_varint(struct rs_buf *b, uint64_t v)
{
	char tmp[10];
	size_t n = 0;
	do {
		tmp[n++] = (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	rs_buf_put(b, tmp, n);
}

static void put_tag(struct rs_buf *b, unsigned field, unsigned wire)
{
	put_varint(b, (uint64_t)field << 3 | wire);
}

/* A varint field, left out when zero (proto3). */
static void put_uint(struct rs_buf *b, unsigned field, uint64_t v)
{
	if (!v)
		return;
	put_tag(b, field, 0);
	put_varint(b, v);
}

static void put_bytes(struct rs_buf *b, unsigned field, const void *p, size_t n)
{
	put_tag(b, field, 2);
	put_varint(b, n);
	if (n) /* an empty buffer's p may be NULL */
		rs_buf_put(b, p, n);
}

/* --- growing arrays --- */

static bool grow(void **arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap * 2 : 64;
	while (c < need)
		c *= 2;
	void *p = realloc(*arr, c * size);
	if (!p)
		return false;
	*arr = p;
	*cap = c;
	return true;
}

#define GROW(p, arr, n, cap)                                                                       \
	(grow((void **)&(p)->arr, &(p)->cap, (p)->n + 1, sizeof(*(p)->arr)) || ((p)->failed = true, false))

struct rs_pprof *rs_pprof_new(uint64_t time_ns, uint64_t period_ns)
{
	struct rs_pprof *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->time_ns = time_ns;
	p->period_ns = period_ns;
	rs_pprof_string(p, "", 0); /* string_table[0] is "" */
	return p;
}

void rs_pprof_free(struct rs_pprof *p)
{
	if (!p)
		return;
	rs_buf_free(&p->chars);
	free(p->strs);
	rs_hmap_free(&p->str_index);
	free(p->maps);
	free(p->funcs);
	rs_hmap_free(&p->func_index);
	free(p->locs);
	rs_hmap_free(&p->loc_index);
	rs_buf_free(&p->samples);
	rs_buf_free(&p->scratch);
	rs_buf_free(&p->tmp);
	free(p);
}

struct str_key {
	struct rs_pprof *p;
	const char *s;
	size_t len;
};

static bool str_eq(void *ctx, uint32_t v)
{
	struct str_key *k = ctx;
	const struct str *e = &k->p->strs[v - 1];
	return e->len == k->len && memcmp(k->p->chars.p + e->off, k->s, k->len) == 0;
}

int64_t rs_pprof_string(struct rs_pprof *p, const char *s, size_t len)
{
	uint64_t h = rs_hash_bytes(s, len, 0);
	struct str_key k = {p, s, len};
	uint32_t v = rs_hmap_get(&p->str_index, h, str_eq, &k);
	if (v)
		return (int64_t)v - 1;
	if (!GROW(p, strs, nstrs, capstrs))
		return 0;
	p->strs[p->nstrs] = (struct str){p->chars.len, len};
	if (len)
		rs_buf_put(&p->chars, s, len);
	if (rs_buf_failed(&p->chars) || !rs_hmap_put(&p->str_index, h, (uint32_t)p->nstrs + 1)) {
		p->failed = true;
		return 0;
	}
	return (int64_t)p->nstrs++;
}

static int64_t cstr(struct rs_pprof *p, const char *s)
{
	return s ? rs_pprof_string(p, s, strlen(s)) : 0;
}

uint64_t rs_pprof_mapping(struct rs_pprof *p, uint64_t start, uint64_t limit, uint64_t offset,
			  const char *file, const char *build_id, bool has_functions)
{
	if (!GROW(p, maps, nmaps, capmaps))
		return 0;
	p->maps[p->nmaps] = (struct mapping){start, limit, offset, cstr(p, file), cstr(p, build_id),
					     has_functions};
	return ++p->nmaps;
}

static uint64_t function(struct rs_pprof *p, const char *name)
{
	int64_t n = cstr(p, name);
	/* The name's index is unique, so it is its own hash. */
	uint32_t v = rs_hmap_get(&p->func_index, (uint64_t)n, NULL, NULL);
	if (v)
		return v;
	if (!GROW(p, funcs, nfuncs, capfuncs))
		return 0;
	p->funcs[p->nfuncs] = n;
	if (!rs_hmap_put(&p->func_index, (uint64_t)n, (uint32_t)p->nfuncs + 1))
		p->failed = true;
	return ++p->nfuncs;
}

struct loc_key {
	struct rs_pprof *p;
	uint64_t address;
};

static bool loc_eq(void *ctx, uint32_t v)
{
	struct loc_key *k = ctx;
	return k->p->locs[v - 1].address == k->address;
}

uint64_t rs_pprof_location_of(struct rs_pprof *p, uint64_t address)
{
	struct loc_key k = {p, address};
	return rs_hmap_get(&p->loc_index, rs_hash_u64(address), loc_eq, &k);
}

uint64_t rs_pprof_location(struct rs_pprof *p, uint64_t address, uint64_t mapping,
			   const char *name)
{
	uint64_t id = rs_pprof_location_of(p, address);
	if (id)
		return id;
	if (!GROW(p, locs, nlocs, caplocs))
		return 0;
	p->locs[p->nlocs] = (struct location){address, mapping, name ? function(p, name) : 0};
	if (!rs_hmap_put(&p->loc_index, rs_hash_u64(address), (uint32_t)p->nlocs + 1))
		p->failed = true;
	return ++p->nlocs;
}

void rs_pprof_sample(struct rs_pprof *p, const uint64_t *locs, size_t n,
		     const int64_t values[RS_PPROF_VALUES], const struct rs_pprof_label *labels,
		     size_t nlabels)
{
	struct rs_buf *m = &p->scratch, *t = &p->tmp;
	m->len = 0;
	t->len = 0;
	for (size_t i = 0; i < n; i++)
		put_varint(t, locs[i]);
	put_bytes(m, 1, t->p, t->len); /* location_id, packed, leaf first */
	t->len = 0;
	for (int i = 0; i < RS_PPROF_VALUES; i++)
		put_varint(t, (uint64_t)values[i]);
	put_bytes(m, 2, t->p, t->len); /* value, packed */
	for (size_t i = 0; i < nlabels; i++) {
		t->len = 0;
		put_uint(t, 1, (uint64_t)cstr(p, labels[i].key));
		if (labels[i].str)
			put_uint(t, 2, (uint64_t)cstr(p, labels[i].str));
		else
			put_uint(t, 3, (uint64_t)labels[i].num);
		put_bytes(m, 3, t->p, t->len);
	}
	if (rs_buf_failed(t) || rs_buf_failed(m))
		p->failed = true;
	put_bytes(&p->samples, 2, m->p, m->len);
	p->nsamples++;
}

size_t rs_pprof_samples(const struct rs_pprof *p)
{
	return p->nsamples;
}

static void value_type(struct rs_pprof *p, struct rs_buf *out, unsigned field, const char *type,
		       const char *unit)
{
	struct rs_buf *m = &p->scratch;
	m->len = 0;
	put_uint(m, 1, (uint64_t)cstr(p, type));
	put_uint(m, 2, (uint64_t)cstr(p, unit));
	put_bytes(out, field, m->p, m->len);
}

bool rs_pprof_encode(struct rs_pprof *p, uint64_t duration_ns, struct rs_buf *out)
{
	struct rs_buf *m = &p->scratch;
	/* Strings first (value_type adds some), then the string table last in the message. */
	value_type(p, out, 1, "samples", "count");
	value_type(p, out, 1, "cpu", "nanoseconds");
	value_type(p, out, 1, "wait", "nanoseconds");
	if (p->samples.len)
		rs_buf_put(out, p->samples.p, p->samples.len);
	for (size_t i = 0; i < p->nmaps; i++) {
		const struct mapping *mp = &p->maps[i];
		m->len = 0;
		put_uint(m, 1, i + 1);
		put_uint(m, 2, mp->start);
		put_uint(m, 3, mp->limit);
		put_uint(m, 4, mp->offset);
		put_uint(m, 5, (uint64_t)mp->file);
		put_uint(m, 6, (uint64_t)mp->build_id);
		put_uint(m, 7, mp->has_functions);
		put_bytes(out, 3, m->p, m->len);
	}
	for (size_t i = 0; i < p->nlocs; i++) {
		const struct location *l = &p->locs[i];
		m->len = 0;
		put_uint(m, 1, i + 1);
		put_uint(m, 2, l->mapping);
		put_uint(m, 3, l->address);
		if (l->function) {
			struct rs_buf *t = &p->tmp;
			t->len = 0;
			put_uint(t, 1, l->function);
			put_bytes(m, 4, t->p, t->len); /* one Line: the function, no line number */
		}
		put_bytes(out, 4, m->p, m->len);
	}
	for (size_t i = 0; i < p->nfuncs; i++) {
		m->len = 0;
		put_uint(m, 1, i + 1);
		put_uint(m, 2, (uint64_t)p->funcs[i]);
		put_uint(m, 3, (uint64_t)p->funcs[i]);
		put_bytes(out, 5, m->p, m->len);
	}
	put_uint(out, 9, p->time_ns);
	put_uint(out, 10, duration_ns);
	int64_t cpu = cstr(p, "cpu"), ns = cstr(p, "nanoseconds");
	m->len = 0;
	put_uint(m, 1, (uint64_t)cpu);
	put_uint(m, 2, (uint64_t)ns);
	put_bytes(out, 11, m->p, m->len); /* period_type */
	put_uint(out, 12, p->period_ns);
	put_uint(out, 14, (uint64_t)cpu); /* default_sample_type */
	for (size_t i = 0; i < p->nstrs; i++)
		put_bytes(out, 6, p->chars.p + p->strs[i].off, p->strs[i].len);
	return !p->failed && !rs_buf_failed(m) && !rs_buf_failed(out);
}
