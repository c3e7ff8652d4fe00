/* The ring's contract on one thread: FIFO order, full means drop-and-count (never overwrite),
 * positions survive wrap-around; and the registry recycles the rings of exited threads. */
#include "../../preload/ring.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static void test_fifo_and_full(void)
{
	enum { SLOTS = 8 };
	struct rs_ring *r = aligned_alloc(64, rs_ring_bytes(SLOTS));
	rs_ring_init(r, SLOTS);
	uint64_t pos;
	CHECK_EQ_U(rs_ring_ready(r, &pos), 0);
	for (unsigned i = 0; i < SLOTS; i++) {
		union rs_rec *rec = rs_ring_reserve(r);
		CHECK(rec != NULL);
		if (!rec)
			return;
		rec->span.type = RS_REC_SPAN;
		rec->span.tid = i;
		rs_ring_commit(r);
	}
	CHECK(rs_ring_reserve(r) == NULL); /* full: refused, not overwritten */
	CHECK(rs_ring_reserve(r) == NULL);
	CHECK_EQ_U(r->dropped, 2);
	CHECK_EQ_U(rs_ring_ready(r, &pos), SLOTS);
	for (unsigned i = 0; i < SLOTS; i++)
		CHECK_EQ_U(rs_ring_at(r, pos + i)->span.tid, i);
	rs_ring_release(r, pos + 3);
	/* Three free slots now; the oldest five are still there in order. */
	for (unsigned i = 0; i < 3; i++) {
		union rs_rec *rec = rs_ring_reserve(r);
		CHECK(rec != NULL);
		if (rec) {
			rec->span.tid = 100 + i;
			rs_ring_commit(r);
		}
	}
	CHECK(rs_ring_reserve(r) == NULL);
	CHECK_EQ_U(rs_ring_ready(r, &pos), SLOTS);
	CHECK_EQ_U(rs_ring_at(r, pos)->span.tid, 3);
	CHECK_EQ_U(rs_ring_at(r, pos + SLOTS - 1)->span.tid, 102);
	free(r);
}

static void test_wraparound_many(void)
{
	enum { SLOTS = 4 };
	struct rs_ring *r = aligned_alloc(64, rs_ring_bytes(SLOTS));
	rs_ring_init(r, SLOTS);
	uint32_t next_in = 0, next_out = 0;
	for (int round = 0; round < 10000; round++) {
		int burst = round % 6;
		for (int i = 0; i < burst; i++) {
			union rs_rec *rec = rs_ring_reserve(r);
			if (!rec)
				break;
			rec->span.tid = next_in++;
			rs_ring_commit(r);
		}
		uint64_t pos, n = rs_ring_ready(r, &pos);
		for (uint64_t k = 0; k < n; k++)
			CHECK_EQ_U(rs_ring_at(r, pos + k)->span.tid, next_out++);
		rs_ring_release(r, pos + n);
	}
	CHECK_EQ_U(next_in, next_out);
	free(r);
}

static void test_registry(void)
{
	int a = rs_ring_acquire(11, 16);
	int b = rs_ring_acquire(12, 16);
	CHECK(a >= 0 && b >= 0 && a != b);
	CHECK_EQ_U(rs_rings.slot[a].state, RS_SLOT_OWNED);
	struct rs_ring *ra = rs_rings.slot[a].ring;
	rs_ring_orphan(a);
	CHECK_EQ_U(rs_rings.slot[a].state, RS_SLOT_ORPHAN);
	/* An orphan is not handed out until the reporter has drained and recycled it. */
	int c = rs_ring_acquire(13, 16);
	CHECK(c != a);
	rs_ring_recycle(a);
	int d = rs_ring_acquire(14, 16);
	CHECK_EQ_U(d, a);
	CHECK(rs_rings.slot[d].ring == ra); /* memory reused, no new mapping */
	CHECK_EQ_U(rs_rings.slot[d].tid, 14);
	/* Fork: everything but the forking thread's ring becomes idle; that one is emptied. */
	union rs_rec *rec = rs_ring_reserve(rs_rings.slot[b].ring);
	CHECK(rec != NULL);
	rs_ring_commit(rs_rings.slot[b].ring);
	rs_ring_registry_after_fork(b);
	uint64_t pos;
	CHECK_EQ_U(rs_ring_ready(rs_rings.slot[b].ring, &pos), 0);
	CHECK_EQ_U(rs_rings.slot[b].state, RS_SLOT_OWNED);
	CHECK_EQ_U(rs_rings.slot[c].state, RS_SLOT_IDLE);
	CHECK_EQ_U(rs_rings.slot[d].state, RS_SLOT_IDLE);
}

int main(void)
{
	test_fifo_and_full();
	test_wraparound_many();
	test_registry();
	return check_result();
}
