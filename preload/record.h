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
	RS_REC_SNAPSHOT = 4, /* a stack asked for by the reporter (struct rs_rec_sample; see
			      * preload/snapshot.h): SkyWalking's profile tasks */
	RS_REC_SPAN_BEGIN = 16, /* an HTTP span's request part (struct rs_rec_span + TLVs) */
	RS_REC_SPAN_END = 17,	/* its end, matched by span id (struct rs_rec_end) */
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
	RS_SPAN_TCP = 1,  /* one TCP connection, connect/accept to close */
	RS_SPAN_HTTP = 2, /* one HTTP/1.x request and its response */
};

enum rs_span_flags {
	RS_SPAN_ENDED_BY_EXIT = 1 << 0, /* still open when the process exited */
	RS_SPAN_INHERITED = 1 << 1,	/* opened by the parent before fork */
	RS_SPAN_FD_REUSED = 1 << 2,	/* closed behind the shim's back (raw syscall) */
	RS_SPAN_PARENT_REMOTE = 1 << 3, /* the parent came from another process */
	RS_SPAN_UNFINISHED = 1 << 4,	/* the end never came (process exit, table full) */
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

/* How an HTTP span ended. */
enum rs_http_end {
	RS_HTTP_END_OPEN = 0,
	RS_HTTP_END_LENGTH,  /* Content-Length, chunked terminator, or no body */
	RS_HTTP_END_CLOSE,   /* a body delimited by the close of the connection */
	RS_HTTP_END_UPGRADE, /* 101 Switching Protocols, or a CONNECT tunnel */
	RS_HTTP_END_ABORTED, /* the connection closed before the response ended */
	RS_HTTP_END_EXIT,    /* the process exited first */
	RS_HTTP_END_PARSE,   /* the bytes stopped being HTTP */
};

/* What was propagated: extracted from the request (server) or injected into it (client). */
enum rs_prop_flags {
	RS_PROP_TRACECONTEXT = 1 << 0,
	RS_PROP_SW8 = 1 << 1,
};

struct rs_http_info {
	uint64_t req_body;   /* request body bytes */
	uint64_t resp_body;  /* response body bytes */
	uint64_t resp_start_ns; /* the response's first byte */
	uint8_t seg_id[8];   /* SkyWalking segment of the span (see hooks/http.c) */
	int32_t seg_index;
	int32_t seg_parent_index; /* -1: the first span of its segment */
	struct rs_addr peer;
	uint16_t local_port;
	uint16_t status; /* response status code, 0 when none came */
	uint8_t method;	 /* enum rs_http_method */
	uint8_t version; /* HTTP/1.<version> */
	uint8_t end;	 /* enum rs_http_end */
	uint8_t prop;	 /* enum rs_prop_flags */
};

enum rs_http_method {
	RS_M_OTHER = 0,
	RS_M_GET,
	RS_M_HEAD,
	RS_M_POST,
	RS_M_PUT,
	RS_M_DELETE,
	RS_M_CONNECT,
	RS_M_OPTIONS,
	RS_M_TRACE,
	RS_M_PATCH,
	RS_M_QUERY,
};

/* TLV keys of an HTTP span. */
enum rs_http_tlv {
	RS_T_METHOD = 1, /* as sent (http.request.method_original when not in the enum) */
	RS_T_TARGET,	 /* request target as sent, cut to a bound */
	RS_T_HOST,
	RS_T_USER_AGENT,
	RS_T_TRACESTATE,
	RS_T_SW8,	 /* inbound sw8 value, for SkyWalking's segment references */
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
		struct rs_http_info http;
		uint8_t raw[RS_REC_SIZE - 72];
	} u;
	/* A span of more than one slot continues here with its TLVs. */
};

/* The end of an HTTP span, emitted when its response is complete (or cannot be). */
struct rs_rec_end {
	struct rs_rec_hdr h; /* type RS_REC_SPAN_END */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint64_t end_ns;
	uint64_t resp_start_ns;
	uint64_t req_body;
	uint64_t resp_body;
	uint16_t status;
	uint8_t end; /* enum rs_http_end */
	uint8_t pad[5];
};

/* An HTTP span's TLVs start right after its fixed fields, so a plain request fits one slot. */
#define RS_HTTP_TLV_START 144
_Static_assert(RS_HTTP_TLV_START >= offsetof(struct rs_rec_span, u) + sizeof(struct rs_http_info),
	       "HTTP TLVs follow the HTTP fields");

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
	uint32_t tag; /* RS_REC_SNAPSHOT: the request's tag; 0 otherwise */
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
	struct rs_rec_end end;
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
/* GCC's object-size tracking, stricter under the sanitizers, takes rec for its first member and
 * warns about writes that are within the RS_REC_MAX bytes every caller provides. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
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
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

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
