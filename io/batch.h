/* The queue of encoded batches waiting for their transport, bounded in spans
 * (OTEL_BSP_MAX_QUEUE_SIZE) and in bytes (RINGSIDE_QUEUE_MB). Past either bound the oldest batch
 * not in flight is dropped and its spans counted. Reporter thread only. */
#ifndef RS_IO_BATCH_H
#define RS_IO_BATCH_H

#include "../proto/buf.h"
#include "loop.h"

struct rs_batch {
	struct rs_loop_op op; /* first: the completion of its write */
	struct rs_batch *next;
	struct rs_buf data;
	size_t done;	/* bytes already delivered */
	uint32_t spans;
	bool inflight;
	/* What a batch without spans carries: profile samples, and the time they cover. */
	uint64_t items;
	uint64_t from_ns, until_ns;
};

struct rs_batchq {
	struct rs_batch *head, *tail;
	size_t bytes;
	size_t spans;
	size_t max_bytes;
	size_t max_spans;
};

void rs_batchq_init(struct rs_batchq *q, size_t max_bytes, size_t max_spans);

/* A new empty batch (malloc), or NULL. */
struct rs_batch *rs_batch_new(void);
void rs_batch_free(struct rs_batch *b);

/* Appends b; then drops the oldest batches not in flight while a bound is exceeded. */
void rs_batchq_push(struct rs_batchq *q, struct rs_batch *b);

/* Removes and frees the head (delivered or failed for good). */
void rs_batchq_pop(struct rs_batchq *q);

static inline bool rs_batchq_empty(const struct rs_batchq *q)
{
	return q->head == NULL;
}

#endif
