/* Constructor and destructor of the shim, fork handling, the reporter's lazy start and final flush,
 * and the registry of the descriptors the shim keeps in the program's fd table. */
#include "process.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "sys.h"
#include "thread.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

_Atomic int64_t rs_clock_offset_ns;

static const struct rs_reporter_ops *reporter;
static _Atomic int reporter_started;
static pid_t cached_pid;
static char lib_path[PATH_MAX];

static void (*exit_fns[4])(void);
static _Atomic int n_exit_fns;
static void (*fork_fns[4])(void);
static _Atomic int n_fork_fns;

void rs_process_set_reporter(const struct rs_reporter_ops *ops)
{
	reporter = ops;
}

void rs_process_at_exit(void (*fn)(void))
{
	int i = atomic_fetch_add(&n_exit_fns, 1);
	if (i < (int)RS_ARRAY_LEN(exit_fns))
		exit_fns[i] = fn;
}

void rs_process_at_fork_child(void (*fn)(void))
{
	int i = atomic_fetch_add(&n_fork_fns, 1);
	if (i < (int)RS_ARRAY_LEN(fork_fns))
		fork_fns[i] = fn;
}

void rs_process_need_reporter(void)
{
	int expect = 0;
	if (reporter && atomic_compare_exchange_strong(&reporter_started, &expect, 1)) {
		/* Inside whatever hook recorded first: the program's errno must survive. */
		int saved = errno;
		rs_guard_enter();
		reporter->start();
		rs_guard_leave();
		errno = saved;
	}
}

void rs_process_wake_reporter(void)
{
	if (rs_load_relaxed(&reporter_started) && reporter->wake) {
		int saved = errno;
		reporter->wake();
		errno = saved;
	}
}

pid_t rs_process_pid(void)
{
	return cached_pid;
}

static char instance[37];

const char *rs_process_instance(void)
{
	return instance;
}

static void new_instance(void)
{
	static const char d[] = "0123456789abcdef";
	uint8_t id[16];
	rs_new_trace_id(id);
	id[6] = (uint8_t)((id[6] & 0x0f) | 0x40); /* RFC 9562 version 4 */
	id[8] = (uint8_t)((id[8] & 0x3f) | 0x80);
	char *o = instance;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = d[id[i] >> 4];
		*o++ = d[id[i] & 15];
	}
	*o = 0;
}

const char *rs_process_lib_path(void)
{
	return lib_path;
}

void rs_process_flush(bool at_exit)
{
	if (!rs_load_relaxed(&reporter_started) || rs_t.internal)
		return;
	int saved = errno;
	rs_guard_enter();
	reporter->flush(rs_cfg.flush_timeout_ms, at_exit);
	rs_guard_leave();
	errno = saved;
}

/* --- the shim's descriptors --- */

struct shim_fd {
	_Atomic int fd; /* -1 when the cell is free */
	dev_t dev;
	ino_t ino;
};

static struct shim_fd shim_fds[RS_SHIM_FDS];
static _Atomic int shim_fd_count;
static int shim_floor = 3;
/* No shim descriptor was ever below this: the shim's sit high, so a program's close() of its own
 * low numbers is answered without a look at every cell. Only ever lowered, before a cell holds
 * the lower number, so a check never misses one. */
static _Atomic int shim_fd_min = INT_MAX;

static void note_shim_fd(int fd)
{
	int cur = atomic_load(&shim_fd_min);
	while (fd >= 0 && fd < cur && !atomic_compare_exchange_weak(&shim_fd_min, &cur, fd))
		;
}

int rs_shim_fd_floor(void)
{
	return shim_floor;
}

static int move_high(int fd)
{
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, shim_floor);
	if (hi < 0)
		return fd;
	rs_sys_close(fd);
	return hi;
}

_Atomic int *rs_shim_fd_add(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return NULL;
	for (int i = 0; i < RS_SHIM_FDS; i++) {
		struct shim_fd *s = &shim_fds[i];
		int expect = -1;
		if (!atomic_compare_exchange_strong(&s->fd, &expect, -2))
			continue;
		s->dev = st.st_dev;
		s->ino = st.st_ino;
		int hi = move_high(fd);
		note_shim_fd(hi);
		atomic_store(&s->fd, hi);
		atomic_fetch_add(&shim_fd_count, 1);
		return &s->fd;
	}
	return NULL;
}

void rs_shim_fd_del(_Atomic int *cell)
{
	if (!cell)
		return;
	atomic_store(cell, -1);
	atomic_fetch_sub(&shim_fd_count, 1);
}

bool rs_shim_fd_is(int fd)
{
	if (rs_likely(rs_load_relaxed(&shim_fd_count) == 0) || fd < rs_load_relaxed(&shim_fd_min))
		return false;
	for (int i = 0; i < RS_SHIM_FDS; i++)
		if (rs_load_relaxed(&shim_fds[i].fd) == fd)
			return true;
	return false;
}

