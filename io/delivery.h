/* Delivery of sealed batches to a network transport: the bounded queue, one batch in flight, and
 * retries. Retryable failures (429, 502, 503, 504; gRPC's retryable statuses; no answer at all)
 * wait with exponential backoff and jitter, at least as long as a Retry-After asks; permanent
 * ones and partial-success answers are not retried. Everything lost is counted by reason.
 * Reporter thread only. */
#ifndef RS_IO_DELIVERY_H
#define RS_IO_DELIVERY_H

#include "batch.h"

enum rs_outcome {
	RS_DELIVERED,	/* accepted */
	RS_RETRY,	/* try again later */
	RS_REJECTED,	/* refused for good: dropped */
};

struct rs_delivery;
/* Starts sending b; the transport calls rs_delivery_done when it knows the outcome. */
typedef void (*rs_delivery_send_fn)(void *transport, struct rs_batch *b);

struct rs_delivery {
	struct rs_batchq q;
	rs_delivery_send_fn send;
	void *transport;
	const char *what; /* for stderr lines: "OTLP/HTTP to http://h:4318/v1/traces" */
	bool inflight;
	unsigned attempt;     /* consecutive failures of the head batch */
	uint64_t not_before;  /* monotonic ns: no attempt before this */
	uint64_t sent_at;     /* when the batch in flight went */
	bool healthy;	      /* the last attempt succeeded */
};

void rs_delivery_init(struct rs_delivery *d, const char *what, rs_delivery_send_fn send,
		      void *transport);

/* Queues a sealed batch (the queue's bounds apply) and starts it if nothing is in flight. */
void rs_delivery_push(struct rs_delivery *d, struct rs_batch *b);

/* Starts the head batch when it is due. Returns nanoseconds until it next needs a tick. */
uint64_t rs_delivery_tick(struct rs_delivery *d, uint64_t now);

/* The transport's answer for the batch in flight. rejected: spans the collector refused inside
 * an accepted answer (partial success), counted as dropped. why: for the stderr line. */
void rs_delivery_done(struct rs_delivery *d, enum rs_outcome o, uint32_t retry_after_ms,
		      uint64_t rejected, const char *why);

static inline bool rs_delivery_idle(const struct rs_delivery *d)
{
	return rs_batchq_empty(&d->q);
}

/* The queue is full but the transport is keeping up: the reporter should let the rings hold
 * records a little longer rather than drop queued batches. */
bool rs_delivery_backpressure(const struct rs_delivery *d);

#endif
