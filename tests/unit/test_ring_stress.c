/* Many producers, one consumer, as in the shim: each producer thread owns a ring and pushes
 * numbered records of one to three slots as fast as it can; the consumer drains them all. Every record is either
 * received exactly once in order or counted as dropped, never both, never lost. Built under
 * ThreadSanitizer as well (scripts/test), which checks the barriers. */
#include "../../preload/ring.h"
#include "check.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

enum { PRODUCERS = 6, PER_PRODUCER = 200000, SLOTS = 256 };

struct producer {
	pthread_t thread;
	int slot;
	_Atomic bool done;
};

static struct producer prod[PRODUCERS];

static void *produce(void *arg)
{
	struct producer *p = arg;
	struct rs_ring *r = rs_rings.slot[p->slot].ring;
	static _Thread_local union rs_rec big[3];
	for (uint32_t i = 0; i < PER_PRODUCER; i++) {
		if (i % 3) { /* in place, one slot */
			union rs_rec *rec = rs_ring_reserve(r);
			if (!rec) {
				if (i % 64 == 0)
					sched_yield();
				continue; /* dropped and counted by the ring */
			}
			rec->hdr.type = RS_REC_SPAN;
			rec->hdr.nslots = 1;
			rec->hdr.len = RS_REC_SIZE;
			rec->hdr.tid = (uint32_t)p->slot;
			rec->span.start_ns = i;
			rec->span.end_ns = ~(uint64_t)i; /* a torn record would not match */
			rs_ring_commit(r);
		} else { /* copied, two or three slots, the last byte marked */
			size_t len = RS_REC_SIZE + 1 + (i % 2) * RS_REC_SIZE;
			big[0].hdr.type = RS_REC_SPAN;
			big[0].hdr.nslots = (uint8_t)((len + RS_REC_SIZE - 1) / RS_REC_SIZE);
			big[0].hdr.len = (uint16_t)len;
			big[0].hdr.tid = (uint32_t)p->slot;
			big[0].span.start_ns = i;
			big[0].span.end_ns = ~(uint64_t)i;
			((uint8_t *)big)[len - 1] = (uint8_t)i;
			bool behind;
			if (!rs_ring_push(r, big, len, &behind) && i % 64 == 0)
				sched_yield();
		}
	}
	atomic_store(&p->done, true);
	return NULL;
}

int main(void)
{
	for (int i = 0; i < PRODUCERS; i++) {
		prod[i].slot = rs_ring_acquire((uint32_t)i + 1, SLOTS);
		CHECK(prod[i].slot >= 0);
		if (prod[i].slot < 0)
			return check_result();
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_create(&prod[i].thread, NULL, produce, &prod[i]);

	uint64_t received[PRODUCERS] = {0};
	int64_t last[PRODUCERS];
	for (int i = 0; i < PRODUCERS; i++)
		last[i] = -1;
	bool all_done = false;
	while (!all_done) {
		all_done = true;
		for (int i = 0; i < PRODUCERS; i++)
			all_done = all_done && atomic_load(&prod[i].done);
		for (int i = 0; i < PRODUCERS; i++) {
			struct rs_ring *r = rs_rings.slot[prod[i].slot].ring;
			static union rs_rec buf[RS_REC_MAX_SLOTS];
			uint64_t pos, n = rs_ring_ready(r, &pos), k = 0;
			while (k < n) {
				unsigned ns = rs_ring_at(r, pos + k)->hdr.nslots;
				CHECK(ns >= 1 && ns <= 3 && k + ns <= n);
				if (ns < 1 || ns > 3 || k + ns > n)
					return check_result();
				const union rs_rec *x = rs_ring_record(r, pos + k, ns, buf);
				const struct rs_rec_span *s = &x->span;
				CHECK_EQ_U(x->hdr.tid, prod[i].slot);
				CHECK_EQ_U(s->end_ns, ~s->start_ns);
				if (ns > 1)
					CHECK_EQ_U(((const uint8_t *)x)[x->hdr.len - 1],
						   (uint8_t)s->start_ns);
				CHECK((int64_t)s->start_ns > last[i]); /* in order, no duplicates */
				last[i] = (int64_t)s->start_ns;
				received[i]++;
				k += ns;
			}
			rs_ring_release(r, pos + n);
		}
	}
	uint64_t total_dropped = 0;
	for (int i = 0; i < PRODUCERS; i++) {
		pthread_join(prod[i].thread, NULL);
		struct rs_ring *r = rs_rings.slot[prod[i].slot].ring;
		uint64_t pos;
		CHECK_EQ_U(rs_ring_ready(r, &pos), 0);
		uint64_t dropped = atomic_load(&r->dropped);
		CHECK_EQ_U(received[i] + dropped, PER_PRODUCER);
		total_dropped += dropped;
	}
	printf("received %llu, dropped %llu of %d\n",
	       (unsigned long long)(PRODUCERS * (uint64_t)PER_PRODUCER - total_dropped),
	       (unsigned long long)total_dropped, PRODUCERS * PER_PRODUCER);
	return check_result();
}
