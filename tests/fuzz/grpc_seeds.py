#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_grpc (tests/fuzz/corpus/grpc/): server answers built frame by
frame from RFC 9113 and RFC 7541 (HPACK), in the target's input format (a control byte, then
[n][n bytes] reads). Run it again after changing the format."""
import gzip
import os
import random
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "grpc")
DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINDOW = 0, 1, 3, 4, 6, 7, 8
END_STREAM, END_HEADERS, ACK = 1, 4, 1


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def lit(name, value):  # literal header field without indexing, new name
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


STATUS_200 = b"\x88"  # static table index 8
CT = b"\x0f\x10" + bytes([16]) + b"application/grpc"  # content-type (index 31), literal value


def status(code):
    return b"\x08" + bytes([3]) + str(code).encode()  # :status (index 8), literal value


def msg(body, compressed=False):
    return bytes([1 if compressed else 0]) + struct.pack(">I", len(body)) + body


def answer(stream, body=b"", code=b"0", message=b"", enc=None):
    head = STATUS_200 + CT + (lit(b"grpc-encoding", enc) if enc else b"")
    trailers = lit(b"grpc-status", code) + (lit(b"grpc-message", message) if message else b"")
    return (frame(HEADERS, END_HEADERS, stream, head) + frame(DATA, 0, stream, body) +
            frame(HEADERS, END_HEADERS | END_STREAM, stream, trailers))


def reads(ctl, data, size=200):
    out = bytes([ctl])
    for i in range(0, len(data), size):
        chunk = data[i:i + size]
        out += bytes([len(chunk)]) + chunk
    return out


PREFACE = frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 100)) + frame(SETTINGS, ACK, 0)
seeds = {
    "ok": reads(0, PREFACE + answer(1, msg(b"\x0a\x00"), message=b"fine%20thanks")),
    "two_calls": reads(1, PREFACE + answer(3, msg(b"")) +
                       frame(HEADERS, END_HEADERS | END_STREAM, 1,
                             STATUS_200 + CT + lit(b"grpc-status", b"14") + lit(b"grpc-message", b"busy"))),
    "gzip_reply": reads(0, PREFACE + answer(1, msg(gzip.compress(b"\x0a\x02\x08\x01"), True), enc=b"gzip")),
    "http_503": reads(0, PREFACE + frame(HEADERS, END_HEADERS | END_STREAM, 1, status(503))),
    "rst_refused": reads(2, PREFACE + frame(RST, 0, 1, struct.pack(">I", 7)) + answer(3) + answer(5)),
    "goaway": reads(1, PREFACE + frame(GOAWAY, 0, 0, struct.pack(">II", 1, 0)) + answer(1)),
    "huge_prefix": reads(0, PREFACE + frame(HEADERS, END_HEADERS, 1, STATUS_200 + CT) +
                         frame(DATA, 0, 1, b"\x00\x7f\xff\xff\xff" + b"x" * 100)),
    "ping_window_timeout": bytes([0x61]) + bytes([0]) + reads(0, PREFACE + frame(PING, 0, 0, b"12345678") +
                                                        frame(WINDOW, 0, 0, struct.pack(">I", 1000)) +
                                                        answer(1))[1:],
    "garbage": reads(3, bytes(random.Random(7).randrange(256) for _ in range(300))),
}
os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
