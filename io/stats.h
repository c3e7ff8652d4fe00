/* Self-telemetry counters of the reporter: what was recorded, exported, and lost and why. Written
 * by the reporter thread, read by the thread that prints the summary at exit. */
#ifndef RS_IO_STATS_H
#define RS_IO_STATS_H

#include "../preload/rs.h"

struct rs_io_stats {
	_Atomic uint64_t spans_recorded;	 /* taken from the rings */
	_Atomic uint64_t spans_exported;	 /* written or acknowledged */
	_Atomic uint64_t dropped_ring_full;	 /* refused by a full per-thread ring */
	_Atomic uint64_t dropped_queue_full;	 /* OTEL_BSP_MAX_QUEUE_SIZE or RINGSIDE_QUEUE_MB */
	_Atomic uint64_t dropped_export_failed;	 /* the write or send failed for good */
	_Atomic uint64_t dropped_no_exporter;	 /* the exporter could not start */
	_Atomic uint64_t dropped_encode;	 /* out of memory while encoding */
	_Atomic uint64_t dropped_corrupt;	 /* a ring held a malformed record */
	_Atomic uint64_t dropped_rejected;	 /* refused inside an accepted answer (partial success) */
	_Atomic uint64_t retries;		 /* attempts that will be made again */
	_Atomic uint64_t export_ns;		 /* time from send to answer, summed over batches */
	_Atomic uint64_t batches;
	_Atomic uint64_t bytes_written;
};

extern struct rs_io_stats rs_io_stats;

#define RS_STAT_ADD(field, n) rs_add_relaxed(&rs_io_stats.field, (n))

#endif
