/* What an exporter provides to the reporter. The reporter feeds records one at a time; the exporter
 * encodes them into its open batch, and seals the batch (hands it to its transport) when asked:
 * when the batch is full, when OTEL_BSP_SCHEDULE_DELAY has passed, and on flush. All calls come
 * from the reporter thread. */
#ifndef RS_IO_EXPORTER_H
#define RS_IO_EXPORTER_H

#include "../preload/record.h"
#include "../proto/resource.h"
#include "loop.h"

struct rs_exporter {
	const char *name;
	/* Opens files or connections. 0, or -errno after saying why on stderr. */
	int (*start)(struct rs_loop *loop, const struct rs_resource *res);
	/* Adds one span record to the open batch. */
	void (*add)(const union rs_rec *rec);
	/* Spans in the open batch. */
	size_t (*open_spans)(void);
	/* Seals the open batch and starts delivering it. */
	void (*seal)(void);
	/* Optional: each pass of the reporter's loop (retries fall due); nanoseconds until it next
	 * needs a pass, or UINT64_MAX. */
	uint64_t (*tick)(uint64_t now_ns);
	/* Optional: the flush at exit begins (what is open is sealed next; idle() then decides
	 * when everything has gone). */
	void (*exit_flush)(void);
	/* Nothing open, queued or in flight. */
	bool (*idle)(void);
	/* Spans accepted but not yet delivered (for the loss count when exit cuts a flush short). */
	size_t (*pending_spans)(void);
	/* In a fork child: drop the parent's state without freeing it. */
	void (*forget)(void);
};

extern const struct rs_exporter rs_file_exporter;
extern const struct rs_exporter rs_otlp_exporter;
extern const struct rs_exporter rs_sw_exporter;
extern const struct rs_exporter rs_kafka_exporter; /* OTLP over Kafka, in otlp_exporter.c */

#endif
