/* The hand-written pprof encoder: decodes what it wrote with a minimal protobuf reader and checks
 * the string table, samples, values, labels, locations, functions and mappings. With a path
 * argument it also writes the profile there, for tests/integration/t_profile_labels.sh to read
 * with the real pprof tool. */
#include "../../proto/pprof.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct field {
	unsigned num, wire;
	uint64_t v;	  /* varint */
	const uint8_t *p; /* LEN */
	size_t len;
};

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

static bool next(const uint8_t **p, const uint8_t *end, struct field *f)
{
	uint64_t tag;
	if (*p >= end || !varint(p, end, &tag))
		return false;
	f->num = (unsigned)(tag >> 3);
	f->wire = (unsigned)(tag & 7);
	if (f->wire == 0)
		return varint(p, end, &f->v);
	if (f->wire != 2 || !varint(p, end, &f->v) || f->v > (uint64_t)(end - *p))
		return false;
	f->p = *p;
	f->len = (size_t)f->v;
	*p += f->len;
	return true;
}

static char strings[64][64];
static int nstrings;

int main(int argc, char **argv)
{
	struct rs_pprof *p = rs_pprof_new(1700000000000000000ull, 10000000);
	CHECK(p != NULL);
	uint64_t m = rs_pprof_mapping(p, 0x1000, 0x2000, 0, "/bin/prog", "abcd", true);
	uint64_t l1 = rs_pprof_location(p, 0x1100, m, "leaf_fn");
	uint64_t l2 = rs_pprof_location(p, 0x1200, m, "root_fn");
	uint64_t l3 = rs_pprof_location(p, 0x1300, m, NULL); /* unknown: address only */
	CHECK(rs_pprof_location(p, 0x1100, m, "leaf_fn") == l1); /* one per address */
	CHECK(rs_pprof_location_of(p, 0x1200) == l2);
	uint64_t stack1[] = {l1, l2}, stack2[] = {l3, l2};
	int64_t v1[RS_PPROF_VALUES] = {3, 30000000, 0}, v2[RS_PPROF_VALUES] = {1, 0, 5000000};
	struct rs_pprof_label lab1[] = {{"thread.id", NULL, 42},
					{"thread.name", "worker", 0},
					{"trace_id", "0102030405060708090a0b0c0d0e0f10", 0},
					{"span_id", "1112131415161718", 0}};
	struct rs_pprof_label lab2[] = {{"thread.id", NULL, 43}, {"wait.kind", "mutex", 0}};
	rs_pprof_sample(p, stack1, 2, v1, lab1, 4);
	rs_pprof_sample(p, stack2, 2, v2, lab2, 2);
	struct rs_buf out = {0};
	CHECK(rs_pprof_encode(p, 2000000000, &out));
	rs_pprof_free(p);

	/* Strings first: they are at the end of the message. */
	const uint8_t *q = (const uint8_t *)out.p, *end = q + out.len;
	struct field f;
	while (next(&q, end, &f))
		if (f.num == 6 && nstrings < 64)
			snprintf(strings[nstrings++], 64, "%.*s", (int)f.len, f.p);
	CHECK(q == end);
	CHECK(nstrings > 10 && strings[0][0] == 0);

	int samples = 0, locations = 0, functions = 0, mappings = 0, types = 0;
	bool span_label = false;
	q = (const uint8_t *)out.p;
	while (next(&q, end, &f)) {
		const uint8_t *s = f.p, *e = f.p + f.len;
		struct field g;
		switch (f.num) {
		case 1:
			types++;
			break;
		case 2:
			samples++;
			while (next(&s, e, &g)) {
				if (g.num == 3) {
					const uint8_t *ls = g.p, *le = g.p + g.len;
					struct field h;
					uint64_t key = 0, str = 0;
					while (next(&ls, le, &h))
						if (h.num == 1)
							key = h.v;
						else if (h.num == 2)
							str = h.v;
					CHECK(key < (uint64_t)nstrings && str < (uint64_t)nstrings);
					if (strcmp(strings[key], "span_id") == 0)
						span_label = strcmp(strings[str], "1112131415161718") == 0;
				}
			}
			break;
		case 3:
			mappings++;
			break;
		case 4:
			locations++;
			break;
		case 5:
			functions++;
			while (next(&s, e, &g))
				if (g.num == 2)
					CHECK(strcmp(strings[g.v], "leaf_fn") == 0 ||
					      strcmp(strings[g.v], "root_fn") == 0);
			break;
		}
	}
	CHECK_EQ_U(types, 3);
	CHECK_EQ_U(samples, 2);
	CHECK_EQ_U(mappings, 1);
	CHECK_EQ_U(locations, 3);
	CHECK_EQ_U(functions, 2);
	CHECK(span_label);
	if (argc > 1) {
		FILE *fp = fopen(argv[1], "wb");
		CHECK(fp && fwrite(out.p, 1, out.len, fp) == out.len);
		if (fp)
			fclose(fp);
	}
	rs_buf_free(&out);
	return check_result();
}
