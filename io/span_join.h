/* HTTP spans arrive in two halves (RS_REC_SPAN_BEGIN when the request head has passed,
 * RS_REC_SPAN_END when the response has), possibly from different threads' rings and in either
 * order. The join table pairs them by span id and hands whole spans on. Reporter thread only;
 * bounded: past 16384 waiting halves or 8 MiB, the oldest is handed on unfinished. */
#ifndef RS_IO_SPAN_JOIN_H
#define RS_IO_SPAN_JOIN_H

#include "../preload/record.h"

typedef void (*rs_join_emit_fn)(const union rs_rec *span);

void rs_join_begin(const union rs_rec *rec, rs_join_emit_fn emit);
void rs_join_end(const union rs_rec *rec, rs_join_emit_fn emit);

/* Hands on every waiting beginning as an unfinished span ending at now_ns (at exit); drops ends
 * whose beginning never came (its loss was counted where it happened). */
void rs_join_flush(uint64_t now_ns, rs_join_emit_fn emit);

size_t rs_join_waiting(void);

/* In a fork child: drop the parent's table without freeing it. */
void rs_join_forget(void);

#endif
