"""Bounded walking of protobuf bytes, shared by the scripts that read what the shim wrote without
generated code (scripts/report_pprof.py for pprof profiles, scripts/soak_sink.py for OTLP span
ids): every length is checked against what is left, and bad input raises ValueError."""


def varint(b, i, end):
    shift = 0
    v = 0
    while True:
        if i >= end or shift > 63:
            raise ValueError("truncated or overlong varint")
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if c < 0x80:
            return v, i
        shift += 7


def fields(b, i=0, end=None):
    """Yields (field number, wire type, value): an int for varints and fixed, (start, end) for
    length-delimited fields (a slice of b, not a copy)."""
    if end is None:
        end = len(b)
    while i < end:
        tag, i = varint(b, i, end)
        fn, wt = tag >> 3, tag & 7
        if wt == 0:
            v, i = varint(b, i, end)
        elif wt == 2:
            n, i = varint(b, i, end)
            if n > end - i:
                raise ValueError("length past the end of its message")
            v = (i, i + n)
            i += n
        elif wt == 1 or wt == 5:
            n = 8 if wt == 1 else 4
            if n > end - i:
                raise ValueError("fixed field past the end")
            v = int.from_bytes(b[i:i + n], "little")
            i += n
        else:
            raise ValueError(f"unsupported wire type {wt}")
        yield fn, wt, v
