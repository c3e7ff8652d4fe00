/* SkyWalking v3's reading of ringside's HTTP spans, and its two encodings: protobuf (the
 * SegmentObject of Tracing.proto, through protoc-c) and the proto3 JSON the OAP's HTTP receivers
 * parse. A segment here is what io/sw_segments.c assembled: the spans of one (trace, thread of
 * work) that the hooks numbered (hooks/http.c), so the ids agree with the sw8 headers they sent. */
#ifndef RS_PROTO_SW_SEGMENT_H
#define RS_PROTO_SW_SEGMENT_H

#include "../preload/propagation.h"
#include "../preload/record.h"
#include "arena.h"
#include "buf.h"

/* SkyWalking's enums (Tracing.proto). */
enum { RS_SW_ENTRY = 0, RS_SW_EXIT = 1, RS_SW_LOCAL = 2 };
enum { RS_SW_CROSS_PROCESS = 0, RS_SW_CROSS_THREAD = 1 };
#define RS_SW_LAYER_HTTP 3
/* component-libraries.yml: 49 is the generic "http" (priority 45). There is no C entry, and the
 * C++ range belongs to cpp2sky and Envoy; a generic id names what is spoken, not a library. */
#define RS_SW_COMPONENT_HTTP 49

#define RS_SW_ID_MAX 48 /* a segment id: 16 hex digits, or "<hex>.<part>" */

/* A span in another segment of this process (the parent of a CrossThread ref). */
struct rs_sw_parent {
	char segment[RS_SW_ID_MAX];
	int32_t index;
	char endpoint[160];
};

/* Finds the segment and index of the span with OpenTelemetry id span_id, if it is known. */
typedef bool (*rs_sw_parent_fn)(void *ctx, const uint8_t span_id[8], struct rs_sw_parent *out);

struct rs_sw_seg {
	const char *trace_id; /* text */
	const char *id;	      /* traceSegmentId */
	const char *base_id;  /* the id of the segment's first part (see part) */
	const char *service, *instance;
	const struct rs_rec_span *const *spans;
	size_t n;
	bool size_limited;
	/* > 0: a later part of a segment already sent (spans that came after it was sealed); its
	 * roots point at the first part by a CrossThread ref. */
	unsigned part;
	rs_sw_parent_fn parent;
	void *ctx;
};

struct rs_sw_ref {
	int type;
	char trace_id[129];
	char segment[129];
	int32_t span;
	char service[129], instance[129], endpoint[257], address[129];
};

#define RS_SW_TAGS 3

/* One span as SkyWalking sees it. */
struct rs_sw_span {
	int32_t id, parent;
	int64_t start_ms, end_ms;
	int type, layer, component;
	bool error;
	char op[160];
	char peer[64]; /* "ip:port" on exits: the address sw8 names as the one used at the peer */
	struct {
		const char *key;
		char value[1024];
	} tag[RS_SW_TAGS];
	unsigned ntags;
	bool has_ref;
	struct rs_sw_ref ref;
};

/* The sw8 value an entry span was served with, when it parses and belongs to the span's trace. */
bool rs_sw_entry_sw8(const struct rs_rec_span *s, struct rs_sw8 *out);

/* Reads span i of seg. */
void rs_sw_span_read(const struct rs_sw_seg *seg, size_t i, struct rs_sw_span *out);

/* Appends one SegmentObject as JSON (an object: the caller writes the array around it). */
void rs_sw_json_segment(struct rs_buf *out, const struct rs_sw_seg *seg);

/* Appends one SegmentObject as protobuf (unframed). The arena holds the messages while packing;
 * the caller resets it. False when memory ran out. */
bool rs_sw_pb_segment(struct rs_buf *out, const struct rs_sw_seg *seg, struct rs_arena *a);

/* ManagementService messages. props: n key/value pairs (InstanceProperties only). */
struct rs_sw_kv {
	const char *key, *value;
};
void rs_sw_json_properties(struct rs_buf *out, const char *service, const char *instance,
			   const struct rs_sw_kv *props, size_t n);
void rs_sw_json_ping(struct rs_buf *out, const char *service, const char *instance);
bool rs_sw_pb_properties(struct rs_buf *out, const char *service, const char *instance,
			 const struct rs_sw_kv *props, size_t n);
bool rs_sw_pb_ping(struct rs_buf *out, const char *service, const char *instance);

#endif
