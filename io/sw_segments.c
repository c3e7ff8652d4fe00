/* The segment assembler (see sw_segments.h): open segments in a chained hash table and on a list
 * in opening order; a direct-mapped cache of recent spans answers "which segment and index is
 * span X" for CrossThread refs; a table of recently sealed segment ids numbers late parts. */
#include "sw_segments.h"
#include "../proto/hmap.h"
#include "../proto/span_view.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPEN  4096
#define MAX_SPANS 300 /* the Java agent's default span limit per segment */
#define MAX_BYTES (8u << 20)
#define BUCKETS	  4096
#define CACHE	  4096
#define SEALED	  8192 /* recently sealed ids, direct-mapped */

struct seg {
	uint64_t key; /* the segment id's 8 bytes */
	struct seg *hnext, *prev, *next;
	char id[RS_SW_ID_MAX], base[17], trace[129];
	unsigned part;
	const struct rs_rec_span **spans;
	uint32_t n, cap;
	bool has_entry;
	int32_t max_index;
	uint64_t last_ns;
	size_t bytes;
};

struct cached {
	uint64_t span; /* OpenTelemetry span id; 0 empty */
	uint64_t seg;
	unsigned part;
	int32_t index;
	bool entry;
	char name[151];
};

static struct {
	uint64_t wait_ns;
	const char *service, *instance;
	rs_sw_emit_fn emit;
	void *arg;
	struct seg *bucket[BUCKETS];
	struct seg *oldest, *newest;
	size_t open, spans, bytes;
	struct cached *cache;
	struct {
		uint64_t key;
		unsigned parts;
	} sealed[SEALED];
	uint64_t next_due; /* no open segment is due before this (0: look) */
} A;

static uint64_t key8(const uint8_t b[8])
{
	uint64_t k;
	memcpy(&k, b, 8);
	return k;
}

static struct seg **slot_of(uint64_t key)
{
	struct seg **p = &A.bucket[rs_hash_u64(key) & (BUCKETS - 1)];
	while (*p && (*p)->key != key)
		p = &(*p)->hnext;
	return p;
}

static struct cached *cache_slot(uint64_t span)
{
	return &A.cache[rs_hash_u64(span) & (CACHE - 1)];
}

static void hex_id(uint64_t key, char out[17])
{
	uint8_t b[8];
	memcpy(b, &key, 8);
	rs_hex(b, 8, out);
	out[16] = 0;
}

static void part_id(uint64_t key, unsigned part, char *out, size_t cap)
{
	char hex[17];
	hex_id(key, hex);
	if (part)
		snprintf(out, cap, "%s.%u", hex, part);
	else
		snprintf(out, cap, "%s", hex);
}

/* The span's segment and index, and the endpoint of that segment (its entry span's name, else
 * the service, as the hooks name it in sw8). */
static bool find_parent(void *ctx, const uint8_t span_id[8], struct rs_sw_parent *out)
{
	(void)ctx;
	uint64_t k = key8(span_id);
	struct cached *c = cache_slot(k);
	if (!k || c->span != k)
		return false;
	part_id(c->seg, c->part, out->segment, sizeof(out->segment));
	out->index = c->index;
	const char *ep = A.service;
	if (c->entry) {
		ep = c->name;
	} else {
		char hex[17];
		uint8_t entry[8];
		hex_id(c->seg, hex);
		rs_sw_span_id(rs_hash64(hex, 16), 0, entry);
		struct cached *e = cache_slot(key8(entry));
		if (e->span == key8(entry) && e->entry)
			ep = e->name;
	}
	snprintf(out->endpoint, sizeof(out->endpoint), "%s", ep);
	return true;
}

static void list_unlink(struct seg *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		A.oldest = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		A.newest = s->prev;
}

static void seal(struct seg *s)
{
	*slot_of(s->key) = s->hnext;
	list_unlink(s);
	A.open--;
	A.spans -= s->n;
	A.bytes -= s->bytes;
	/* Spans in index order, as SkyWalking's agents list them. */
	for (uint32_t i = 1; i < s->n; i++)
		for (uint32_t j = i;
		     j && s->spans[j - 1]->u.http.seg_index > s->spans[j]->u.http.seg_index; j--) {
			const struct rs_rec_span *t = s->spans[j];
			s->spans[j] = s->spans[j - 1];
			s->spans[j - 1] = t;
		}
	struct rs_sw_seg out = {.trace_id = s->trace,
				.id = s->id,
				.base_id = s->base,
				.service = A.service,
				.instance = A.instance,
				.spans = s->spans,
				.n = s->n,
				.part = s->part,
				.parent = find_parent};
	A.emit(&out, A.arg);
	/* Remember the id, so spans that come after are numbered as a later part. */
	size_t i = rs_hash_u64(s->key) & (SEALED - 1);
	if (A.sealed[i].key != s->key) {
		A.sealed[i].key = s->key;
		A.sealed[i].parts = 0;
	}
	A.sealed[i].parts = RS_MAX(A.sealed[i].parts, s->part + 1);
	for (uint32_t k = 0; k < s->n; k++)
		free((void *)s->spans[k]);
	free(s->spans);
	free(s);
}

