/* Consumers of the record types other than spans (the profiler's samples, for one). A sink is
 * registered from an io/ constructor and driven by the reporter thread like the span exporter:
 * it is started with the loop, fed its records, ticked, flushed, and its idleness ends a flush. */
#ifndef RS_IO_SINK_H
#define RS_IO_SINK_H

#include "../preload/record.h"
#include "../proto/resource.h"
#include "loop.h"

struct rs_sink {
	const char *name;
	uint8_t type_min, type_max; /* the record types it takes, inclusive */
	void (*start)(struct rs_loop *loop, const struct rs_resource *res);
	void (*take)(const union rs_rec *rec);
	/* Each pass of the reporter's loop; returns nanoseconds until it next needs a pass, or
	 * UINT64_MAX. */
	uint64_t (*tick)(uint64_t now_ns);
	/* Seals what is open and starts delivering it; at_exit for the last time. */
	void (*flush)(bool at_exit);
	bool (*idle)(void);
	/* In a fork child: drop the parent's state without freeing it. */
	void (*forget)(void);
	/* Optional. At exit, on the exiting thread, after the last flush (complete: it finished in
	 * time): says in one line what the sink lost, if anything, and returns how many of the
	 * rings' full-ring drops were its records, which the span loss line then leaves out. */
	uint64_t (*report_losses)(bool complete);
};

/* From a constructor (priority 104: above the reporter's 103, and before anything of priority
 * 105 or later may start the reporter); up to 4 sinks. */
void rs_reporter_add_sink(const struct rs_sink *s);

#endif
