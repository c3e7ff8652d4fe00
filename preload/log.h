/* One-line diagnostics on stderr, written with a raw write(2) so the program's stdio and errno stay
 * untouched. Callers that may repeat use RS_LOG_ONCE; everything else is rate limited. */
#ifndef RS_LOG_H
#define RS_LOG_H

#include "rs.h"

enum rs_log_level { RS_LOG_ERROR, RS_LOG_WARN, RS_LOG_INFO, RS_LOG_DEBUG };

/* Writes "ringside[pid]: <message>\n" to fd 2 when level is enabled and the global rate limit
 * (a burst of 20 lines, then one per second) allows. Not async-signal-safe (vsnprintf). */
void rs_log(enum rs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first call at a given site logs; later ones are silent. */
#define RS_LOG_ONCE(level, ...)                                                                    \
	do {                                                                                       \
		static atomic_bool rs_logged_;                                                     \
		if (!atomic_exchange_explicit(&rs_logged_, true, memory_order_relaxed))            \
			rs_log((level), __VA_ARGS__);                                              \
	} while (0)

void rs_log_set_level(enum rs_log_level level);

#endif
