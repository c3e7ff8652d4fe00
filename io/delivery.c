/* Queue, retries and backoff for network transports (see delivery.h). */
#include "delivery.h"
#include "../preload/clock.h"
#include "../preload/log.h"
#include "../preload/thread.h"
#include "stats.h"

#define BACKOFF_FIRST_NS 1000000000ull /* 1 s, doubling */
#define BACKOFF_MAX_NS 32000000000ull  /* 32 s */
#define RETRY_AFTER_MAX_MS 60000u

void rs_delivery_init(struct rs_delivery *d, const char *what, rs_delivery_send_fn send,
		      void *transport)
{
	*d = (struct rs_delivery){.send = send, .transport = transport, .what = what};
	rs_batchq_init(&d->q, (size_t)rs_cfg.queue_mb << 20, rs_cfg.bsp_max_queue);
	d->healthy = true;
}

static void start(struct rs_delivery *d, uint64_t now)
{
	if (d->inflight || rs_batchq_empty(&d->q) || now < d->not_before)
		return;
	d->inflight = true;
	d->q.head->inflight = true;
	d->sent_at = now;
	d->send(d->transport, d->q.head);
}

void rs_delivery_push(struct rs_delivery *d, struct rs_batch *b)
{
	rs_batchq_push(&d->q, b);
	start(d, rs_mono_ns());
}

uint64_t rs_delivery_tick(struct rs_delivery *d, uint64_t now)
{
	start(d, now);
	if (d->inflight || rs_batchq_empty(&d->q))
		return UINT64_MAX;
	return d->not_before > now ? d->not_before - now : 0;
}

/* Exponential backoff with ±20% jitter, so many processes do not retry in step. */
static uint64_t backoff(unsigned attempt)
{
	uint64_t ns = BACKOFF_FIRST_NS << RS_MIN(attempt, 5u);
	ns = RS_MIN(ns, BACKOFF_MAX_NS);
	uint8_t r[8];
	rs_new_span_id(r);
	uint64_t jitter = ((uint64_t)r[0] << 8 | r[1]) % (ns / 5 * 2 + 1);
	return ns - ns / 5 + jitter;
}

void rs_delivery_done(struct rs_delivery *d, enum rs_outcome o, uint32_t retry_after_ms,
		      uint64_t rejected, const char *why)
{
	struct rs_batch *b = d->q.head;
	uint64_t now = rs_mono_ns();
	d->inflight = false;
	if (b)
		b->inflight = false;
	if (!b)
		return;
	switch (o) {
	case RS_DELIVERED:
		/* The counters describe span export; batches without spans (metrics) stay out. */
		if (b->spans) {
			RS_STAT_ADD(spans_exported, b->spans - RS_MIN(rejected, (uint64_t)b->spans));
			RS_STAT_ADD(batches, 1);
			RS_STAT_ADD(bytes_written, b->data.len);
			RS_STAT_ADD(export_ns, now - d->sent_at);
		}
		if (rejected) {
			RS_STAT_ADD(dropped_rejected, RS_MIN(rejected, (uint64_t)b->spans));
			rs_log(RS_LOG_WARN, "%s accepted a batch but rejected %llu spans: %s", d->what,
			       (unsigned long long)rejected, why ? why : "");
		}
		if (!d->healthy)
			rs_log(RS_LOG_WARN, "%s works again", d->what);
		d->healthy = true;
		d->attempt = 0;
		rs_batchq_pop(&d->q);
		break;
	case RS_RETRY: {
		uint64_t wait = backoff(d->attempt++);
		if (retry_after_ms)
			wait = RS_MAX(wait, (uint64_t)RS_MIN(retry_after_ms, RETRY_AFTER_MAX_MS) * 1000000ull);
		d->not_before = now + wait;
		if (b->spans)
			RS_STAT_ADD(retries, 1);
		if (d->healthy)
			rs_log(RS_LOG_WARN, "%s failed (%s); retrying with backoff%s%.0u%s", d->what,
			       why ? why : "no answer", d->q.spans ? ", " : "", (unsigned)d->q.spans,
			       d->q.spans ? " spans waiting" : "");
		d->healthy = false;
		break;
	}
	case RS_REJECTED:
		RS_STAT_ADD(dropped_export_failed, b->spans);
		if (!b->spans && b->items) /* a profile: its samples, counted by the pusher */
			rs_log(RS_LOG_ERROR, "%s refused a batch for good (%s); %llu samples dropped",
			       d->what, why ? why : "", (unsigned long long)b->items);
		else
			rs_log(RS_LOG_ERROR, "%s refused a batch for good (%s); %u spans dropped",
			       d->what, why ? why : "", b->spans);
		d->attempt = 0;
		rs_batchq_pop(&d->q);
		break;
	}
	start(d, now);
}

bool rs_delivery_backpressure(const struct rs_delivery *d)
{
	return d->healthy && (d->q.spans >= d->q.max_spans || d->q.bytes >= d->q.max_bytes);
}
