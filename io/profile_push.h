/* Pushing each profile to a Pyroscope-compatible server (RINGSIDE_PROFILE_ENDPOINT): POST
 * <endpoint>/ingest?name=<service>{labels}&from=&until=&format=pprof with the gzipped pprof
 * profile as the body, through the reporter's HTTP client and delivery queue (retries as for
 * spans). Reporter thread only. */
#ifndef RS_IO_PROFILE_PUSH_H
#define RS_IO_PROFILE_PUSH_H

#include "../proto/resource.h"
#include "loop.h"

/* False (after one stderr line) when the endpoint is unusable; true also when none is set. */
bool rs_profile_push_start(struct rs_loop *loop, const struct rs_resource *res);

/* Queues a copy of the profile covering [from_ns, until_ns) with its sample count. */
void rs_profile_push(const void *pprof_gz, size_t len, uint64_t from_ns, uint64_t until_ns,
		     uint64_t samples);

uint64_t rs_profile_push_tick(uint64_t now);
bool rs_profile_push_idle(void);
/* Samples of profiles dropped (refused, or over the queue's bound) and still queued. */
uint64_t rs_profile_push_lost(uint64_t *queued);
void rs_profile_push_forget(void);

#endif
