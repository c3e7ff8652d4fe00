/* The join of HTTP span halves (see span_join.h): an open-addressing table keyed by span id with
 * backward-shift deletion, entries in arrival order on a list for eviction. */
#include "span_join.h"
#include "stats.h"

#include <stdlib.h>
#include <string.h>

#define MAX_WAITING 16384
#define MAX_BYTES (8u << 20)

struct entry {
	uint64_t key; /* span id; 0 marks an empty slot */
	union rs_rec *rec; /* a copy of the half that came first */
	struct entry_age *age;
};

struct entry_age {
	struct entry_age *prev, *next;
	uint64_t key;
};

static struct {
	struct entry *slot;
	size_t cap; /* power of two */
	size_t n;
	size_t bytes;
	struct entry_age *oldest, *newest;
} T;

static uint64_t key_of(const uint8_t span_id[8])
{
	uint64_t k;
	memcpy(&k, span_id, 8);
	return k ? k : 1;
}

static size_t home(uint64_t k)
{
	return (size_t)((k * 0x9e3779b97f4a7c15ull) >> 20) & (T.cap - 1);
}

static struct entry *find(uint64_t k)
{
	if (!T.cap)
		return NULL;
	for (size_t i = home(k);; i = (i + 1) & (T.cap - 1)) {
		if (!T.slot[i].key)
			return NULL;
		if (T.slot[i].key == k)
			return &T.slot[i];
	}
}

static void age_unlink(struct entry_age *a)
{
	if (a->prev)
		a->prev->next = a->next;
	else
		T.oldest = a->next;
	if (a->next)
		a->next->prev = a->prev;
	else
		T.newest = a->prev;
	free(a);
}

/* Removes *e (backward-shift: no tombstones) and returns the record it held. */
static union rs_rec *take(struct entry *e)
{
	union rs_rec *rec = e->rec;
	T.bytes -= rec->hdr.len;
	T.n--;
	age_unlink(e->age);
	size_t i = (size_t)(e - T.slot);
	for (size_t j = (i + 1) & (T.cap - 1); T.slot[j].key; j = (j + 1) & (T.cap - 1)) {
		size_t h = home(T.slot[j].key);
		/* Move j back to i if its home is not in (i, j]. */
		if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
			T.slot[i] = T.slot[j];
			i = j;
		}
	}
	T.slot[i].key = 0;
	return rec;
}

static bool grow(void)
{
	size_t cap = T.cap ? T.cap * 2 : 256;
	struct entry *slot = calloc(cap, sizeof(*slot));
	if (!slot)
		return false;
	struct entry *old = T.slot;
	size_t oldcap = T.cap;
	T.slot = slot;
	T.cap = cap;
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i].key)
			continue;
		size_t j = home(old[i].key);
		while (T.slot[j].key)
			j = (j + 1) & (cap - 1);
		T.slot[j] = old[i];
	}
	free(old);
	return true;
}

/* The span of a beginning and its end. */
static void merge(union rs_rec *begin, const struct rs_rec_end *e, rs_join_emit_fn emit)
{
	struct rs_rec_span *s = &begin->span;
	s->h.type = RS_REC_SPAN;
	s->end_ns = e->end_ns;
	s->u.http.status = e->status;
	s->u.http.end = e->end;
	s->u.http.resp_start_ns = e->resp_start_ns;
	s->u.http.req_body = e->req_body;
	s->u.http.resp_body = e->resp_body;
	bool client = s->kind == RS_KIND_CLIENT;
	/* OpenTelemetry's HTTP conventions: 5xx is an error for both sides, 4xx for clients only;
	 * no response at all is an error too. */
	if (e->status >= 500 || (client && e->status >= 400) || e->end == RS_HTTP_END_ABORTED)
		s->status = RS_STATUS_ERROR;
	if (e->end == RS_HTTP_END_EXIT)
		s->flags |= RS_SPAN_ENDED_BY_EXIT;
	emit(begin);
}

static void evict_oldest(rs_join_emit_fn emit, uint64_t now_ns)
{
	struct entry *e = find(T.oldest->key);
	union rs_rec *rec = take(e);
	if (rec->hdr.type == RS_REC_SPAN_BEGIN) {
		struct rs_rec_end end = {.end_ns = now_ns, .end = RS_HTTP_END_OPEN};
		rec->span.flags |= RS_SPAN_UNFINISHED;
		merge(rec, &end, emit);
	}
	free(rec);
}

static void wait_for_other_half(const union rs_rec *rec, rs_join_emit_fn emit, uint64_t key)
{
	size_t len = rec->hdr.len;
	uint64_t now = rec->hdr.type == RS_REC_SPAN_END ? rec->end.end_ns : rec->span.start_ns;
	while (T.n && (T.n >= MAX_WAITING || T.bytes + len > MAX_BYTES))
		evict_oldest(emit, now);
	if ((T.n + 1) * 2 > T.cap && !grow()) {
		RS_STAT_ADD(dropped_encode, 1);
		return;
	}
	union rs_rec *copy = malloc(rec->hdr.type == RS_REC_SPAN_BEGIN ? RS_REC_MAX : len);
	struct entry_age *age = malloc(sizeof(*age));
	if (!copy || !age) {
		free(copy);
		free(age);
		RS_STAT_ADD(dropped_encode, 1);
		return;
	}
	memcpy(copy, rec, len);
	*age = (struct entry_age){.prev = T.newest, .key = key};
	if (T.newest)
		T.newest->next = age;
	else
		T.oldest = age;
	T.newest = age;
	size_t i = home(key);
	while (T.slot[i].key)
		i = (i + 1) & (T.cap - 1);
	T.slot[i] = (struct entry){.key = key, .rec = copy, .age = age};
	T.n++;
	T.bytes += len;
}

void rs_join_begin(const union rs_rec *rec, rs_join_emit_fn emit)
{
	uint64_t key = key_of(rec->span.span_id);
	struct entry *e = find(key);
	if (e && e->rec->hdr.type == RS_REC_SPAN_END) {
		union rs_rec *end = take(e);
		union rs_rec *copy = malloc(RS_REC_MAX);
		if (copy) {
			memcpy(copy, rec, rec->hdr.len);
			merge(copy, &end->end, emit);
			free(copy);
		} else {
			RS_STAT_ADD(dropped_encode, 1);
		}
		free(end);
		return;
	}
	wait_for_other_half(rec, emit, key);
}

void rs_join_end(const union rs_rec *rec, rs_join_emit_fn emit)
{
	uint64_t key = key_of(rec->end.span_id);
	struct entry *e = find(key);
	if (e && e->rec->hdr.type == RS_REC_SPAN_BEGIN) {
		union rs_rec *begin = take(e);
		merge(begin, &rec->end, emit);
		free(begin);
		return;
	}
	wait_for_other_half(rec, emit, key);
}

void rs_join_flush(uint64_t now_ns, rs_join_emit_fn emit)
{
	while (T.n) {
		union rs_rec *rec = take(find(T.oldest->key));
		if (rec->hdr.type == RS_REC_SPAN_BEGIN) {
			struct rs_rec_end end = {.end_ns = now_ns, .end = RS_HTTP_END_EXIT};
			rec->span.flags |= RS_SPAN_UNFINISHED;
			merge(rec, &end, emit);
		}
		free(rec);
	}
}

size_t rs_join_waiting(void)
{
	return T.n;
}

void rs_join_forget(void)
{
	memset(&T, 0, sizeof(T));
}
