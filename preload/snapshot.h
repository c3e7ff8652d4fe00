/* Stack snapshots on request: the reporter asks a thread for its stack now (SkyWalking's profile
 * tasks sample the threads serving one endpoint), by queueing the profiler's signal to that
 * thread with a tagged value; the handler (hooks/profile.c) answers with an RS_REC_SNAPSHOT
 * record carrying the tag. The handler tells a request from anything else by its code
 * (SI_QUEUE), its sender (this process) and the magic in the value's high bits. */
#ifndef RS_SNAPSHOT_H
#define RS_SNAPSHOT_H

#include "sys.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#define RS_PROF_SIGNAL (SIGRTMAX - 3)
#define RS_SNAPSHOT_MAGIC 0x5253u /* "RS" */
#define RS_SNAPSHOT_TAG_MAX 0xffffu

/* The handler is installed and answers requests (set by hooks/profile.c). */
extern _Atomic bool rs_snapshots_ready;

/* Asks thread tid of this process for a snapshot tagged tag (1..RS_SNAPSHOT_TAG_MAX). 0, or
 * -errno (-ESRCH: the thread is gone). */
static inline long rs_snapshot_request(int tid, uint32_t tag)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = RS_PROF_SIGNAL;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = (int)(RS_SNAPSHOT_MAGIC << 16 | (tag & RS_SNAPSHOT_TAG_MAX));
	return rs_sys4(SYS_rt_tgsigqueueinfo, getpid(), tid, RS_PROF_SIGNAL, &si);
}

static inline bool rs_snapshot_is_request(const siginfo_t *si, uint32_t *tag)
{
	if (si->si_code != SI_QUEUE || si->si_pid != getpid())
		return false;
	uint32_t v = (uint32_t)si->si_value.sival_int;
	if (v >> 16 != RS_SNAPSHOT_MAGIC || !(v & RS_SNAPSHOT_TAG_MAX))
		return false;
	*tag = v & RS_SNAPSHOT_TAG_MAX;
	return true;
}

#endif
