/* The records application threads hand to the reporter through their rings. A record is plain
 * data, no pointers, so the reporter can read it after its producer has gone. It fills 1 to
 * RS_REC_MAX_SLOTS consecutive 256-byte slots: the first holds the header and the fixed part, the
 * rest a variable-length tail (strings as TLVs, see below). */
#ifndef RS_RECORD_H
#define RS_RECORD_H

#include "rs.h"

#define RS_REC_SIZE 256
#define RS_REC_MAX_SLOTS 8
#define RS_REC_MAX (RS_REC_MAX_SLOTS * RS_REC_SIZE)

enum rs_rec_type {
	RS_REC_SPAN = 1,
	/* 2..15 are kept for the profiler: */
	RS_REC_SAMPLE = 2, /* a CPU or wait sample with its stack (struct rs_rec_sample) */
	RS_REC_THREAD = 3, /* a profiled thread's name (struct rs_rec_thread) */
};

/* First in every record. */
struct rs_rec_hdr {
	uint8_t type;
	uint8_t nslots; /* slots the record fills, 1..RS_REC_MAX_SLOTS */
	uint16_t len;	/* bytes used, header included */
	uint32_t tid;	/* kernel id of the producing thread */
};

/* OTLP's SpanKind and StatusCode values, so encoders can copy them through. */
enum rs_span_kind { RS_KIND_INTERNAL = 1, RS_KIND_SERVER = 2, RS_KIND_CLIENT = 3 };
enum rs_span_status { RS_STATUS_UNSET = 0, RS_STATUS_OK = 1, RS_STATUS_ERROR = 2 };

/* What a span describes; each has its own part of the union below. */
enum rs_span_what {
	RS_SPAN_TCP = 1, /* one TCP connection, connect/accept to close */
};

enum rs_span_flags {
	RS_SPAN_ENDED_BY_EXIT = 1 << 0, /* still open when the process exited */
	RS_SPAN_INHERITED = 1 << 1,	/* opened by the parent before fork */
	RS_SPAN_FD_REUSED = 1 << 2,	/* closed behind the shim's back (raw syscall) */
};

struct rs_addr {
	uint8_t family; /* AF_INET, AF_INET6, or 0 when unknown */
	uint8_t pad;
	uint16_t port; /* host byte order */
	uint8_t addr[16];
};

struct rs_tcp_info {
	struct rs_addr peer;
	uint16_t local_port; /* 0 when unknown */
	uint8_t shutdown_how; /* SHUT_* + 1 of the first shutdown(), 0 if none */
	uint8_t pad[5];
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t shutdown_ns; /* epoch ns of the first shutdown() */
};

struct rs_rec_span {
	struct rs_rec_hdr h; /* type RS_REC_SPAN */
	uint8_t kind;
	uint8_t status;
	uint16_t what;
	uint16_t flags;
	uint8_t trace_flags; /* W3C trace-flags */
	uint8_t pad;
	int32_t err; /* errno of a failed operation (e.g. connect), 0 if none */
	uint32_t pad2;
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8]; /* all zero for a root span */
	uint64_t start_ns;    /* epoch nanoseconds */
	uint64_t end_ns;
	union {
		struct rs_tcp_info tcp;
		uint8_t raw[RS_REC_SIZE - 72];
	} u;
	/* A span of more than one slot continues here with its TLVs. */
};

/* What a sample measured. */
enum rs_sample_kind {
	RS_SAMPLE_CPU = 1,   /* the thread's CPU-time timer fired */
	RS_SAMPLE_MUTEX,     /* a contended pthread_mutex_lock */
	RS_SAMPLE_COND,	     /* pthread_cond_wait / pthread_cond_timedwait */
	RS_SAMPLE_CONNECT,   /* a blocking connect */
	RS_SAMPLE_ACCEPT,    /* accept / accept4 */
	RS_SAMPLE_READ,	     /* a read from a socket */
};

