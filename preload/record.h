/* The fixed-size records application threads hand to the reporter through their rings. A record is
 * plain data: no pointers, so the reporter can read it after its producer has gone. */
#ifndef RS_RECORD_H
#define RS_RECORD_H

#include "rs.h"

#define RS_REC_SIZE 256

enum rs_rec_type {
	RS_REC_SPAN = 1,
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
	uint16_t type; /* RS_REC_SPAN */
	uint8_t kind;
	uint8_t status;
	uint16_t what;
	uint16_t flags;
	uint32_t tid;
	int32_t err; /* errno of a failed operation (e.g. connect), 0 if none */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8]; /* all zero for a root span */
	uint64_t start_ns;    /* epoch nanoseconds */
	uint64_t end_ns;
	union {
		struct rs_tcp_info tcp;
		uint8_t raw[RS_REC_SIZE - 64];
	} u;
};

union rs_rec {
	struct {
		uint16_t type;
	} hdr;
	struct rs_rec_span span;
	uint8_t raw[RS_REC_SIZE];
};

_Static_assert(sizeof(struct rs_rec_span) == RS_REC_SIZE, "span record fills one slot");
_Static_assert(sizeof(union rs_rec) == RS_REC_SIZE, "records are fixed size");

#endif