int rs_shim_fd_list(int *out)
{
	int n = 0;
	for (int i = 0; i < RS_SHIM_FDS; i++) {
		int fd = rs_load_relaxed(&shim_fds[i].fd);
		if (fd < 0)
			continue;
		int j = n++;
		for (; j > 0 && out[j - 1] > fd; j--)
			out[j] = out[j - 1];
		out[j] = fd;
	}
	return n;
}

bool rs_shim_fd_valid(_Atomic int *cell)
{
	struct shim_fd *s = (struct shim_fd *)((char *)cell - offsetof(struct shim_fd, fd));
	int fd = atomic_load(cell);
	struct stat st;
	int saved = errno;
	bool ok = fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino;
	errno = saved;
	return ok;
}

void rs_shim_fd_evict(int fd)
{
	for (int i = 0; i < RS_SHIM_FDS; i++) {
		struct shim_fd *s = &shim_fds[i];
		if (rs_load_relaxed(&s->fd) != fd)
			continue;
		int saved = errno;
		int hi = fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
		errno = saved;
		note_shim_fd(hi);
		/* Without a free number the descriptor is given up: the owner notices through
		 * rs_shim_fd_valid and rebuilds. The program's dup2 replaces it either way. */
		atomic_store(&s->fd, hi);
		if (hi < 0)
			atomic_fetch_sub(&shim_fd_count, 1);
	}
}

/* --- constructor, fork, destructor --- */

static char complaints[8][400];
static int n_complaints;

static void collect_complaint(void *arg, const char *msg)
{
	(void)arg;
	if (n_complaints < (int)RS_ARRAY_LEN(complaints))
		strncpy(complaints[n_complaints++], msg, sizeof(complaints[0]) - 1);
}

static void after_fork_child(void)
{
	if (!rs_load_relaxed(&rs_active))
		return;
	cached_pid = rs_sys_getpid();
	/* The parent's descriptors are the parent's: close them here rather than leave them to be
	 * mistaken for ours. */
	for (int i = 0; i < RS_SHIM_FDS; i++) {
		int fd = rs_load_relaxed(&shim_fds[i].fd);
		if (fd >= 0)
			rs_sys_close(fd);
		rs_store_relaxed(&shim_fds[i].fd, -1);
	}
	rs_store_relaxed(&shim_fd_count, 0);
	rs_thread_after_fork_child();
	new_instance();
	rs_store_relaxed(&reporter_started, 0);
	if (reporter && reporter->after_fork_child)
		reporter->after_fork_child();
	int n = RS_MIN(rs_load_relaxed(&n_fork_fns), (int)RS_ARRAY_LEN(fork_fns));
	for (int i = 0; i < n; i++)
		fork_fns[i]();
	/* The forking thread keeps its ring, so no first claim will start the child's reporter:
	 * start it now (glibc has reset its allocator and thread-stack locks before the child
	 * handlers run). Without this, a forking thread that had recorded anything, or that the
	 * profiler armed, leaves its child's records unread: an nginx worker under
	 * RINGSIDE_PROFILE=cpu wrote nothing. */
	if (rs_t.ring)
		rs_process_need_reporter();
}

__attribute__((constructor(101))) static void rs_process_init(void)
{
	for (int i = 0; i < RS_SHIM_FDS; i++)
		atomic_init(&shim_fds[i].fd, -1);
	rs_config_parse(&rs_cfg, environ, collect_complaint, NULL);
	if (!rs_cfg.enabled)
		return; /* pure pass-through, and silent */
	rs_log_set_level(rs_cfg.log_level);
	for (int i = 0; i < n_complaints; i++)
		rs_log(RS_LOG_ERROR, "%s", complaints[i]);
	cached_pid = rs_sys_getpid();
	rs_clock_sync();

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 64)
		shim_floor = (int)RS_MIN(rl.rlim_cur, 1024) - 24;

	Dl_info info;
	if (dladdr((void *)rs_process_init, &info) && info.dli_fname &&
	    strlen(info.dli_fname) < sizeof(lib_path))
		strcpy(lib_path, info.dli_fname);

	rs_thread_init_process();
	new_instance();
	pthread_atfork(NULL, NULL, after_fork_child);
	atomic_store(&rs_active, true);
}

__attribute__((destructor(101))) static void rs_process_fini(void)
{
	if (!rs_load_relaxed(&rs_active) || rs_t.internal)
		return;
	int saved = errno;
	int n = RS_MIN(rs_load_relaxed(&n_exit_fns), (int)RS_ARRAY_LEN(exit_fns));
	for (int i = 0; i < n; i++)
		exit_fns[i]();
	rs_process_flush(true);
	/* Anything later (other libraries' destructors) would be recorded after the last flush. */
	atomic_store(&rs_active, false);
	errno = saved;
}
