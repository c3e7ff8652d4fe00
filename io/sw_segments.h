/* Assembles SkyWalking segments from whole HTTP spans: the spans the hooks numbered into one
 * segment (same segment id: one trace on one thread of work) are held until the segment is
 * complete, then handed on together. Complete: its Entry span (index 0) and every index below
 * the highest seen have arrived; or nothing arrived for it during the bounded wait; or the flush
 * at exit or exec. Spans of a segment already handed on go out as a later part of it
 * ("<id>.<n>", tied to the first by a CrossThread ref). Reporter thread only; bounded: past 4096
 * open segments, 300 spans in one, or 8 MiB held, the oldest is handed on early (nothing is
 * dropped here). */
#ifndef RS_IO_SW_SEGMENTS_H
#define RS_IO_SW_SEGMENTS_H

#include "../proto/sw_segment.h"

typedef void (*rs_sw_emit_fn)(const struct rs_sw_seg *seg, void *arg);

/* wait_ns: the bounded wait; service and instance name every segment; emit receives each
 * sealed segment (valid only during the call). False when memory ran out. */
bool rs_sw_asm_init(uint64_t wait_ns, const char *service, const char *instance, rs_sw_emit_fn emit,
		    void *arg);

/* Takes a whole span (copied). False when it is not an HTTP span (SkyWalking has no segment for
 * a bare TCP connection) or memory ran out (counted as dropped_encode). now: monotonic ns. */
bool rs_sw_asm_add(const union rs_rec *rec, uint64_t now);

/* Hands on the segments whose wait is over; returns nanoseconds until the next one is due, or
 * UINT64_MAX. */
uint64_t rs_sw_asm_tick(uint64_t now);

/* Hands on every open segment. */
void rs_sw_asm_flush(void);

/* Spans held in open segments. */
size_t rs_sw_asm_spans(void);

/* In a fork child: drop the parent's state without freeing it. */
void rs_sw_asm_forget(void);

/* Frees everything, open segments unsent (tests). */
void rs_sw_asm_free(void);

#endif
