/* The embedded default exporter: OTLP/JSON lines, one file per process in RINGSIDE_OUTPUT_DIR,
 * created 0600 with O_EXCL|O_NOFOLLOW and written through the loop (io_uring: the file is a direct
 * descriptor and never appears in the program's fd table). One write is in flight at a time, so
 * lines land whole and in order. */
#include "../preload/config.h"
#include "../preload/log.h"
#include "../preload/process.h"
#include "../preload/sys.h"
#include "../proto/otlp_json.h"
#include "batch.h"
#include "exporter.h"
#include "outdir.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct {
	struct rs_loop *loop;
	int handle;
	uint64_t off;
	struct rs_batchq q;
	struct rs_batch *open;
	struct rs_buf resource_json;
	bool broken_line; /* a write failed part-way: start the next line on a new line */
	size_t last_len;  /* bytes of the last sealed batch */
	int failing;	  /* errno of the last failed write, 0 after a success: said once */
	char path[RS_CFG_PATH_MAX + 128];
} F;

static int file_start(struct rs_loop *loop, const struct rs_resource *res)
{
	F.loop = loop;
	rs_batchq_init(&F.q, (size_t)rs_cfg.queue_mb << 20, rs_cfg.bsp_max_queue);
	rs_otlp_json_resource(&F.resource_json, res);
	if (rs_buf_failed(&F.resource_json))
		return -ENOMEM;
	int h = rs_outdir_create(loop, res, "traces.jsonl", "spans", F.path, sizeof(F.path));
	if (h < 0)
		return h;
	F.handle = h;
	rs_log(RS_LOG_INFO, "writing spans to %s", F.path);
	return 0;
}

static void write_done(struct rs_loop_op *op, int res);

static void kick(void)
{
	struct rs_batch *b = F.q.head;
	if (!b || b->inflight)
		return;
	b->inflight = true;
	b->op.cb = write_done;
	int e = rs_loop_write(F.loop, F.handle, b->data.p + b->done, b->data.len - b->done, F.off,
			      &b->op);
	if (e < 0) {
		b->inflight = false;
		write_done(&b->op, e);
	}
}

static void write_done(struct rs_loop_op *op, int res)
{
	struct rs_batch *b = (struct rs_batch *)op;
	b->inflight = false;
	if (res == 0)
		res = -EIO; /* a regular file that accepts nothing will not start again */
	if (res < 0) {
		/* A full disk fails every batch: one line, not one per batch for as long as it
		 * lasts; the exit summary counts them all. */
		if (-res != F.failing)
			rs_log(RS_LOG_ERROR, "writing %s failed: %s; %u spans dropped (and those of "
					     "later writes failing alike, counted at exit)",
			       F.path, strerror(-res), b->spans);
		F.failing = -res;
		if (b->done)
			F.broken_line = true;
		RS_STAT_ADD(dropped_export_failed, b->spans);
		rs_batchq_pop(&F.q);
	} else {
		b->done += (size_t)res;
		F.off += (uint64_t)res;
		F.failing = 0;
		if (b->done == b->data.len) {
			RS_STAT_ADD(spans_exported, b->spans);
			RS_STAT_ADD(batches, 1);
			RS_STAT_ADD(bytes_written, b->data.len);
			rs_batchq_pop(&F.q);
		}
	}
	kick();
}

static void file_add(const union rs_rec *rec)
{
	if (rec->hdr.type != RS_REC_SPAN)
		return;
	if (!F.open) {
		F.open = rs_batch_new();
		if (!F.open) {
			RS_STAT_ADD(dropped_encode, 1);
			return;
		}
		/* As large as the last batch was: growing it by doubling copied every byte about
		 * once more (a tenth of the encoding's cost). */
		rs_buf_reserve(&F.open->data, F.last_len + F.last_len / 8);
		if (F.broken_line) {
			rs_buf_putc(&F.open->data, '\n');
			F.broken_line = false;
		}
		rs_otlp_json_begin(&F.open->data, F.resource_json.p, F.resource_json.len);
	}
	rs_otlp_json_span(&F.open->data, &rec->span, F.open->spans == 0);
	F.open->spans++;
	if (rs_buf_failed(&F.open->data)) {
		RS_STAT_ADD(dropped_encode, F.open->spans);
		rs_batch_free(F.open);
		F.open = NULL;
	}
}

static size_t file_open_spans(void)
{
	return F.open ? F.open->spans : 0;
}

static void file_seal(void)
{
	struct rs_batch *b = F.open;
	if (!b)
		return;
	F.open = NULL;
	rs_otlp_json_end(&b->data);
	F.last_len = b->data.len;
	if (rs_buf_failed(&b->data)) {
		RS_STAT_ADD(dropped_encode, b->spans);
		rs_batch_free(b);
		return;
	}
	rs_batchq_push(&F.q, b);
	kick();
}

static bool file_idle(void)
{
	return !F.open && rs_batchq_empty(&F.q);
}

static size_t file_pending_spans(void)
{
	return file_open_spans() + F.q.spans;
}

static void file_forget(void)
{
	memset(&F, 0, sizeof(F));
}

const struct rs_exporter rs_file_exporter = {
	.name = "file",
	.start = file_start,
	.add = file_add,
	.open_spans = file_open_spans,
	.seal = file_seal,
	.idle = file_idle,
	.pending_spans = file_pending_spans,
	.forget = file_forget,
};