static struct seg *open_seg(const struct rs_rec_span *sp, uint64_t key)
{
	while (A.open >= MAX_OPEN)
		seal(A.oldest);
	struct seg *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->key = key;
	s->max_index = -1;
	size_t si = rs_hash_u64(key) & (SEALED - 1);
	if (A.sealed[si].key == key)
		s->part = A.sealed[si].parts;
	hex_id(key, s->base);
	part_id(key, s->part, s->id, sizeof(s->id));
	rs_hex(sp->trace_id, 16, s->trace);
	s->trace[32] = 0;
	struct seg **b = &A.bucket[rs_hash_u64(key) & (BUCKETS - 1)];
	s->hnext = *b;
	*b = s;
	s->prev = A.newest;
	if (A.newest)
		A.newest->next = s;
	else
		A.oldest = s;
	A.newest = s;
	A.open++;
	return s;
}

bool rs_sw_asm_init(uint64_t wait_ns, const char *service, const char *instance, rs_sw_emit_fn emit,
		    void *arg)
{
	A.wait_ns = wait_ns;
	A.service = service;
	A.instance = instance;
	A.emit = emit;
	A.arg = arg;
	A.cache = calloc(CACHE, sizeof(*A.cache));
	return A.cache != NULL;
}

bool rs_sw_asm_add(const union rs_rec *rec, uint64_t now)
{
	const struct rs_rec_span *sp = &rec->span;
	if (rec->hdr.type != RS_REC_SPAN || sp->what != RS_SPAN_HTTP)
		return false;
	const struct rs_http_info *h = &sp->u.http;
	uint64_t key = key8(h->seg_id);
	struct seg *s = *slot_of(key);
	if (!s && !(s = open_seg(sp, key))) {
		RS_STAT_ADD(dropped_encode, 1);
		return false;
	}
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 4;
		const struct rs_rec_span **v = realloc(s->spans, cap * sizeof(*v));
		if (!v) {
			RS_STAT_ADD(dropped_encode, 1);
			return false;
		}
		s->spans = v;
		s->cap = cap;
	}
	size_t len = (size_t)rec->hdr.nslots * RS_REC_SIZE;
	union rs_rec *copy = malloc(len);
	if (!copy) {
		RS_STAT_ADD(dropped_encode, 1);
		return false;
	}
	memcpy(copy, rec, len);
	s->spans[s->n++] = &copy->span;
	s->bytes += len;
	s->last_ns = now;
	s->max_index = RS_MAX(s->max_index, h->seg_index);
	A.spans++;
	A.bytes += len;

	bool entry = sp->kind == RS_KIND_SERVER && h->seg_index == 0;
	if (entry) {
		s->has_entry = true;
		struct rs_sw8 w;
		if (rs_sw_entry_sw8(sp, &w)) { /* the trace id the upstream segment reports */
			size_t n = RS_MIN((size_t)w.trace_id_len, sizeof(s->trace) - 1);
			memcpy(s->trace, w.trace_id, n);
			s->trace[n] = 0;
		}
	}
	uint64_t sk = key8(sp->span_id);
	struct cached *c = cache_slot(sk);
	*c = (struct cached){
	    .span = sk, .seg = key, .part = s->part, .index = h->seg_index, .entry = entry};
	if (entry)
		rs_span_name(sp, c->name, sizeof(c->name));

	if ((s->has_entry && s->part == 0 && s->n == (uint32_t)s->max_index + 1) ||
	    s->n >= MAX_SPANS)
		seal(s);
	while (A.bytes > MAX_BYTES && A.oldest)
		seal(A.oldest);
	return true;
}

uint64_t rs_sw_asm_tick(uint64_t now)
{
	/* Opening order is not quiet order: look at all of them (at most MAX_OPEN). */
	if (!A.oldest)
		return UINT64_MAX;
	if (now < A.next_due) /* a segment's due time only moves later */
		return A.next_due - now;
	uint64_t next = UINT64_MAX;
	for (struct seg *s = A.oldest, *n; s; s = n) {
		n = s->next;
		if (now >= s->last_ns + A.wait_ns)
			seal(s);
		else
			next = RS_MIN(next, s->last_ns + A.wait_ns - now);
	}
	A.next_due = next == UINT64_MAX ? 0 : now + next;
	return next;
}

void rs_sw_asm_flush(void)
{
	while (A.oldest)
		seal(A.oldest);
}

size_t rs_sw_asm_spans(void)
{
	return A.spans;
}

void rs_sw_asm_forget(void)
{
	memset(&A, 0, sizeof(A));
}

void rs_sw_asm_free(void)
{
	for (struct seg *s = A.oldest, *n; s; s = n) {
		n = s->next;
		for (uint32_t k = 0; k < s->n; k++)
			free((void *)s->spans[k]);
		free(s->spans);
		free(s);
	}
	free(A.cache);
	memset(&A, 0, sizeof(A));
}
