/* SkyWalking's in-process trace profiling (ProfileTask service) on the reporter thread: a sink
 * for the thread snapshots the profiler's handler takes on request, fed the HTTP span halves too
 * so it knows which threads serve the profiled endpoint. See sw_profile.c. */
#ifndef RS_IO_SW_PROFILE_H
#define RS_IO_SW_PROFILE_H

#include "../preload/record.h"

/* A profile task is running: the reporter hands every span half to rs_sw_profile_observe. */
extern bool rs_sw_profile_watching;

/* An RS_REC_SPAN_BEGIN or RS_REC_SPAN_END record (reporter thread). */
void rs_sw_profile_observe(const union rs_rec *rec);

/* The gRPC paths it calls: getProfileTaskCommands, collectSnapshot, reportTaskFinish. */
extern const char *const rs_sw_profile_paths[3];

struct rs_sw_profile_stats {
	uint64_t tasks, snapshots_sent, snapshots_lost, snapshots_stale;
};
void rs_sw_profile_stats(struct rs_sw_profile_stats *st);

#endif
