/* The profiler's own counters: what was sampled and what was lost and why. Application threads
 * (and their signal handlers) add to them; the exit report reads them. */
#ifndef RS_PROF_STATS_H
#define RS_PROF_STATS_H

#include "rs.h"

struct rs_prof_stats {
	_Atomic uint64_t taken;		/* samples pushed into a ring */
	_Atomic uint64_t dropped_ring;	/* the thread's ring was full */
	_Atomic uint64_t dropped_busy;	/* the signal came while the thread was writing a record */
	_Atomic uint64_t dropped_no_ring; /* the thread had no ring (it was ending) */
	_Atomic uint64_t handler_walks;	/* unwinds in the handler that needed the object table */
	_Atomic uint64_t snapshots;	/* stacks taken at the reporter's request */
	_Atomic uint64_t snapshots_lost; /* ... that could not be taken or stored */
};

extern struct rs_prof_stats rs_prof_stats;

#endif
