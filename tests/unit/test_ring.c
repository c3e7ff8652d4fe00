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
		rec->hdr.type = RS_REC_SPAN;
		rec->hdr.tid = i;
		rs_ring_commit(r);
	}
	CHECK(rs_ring_reserve(r) == NULL); /* full: refused, not overwritten */
	CHECK(rs_ring_reserve(r) == NULL);
	CHECK_EQ_U(r->dropped, 2);
	CHECK_EQ_U(rs_ring_ready(r, &pos), SLOTS);
	for (unsigned i = 0; i < SLOTS; i++)
		CHECK_EQ_U(rs_ring_at(r, pos + i)->hdr.tid, i);
	rs_ring_release(r, pos + 3);
	/* Three free slots now; the oldest five are still there in order. */
	for (unsigned i = 0; i < 3; i++) {
		union rs_rec *rec = rs_ring_reserve(r);
		CHECK(rec != NULL);
		if (rec) {
			rec->hdr.tid = 100 + i;
			rs_ring_commit(r);
		}
	}
	CHECK(rs_ring_reserve(r) == NULL);
	CHECK_EQ_U(rs_ring_ready(r, &pos), SLOTS);
	CHECK_EQ_U(rs_ring_at(r, pos)->hdr.tid, 3);
	CHECK_EQ_U(rs_ring_at(r, pos + SLOTS - 1)->hdr.tid, 102);
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
			rec->hdr.tid = next_in++;
			rs_ring_commit(r);
		}
		uint64_t pos, n = rs_ring_ready(r, &pos);
		for (uint64_t k = 0; k < n; k++)
			CHECK_EQ_U(rs_ring_at(r, pos + k)->hdr.tid, next_out++);
		rs_ring_release(r, pos + n);
	}
	CHECK_EQ_U(next_in, next_out);
	free(r);
}

/* Multi-slot records: all or nothing, in order, intact across the ring's end. */
static void test_multi_slot(void)
{
	enum { SLOTS = 8 };
	struct rs_ring *r = aligned_alloc(64, rs_ring_bytes(SLOTS));
	rs_ring_init(r, SLOTS);
	static union rs_rec rec[RS_REC_MAX_SLOTS], buf[RS_REC_MAX_SLOTS];
	uint32_t seq = 0, want = 0;
	for (int round = 0; round < 3000; round++) {
		/* Push records of 1..4 slots until one does not fit. */
		for (;;) {
			size_t len = 40 + (size_t)((seq * 97) % (4 * RS_REC_SIZE - 40));
			memset(rec, (int)(seq & 0xff), len);
			rec[0].hdr.type = RS_REC_SPAN;
			rec[0].hdr.nslots = (uint8_t)((len + RS_REC_SIZE - 1) / RS_REC_SIZE);
			rec[0].hdr.len = (uint16_t)len;
			rec[0].hdr.tid = seq;
			uint64_t dropped = r->dropped;
			bool behind;
			if (!rs_ring_push(r, rec, len, &behind)) {
				CHECK_EQ_U(r->dropped, dropped + 1); /* one record, one drop */
				break;
			}
			seq++;
		}
		/* Drain some, maybe not all, so the next pushes wrap at different places. */
		uint64_t pos, n = rs_ring_ready(r, &pos), k = 0;
		CHECK(n <= SLOTS);
		while (k < n && (round % 3 || k == 0)) {
			const union rs_rec *x = rs_ring_at(r, pos + k);
			unsigned ns = x->hdr.nslots;
			CHECK(ns >= 1 && ns <= 4 && k + ns <= n);
			x = rs_ring_record(r, pos + k, ns, buf);
			CHECK_EQ_U(x->hdr.tid, want);
			const uint8_t *bytes = (const uint8_t *)x;
			for (size_t i = sizeof(struct rs_rec_hdr); i < x->hdr.len; i++)
				if (bytes[i] != (uint8_t)(want & 0xff)) {
					CHECK(!"record bytes intact");
					break;
				}
			want++;
			k += ns;
		}
		rs_ring_release(r, pos + k);
	}
	CHECK(want > 1000);
	free(r);
}

static void test_tlv(void)
{
	static union rs_rec rec[RS_REC_MAX_SLOTS];
	memset(rec, 0, sizeof(rec));
	rec[0].hdr.len = sizeof(union rs_rec);
	CHECK_EQ_U(rs_tlv_put(rec, 1, "GET", 3), 3);
	CHECK_EQ_U(rs_tlv_put(rec, 2, "", 0), 0);
	char big[RS_REC_MAX];
	memset(big, 'x', sizeof(big));
	size_t kept = rs_tlv_put(rec, 3, big, sizeof(big)); /* truncated to what fits */
	CHECK_EQ_U(rec[0].hdr.len, RS_REC_MAX);
	CHECK_EQ_U(kept, RS_REC_MAX - sizeof(union rs_rec) - 3 * RS_TLV_HDR - 3);
	CHECK_EQ_U(rs_tlv_put(rec, 4, "y", 1), 0); /* full */
	size_t off = sizeof(union rs_rec), len;
	uint8_t key;
	const char *data;
	CHECK(rs_tlv_next(rec, &off, &key, &data, &len) && key == 1 && len == 3 &&
	      memcmp(data, "GET", 3) == 0);
	CHECK(rs_tlv_next(rec, &off, &key, &data, &len) && key == 2 && len == 0);
	CHECK(rs_tlv_next(rec, &off, &key, &data, &len) && key == 3 && len == kept);
	CHECK(!rs_tlv_next(rec, &off, &key, &data, &len));
	/* A length pointing past the record ends the walk instead of reading beyond it. */
	rec[0].hdr.len = sizeof(union rs_rec) + 4;
	off = sizeof(union rs_rec);
	CHECK(!rs_tlv_next(rec, &off, &key, &data, &len));
}

/* A producer learns, once, that its ring is more than half full; again only after a drain. */
static void test_behind(void)
{
	enum { SLOTS = 1024 };
	struct rs_ring *r = aligned_alloc(64, rs_ring_bytes(SLOTS));
	rs_ring_init(r, SLOTS);
	int wakes = 0;
	for (int i = 0; i < SLOTS; i++) {
		if (!rs_ring_reserve(r))
			break;
		wakes += rs_ring_commit(r);
	}
	CHECK_EQ_U(wakes, 1); /* at 768, checked every 256 slots past half */
	uint64_t pos, n = rs_ring_ready(r, &pos);
	rs_ring_release(r, pos + n);
	atomic_store(&r->wake_sent, 0); /* what the reporter does after a drain */
	wakes = 0;
	for (int i = 0; i < 3 * SLOTS / 4; i++) {
		if (!rs_ring_reserve(r))
			break;
		wakes += rs_ring_commit(r);
	}
	CHECK_EQ_U(wakes, 1);
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
	test_multi_slot();
	test_behind();
	test_tlv();
	test_registry();
	return check_result();
}
