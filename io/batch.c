/* Bounded FIFO of encoded batches; the drop-oldest policy keeps the newest telemetry when a
 * transport stalls. */
#include "batch.h"
#include "stats.h"

#include <stdlib.h>

void rs_batchq_init(struct rs_batchq *q, size_t max_bytes, size_t max_spans)
{
	*q = (struct rs_batchq){.max_bytes = max_bytes, .max_spans = max_spans};
}

struct rs_batch *rs_batch_new(void)
{
	return calloc(1, sizeof(struct rs_batch));
}

void rs_batch_free(struct rs_batch *b)
{
	if (b) {
		rs_buf_free(&b->data);
		free(b);
	}
}

static void unlink_after(struct rs_batchq *q, struct rs_batch *prev, struct rs_batch *b)
{
	if (prev)
		prev->next = b->next;
	else
		q->head = b->next;
	if (q->tail == b)
		q->tail = prev;
	q->bytes -= b->data.len;
	q->spans -= b->spans;
}

void rs_batchq_push(struct rs_batchq *q, struct rs_batch *b)
{
	b->next = NULL;
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
	q->bytes += b->data.len;
	q->spans += b->spans;
	struct rs_batch *prev = NULL, *cur = q->head;
	while ((q->bytes > q->max_bytes || q->spans > q->max_spans) && cur) {
		struct rs_batch *next = cur->next;
		if (cur->inflight) {
			prev = cur;
		} else {
			unlink_after(q, prev, cur);
			RS_STAT_ADD(dropped_queue_full, cur->spans);
			rs_batch_free(cur);
		}
		cur = next;
	}
}

void rs_batchq_pop(struct rs_batchq *q)
{
	struct rs_batch *b = q->head;
	if (!b)
		return;
	unlink_after(q, NULL, b);
	rs_batch_free(b);
}
