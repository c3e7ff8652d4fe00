/* stderr diagnostics for the shim: bounded lines, a token-bucket rate limit, raw write(2). */
#include "log.h"
#include "sys.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static _Atomic int log_level = RS_LOG_WARN;
static _Atomic int64_t log_tokens = 20;
static _Atomic int64_t log_refill_s;

void rs_log_set_level(enum rs_log_level level)
{
	atomic_store(&log_level, level);
}

/* Allow a burst of 20 lines, then one more per second: a broken collector must not flood the
 * program's stderr. Racy refills only ever let a line or two more through. */
static bool log_take_token(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	int64_t last = rs_load_relaxed(&log_refill_s);
	if (ts.tv_sec > last &&
	    atomic_compare_exchange_strong(&log_refill_s, &last, (int64_t)ts.tv_sec)) {
		int64_t add = last == 0 ? 0 : ts.tv_sec - last;
		int64_t t = rs_load_relaxed(&log_tokens);
		rs_store_relaxed(&log_tokens, RS_MIN(t + add, 20));
	}
	return atomic_fetch_sub(&log_tokens, 1) > 0;
}

void rs_log(enum rs_log_level level, const char *fmt, ...)
{
	if ((int)level > rs_load_relaxed(&log_level) || !log_take_token())
		return;
	char line[512];
	int n = snprintf(line, sizeof(line), "ringside[%d]: ", (int)rs_sys_getpid());
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	size_t len = RS_MIN((size_t)n + (size_t)m, sizeof(line) - 2);
	line[len++] = '\n';
	rs_sys_write(2, line, len);
}
