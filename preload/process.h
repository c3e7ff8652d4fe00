/* Process life: the constructor and destructor, fork, the lazily started reporter, the flush at
 * exit and exec, and the few descriptors the shim keeps in the program's fd table. */
#ifndef RS_PROCESS_H
#define RS_PROCESS_H

#include "rs.h"

#include <sys/types.h>

/* What io/ provides so the process layer can drive the reporter without depending on it. */
struct rs_reporter_ops {
	/* Creates the reporter thread; called once per process, from an application thread. */
	void (*start)(void);
	/* From an application thread whose ring is half full: the reporter is behind. */
	void (*wake)(void);
	/* Blocks until everything recorded before the call is written, or timeout_ms passes. At
	 * exit it also reports, in one line, anything that was lost. */
	void (*flush)(uint32_t timeout_ms, bool at_exit);
	/* In a fork child, on the forking thread: forget the parent's reporter. */
	void (*after_fork_child)(void);
};

void rs_process_set_reporter(const struct rs_reporter_ops *ops);

/* Called when a thread claims its first ring: starts the reporter if it is not running. */
void rs_process_need_reporter(void);

/* Wakes the reporter (one system call); for a ring that is filling faster than it drains. */
void rs_process_wake_reporter(void);

/* Registers a function run at exit before the final flush (e.g. to end open connections). */
void rs_process_at_exit(void (*fn)(void));

/* Registers a function run in a fork child (on the forking thread) after the shim's own reset. */
void rs_process_at_fork_child(void (*fn)(void));

/* Flushes what is recorded, bounded by RINGSIDE_FLUSH_TIMEOUT_MS (before exec, and at exit). */
void rs_process_flush(bool at_exit);

pid_t rs_process_pid(void);

/* This process's instance id, a random UUID (service.instance.id; new in a fork child). */
const char *rs_process_instance(void);

/* Path of libringside.so as loaded (for LD_PRELOAD in children); "" if unknown. */
const char *rs_process_lib_path(void);

/* --- the shim's own descriptors in the program's fd table --- */

#define RS_SHIM_FDS 32

/* Registers fd as the shim's; close, close_range, closefrom, dup2 and dup3 leave it alone.
 * Returns a cell that always holds its current number (dup2 may move it), or NULL if full. */
_Atomic int *rs_shim_fd_add(int fd);
void rs_shim_fd_del(_Atomic int *cell);
bool rs_shim_fd_is(int fd);

/* Fills out[RS_SHIM_FDS] with the shim's descriptors in ascending order; returns how many. */
int rs_shim_fd_list(int *out);

/* True while *cell still names the file it named when added (not closed by a raw syscall and
 * reused); compares device and inode. */
bool rs_shim_fd_valid(_Atomic int *cell);

/* Moves a shim fd away from number fd (so the program can have it), keeping it open. */
void rs_shim_fd_evict(int fd);

/* Lowest fd number the shim's descriptors are moved to, so they stay clear of the low numbers
 * programs use by habit. */
int rs_shim_fd_floor(void);

#endif
