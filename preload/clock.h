/* Timestamps for records: CLOCK_MONOTONIC through the vDSO plus an offset to the epoch that the
 * reporter refreshes, so one clock read per event gives wall-clock nanoseconds. */
#ifndef RS_CLOCK_H
#define RS_CLOCK_H

#include "rs.h"

#include <time.h>

extern _Atomic int64_t rs_clock_offset_ns;

static inline uint64_t rs_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Nanoseconds since the epoch. */
static inline uint64_t rs_epoch_ns(void)
{
	return rs_mono_ns() + (uint64_t)rs_load_relaxed(&rs_clock_offset_ns);
}

static inline uint64_t rs_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Re-reads both clocks and updates the offset (follows NTP steps). */
static inline void rs_clock_sync(void)
{
	uint64_t m = rs_mono_ns();
	uint64_t r = rs_realtime_ns();
	rs_store_relaxed(&rs_clock_offset_ns, (int64_t)(r - m));
}

#endif
