/* The output directory and the naming of the files in it, shared by every exporter that writes
 * files (spans, profiles). */
#include "outdir.h"
#include "../preload/config.h"
#include "../preload/log.h"
#include "../preload/process.h"
#include "../preload/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Creates dir and its missing parents. The last component gets mode 1777 (like /tmp): processes
 * that drop privileges, such as nginx workers, can still create their own 0600 files there. */
static int make_dirs(const char *dir)
{
	char tmp[RS_CFG_PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		mkdir(tmp, 0755);
		*p = '/';
	}
	if (mkdir(tmp, 01777) != 0)
		return errno;
	chmod(tmp, 01777); /* mkdir's mode passed through the umask */
	return 0;
}

/* Opens the output directory after checking nobody else could swap files under us. */
static int open_dir(const char *dir, const char *what)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	if (fd < 0 && e == ENOENT) {
		e = make_dirs(dir);
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && !e)
			e = errno;
	}
	if (fd < 0) {
		rs_log(RS_LOG_ERROR, "cannot open or create RINGSIDE_OUTPUT_DIR %s (as uid %d): %s; "
				     "%s are dropped and counted",
		       dir, (int)geteuid(), strerror(e), what);
		return -e;
	}
	/* Files are created 0600 with O_EXCL|O_NOFOLLOW, so whoever owns the directory cannot read
	 * or redirect them; a directory anyone may write to must still be sticky, or anyone could
	 * rename our files away. */
	struct stat st;
	if (fstat(fd, &st) != 0 || ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))) {
		rs_log(RS_LOG_ERROR, "RINGSIDE_OUTPUT_DIR %s is writable by all without the sticky "
				     "bit; refusing to write %s there",
		       dir, what);
		rs_sys_close(fd);
		return -EPERM;
	}
	return fd;
}

/* <executable>.<pid>[-<n>].<suffix>; the executable's own name, since programs such as nginx
 * rewrite argv[0]. */
static void file_name(char *out, size_t size, const char *exe_name, const char *suffix, int attempt)
{
	char exe[48];
	size_t i = 0;
	for (; exe_name[i] && i < sizeof(exe) - 1; i++) {
		char c = exe_name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == '-';
		exe[i] = ok ? c : '_';
	}
	exe[i] = 0;
	if (!i || exe[0] == '.')
		snprintf(exe, sizeof(exe), "process");
	if (attempt)
		snprintf(out, size, "%s.%d-%d.%s", exe, (int)rs_process_pid(), attempt, suffix);
	else
		snprintf(out, size, "%s.%d.%s", exe, (int)rs_process_pid(), suffix);
}

int rs_outdir_create(struct rs_loop *loop, const struct rs_resource *res, const char *suffix,
		     const char *what, char *path, size_t size)
{
	int dirfd = open_dir(rs_cfg.output_dir, what);
	if (dirfd < 0)
		return dirfd;
	int h = -EEXIST;
	char name[128];
	const struct rs_attr *exe = rs_resource_get(res, "process.executable.name");
	for (int attempt = 0; attempt < 100 && h == -EEXIST; attempt++) {
		file_name(name, sizeof(name), exe ? exe->str : "", suffix, attempt);
		h = rs_loop_open(loop, dirfd, name,
				 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	rs_sys_close(dirfd);
	if (h < 0) {
		rs_log(RS_LOG_ERROR, "cannot create %s/%s: %s; %s are dropped and counted",
		       rs_cfg.output_dir, name, strerror(-h), what);
		return h;
	}
	snprintf(path, size, "%s/%s", rs_cfg.output_dir, name);
	return h;
}