enum rs_sample_flags {
	RS_SAMPLE_HAS_SPAN = 1 << 0,  /* trace_id/span_id hold the span the thread served */
	RS_SAMPLE_TRUNCATED = 1 << 1, /* the stack was deeper than RS_SAMPLE_MAX_FRAMES */
};

#define RS_SAMPLE_FIXED 56
#define RS_SAMPLE_MAX_FRAMES ((RS_REC_MAX - RS_SAMPLE_FIXED) / 8)

/* A stack sample: the fixed part, then nframes return addresses, the leaf first. */
struct rs_rec_sample {
	struct rs_rec_hdr h; /* type RS_REC_SAMPLE; h.tid is the sampled thread */
	uint8_t kind;	     /* enum rs_sample_kind */
	uint8_t flags;	     /* enum rs_sample_flags */
	uint16_t nframes;
	uint32_t pad;
	uint64_t time_ns;  /* epoch nanoseconds */
	uint64_t value_ns; /* CPU time the sample stands for, or time waited */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint64_t frames[]; /* up to RS_SAMPLE_MAX_FRAMES */
};

#define RS_THREAD_NAME_MAX 16 /* as the kernel keeps it, NUL included */

/* A profiled thread's name, emitted when its profiling starts. */
struct rs_rec_thread {
	struct rs_rec_hdr h; /* type RS_REC_THREAD */
	char name[RS_THREAD_NAME_MAX];
};

union rs_rec {
	struct rs_rec_hdr hdr;
	struct rs_rec_span span;
	struct rs_rec_sample sample;
	struct rs_rec_thread thread;
	uint8_t raw[RS_REC_SIZE];
};

/* The variable-length tail of a record: TLVs, each a 1-byte key, a 2-byte length (little end
 * first) and the bytes, packed from the end of the fixed part up to hdr.len. Keys are per record
 * type. */
#define RS_TLV_HDR 3

/* Appends a TLV to the record being built in rec (RS_REC_MAX bytes), truncating data to what fits;
 * hdr.len is the write position. Returns the bytes of data kept. */
static inline size_t rs_tlv_put(union rs_rec *rec, uint8_t key, const void *data, size_t len)
{
	uint8_t *base = (uint8_t *)rec;
	size_t off = rec->hdr.len;
	if (off + RS_TLV_HDR > RS_REC_MAX)
		return 0;
	if (len > RS_REC_MAX - off - RS_TLV_HDR)
		len = RS_REC_MAX - off - RS_TLV_HDR;
	base[off] = key;
	base[off + 1] = (uint8_t)(len & 0xff);
	base[off + 2] = (uint8_t)(len >> 8);
	__builtin_memcpy(base + off + RS_TLV_HDR, data, len);
	rec->hdr.len = (uint16_t)(off + RS_TLV_HDR + len);
	return len;
}

/* Iterates the TLVs of a record whose fixed part is fixed_len bytes: start with *off = fixed_len;
 * each call yields the next key, data and length, false at the end or at a malformed entry. */
static inline bool rs_tlv_next(const union rs_rec *rec, size_t *off, uint8_t *key,
			       const char **data, size_t *len)
{
	const uint8_t *base = (const uint8_t *)rec;
	size_t end = rec->hdr.len <= RS_REC_MAX ? rec->hdr.len : RS_REC_MAX;
	if (*off + RS_TLV_HDR > end)
		return false;
	size_t l = (size_t)base[*off + 1] | ((size_t)base[*off + 2] << 8);
	if (*off + RS_TLV_HDR + l > end)
		return false;
	*key = base[*off];
	*data = (const char *)base + *off + RS_TLV_HDR;
	*len = l;
	*off += RS_TLV_HDR + l;
	return true;
}

_Static_assert(sizeof(struct rs_rec_span) == RS_REC_SIZE, "span record fills one slot");
_Static_assert(sizeof(struct rs_rec_sample) == RS_SAMPLE_FIXED, "sample fixed part");
_Static_assert(sizeof(union rs_rec) == RS_REC_SIZE, "records are fixed size");

#endif
