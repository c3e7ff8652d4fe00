/* A pprof profile (perftools.profiles.Profile) built up on the reporter thread and encoded by
 * hand into protobuf: strings, functions and locations are deduplicated as they are added, and
 * samples are encoded as they come, so memory stays proportional to what is distinct. */
#ifndef RS_PROTO_PPROF_H
#define RS_PROTO_PPROF_H

#include "buf.h"

#define RS_PPROF_VALUES 3 /* samples (count), cpu (ns), wait (ns) */

struct rs_pprof;

struct rs_pprof_label {
	const char *key;
	const char *str; /* NULL: a numeric label */
	int64_t num;
};

/* A new profile taken from time_ns (epoch ns), with a sampling period of period_ns of CPU time;
 * NULL when out of memory. */
struct rs_pprof *rs_pprof_new(uint64_t time_ns, uint64_t period_ns);
void rs_pprof_free(struct rs_pprof *p);

/* Index of s in the string table (added when new). */
int64_t rs_pprof_string(struct rs_pprof *p, const char *s, size_t len);

/* Adds a mapping; ids count from 1 in the order of the calls. build_id is the hex text. */
uint64_t rs_pprof_mapping(struct rs_pprof *p, uint64_t start, uint64_t limit, uint64_t offset,
			  const char *file, const char *build_id, bool has_functions);

/* The location of address (one per address): in mapping (0: none), in the function named name
 * (NULL: unknown, to be symbolized later from the mapping's build id). */
uint64_t rs_pprof_location(struct rs_pprof *p, uint64_t address, uint64_t mapping,
			   const char *name);

/* True when address already has a location (its symbol need not be looked up again). */
uint64_t rs_pprof_location_of(struct rs_pprof *p, uint64_t address);

/* Adds a sample: n location ids (leaf first), RS_PPROF_VALUES values, and labels. */
void rs_pprof_sample(struct rs_pprof *p, const uint64_t *locs, size_t n,
		     const int64_t values[RS_PPROF_VALUES], const struct rs_pprof_label *labels,
		     size_t nlabels);

/* Encodes the profile into out (appended). duration_ns: the time the profile covers. False when
 * memory ran out at any point of building or encoding. */
bool rs_pprof_encode(struct rs_pprof *p, uint64_t duration_ns, struct rs_buf *out);

/* Samples added. */
size_t rs_pprof_samples(const struct rs_pprof *p);

#endif
