/* A direct protobuf writer into an rs_buf: tags, varints, fixed-width and length-delimited fields,
 * and nested messages whose length is patched in after their body is written (one pass, each byte
 * written once, canonical minimal-length varints). For hot encoders where protobuf-c's generic
 * packer, which re-measures every submessage at every level, costs too much. */
#ifndef RS_PROTO_PB_WRITER_H
#define RS_PROTO_PB_WRITER_H

#include "buf.h"

enum { RS_PB_VARINT = 0, RS_PB_I64 = 1, RS_PB_LEN = 2, RS_PB_I32 = 5 };

static inline size_t rs_pb_varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Writes v at p (room for 10 bytes); returns the bytes written. */
static inline size_t rs_pb_varint_at(char *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (char)v;
	return n;
}

static inline void rs_pb_varint(struct rs_buf *b, uint64_t v)
{
	if (rs_unlikely(b->len + 10 > b->cap) && !rs_buf_reserve(b, 10))
		return;
	b->len += rs_pb_varint_at(b->p + b->len, v);
}

static inline void rs_pb_tag(struct rs_buf *b, unsigned field, unsigned wire)
{
	rs_pb_varint(b, (uint64_t)field << 3 | wire);
}

/* A VARINT field (int32/int64 sign-extended, uint32/uint64, bool, enum). */
static inline void rs_pb_uint(struct rs_buf *b, unsigned field, uint64_t v)
{
	rs_pb_tag(b, field, RS_PB_VARINT);
	rs_pb_varint(b, v);
}

static inline void rs_pb_fixed64(struct rs_buf *b, unsigned field, uint64_t v)
{
	rs_pb_tag(b, field, RS_PB_I64);
	uint8_t le[8];
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	rs_buf_put(b, le, 8);
}

static inline void rs_pb_fixed32(struct rs_buf *b, unsigned field, uint32_t v)
{
	rs_pb_tag(b, field, RS_PB_I32);
	uint8_t le[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	rs_buf_put(b, le, 4);
}

/* A string or bytes field, written even when empty (a oneof member; proto3 singular fields that
 * are empty are left out by the caller, as protobuf's own encoders do). */
static inline void rs_pb_bytes(struct rs_buf *b, unsigned field, const void *s, size_t n)
{
	rs_pb_tag(b, field, RS_PB_LEN);
	rs_pb_varint(b, n);
	rs_buf_put(b, s, n);
}

/* A nested message: rs_pb_open writes the tag and room for a length of `guess` bytes (the usual
 * size of that message's length: 1 for < 128 bytes, 2 for < 16 KiB, 3 for < 2 MiB); rs_pb_close
 * writes the real length there, moving the body when its varint needs another width. */
static inline size_t rs_pb_open(struct rs_buf *b, unsigned field, size_t guess)
{
	rs_pb_tag(b, field, RS_PB_LEN);
	if (rs_unlikely(b->len + guess > b->cap) && !rs_buf_reserve(b, guess))
		return 0;
	b->len += guess;
	return b->len;
}

/* The body's length needs a varint of another width than guessed: move the body. */
static __attribute__((cold, noinline, unused)) void rs_pb_close_slow(struct rs_buf *b, size_t body,
								   size_t guess, size_t need)
{
	size_t len = b->len - body;
	if (need > guess && !rs_buf_reserve(b, need - guess))
		return;
	char *start = b->p + body - guess;
	memmove(start + need, b->p + body, len);
	rs_pb_varint_at(start, len);
	b->len = body - guess + need + len;
}

static inline void rs_pb_close(struct rs_buf *b, size_t body, size_t guess)
{
	if (rs_unlikely(b->failed))
		return;
	size_t len = b->len - body, need = rs_pb_varint_size(len);
	if (rs_unlikely(need != guess)) {
		rs_pb_close_slow(b, body, guess, need);
		return;
	}
	char *p = b->p + body - guess;
	for (size_t i = 0; i + 1 < guess; i++, len >>= 7)
		p[i] = (char)(len | 0x80);
	p[guess - 1] = (char)len;
}

#endif
