"""A small reader of pprof profiles (profile.proto, gzipped or not) for the report: the samples
with their stacks as function names (root first), their values by sample type and their labels.
Bounded: every length is checked against what is left, and bad input raises ValueError."""
import gzip
import zlib

from pb_walk import fields as _fields, varint as _varint

MAX_BYTES = 512 << 20  # a gunzipped profile larger than this is refused, not read into memory


def _ints(b, wt, v):
    """A repeated integer field, packed (one LEN) or not (one varint per field)."""
    if wt == 0:
        return [v]
    if wt != 2:
        raise ValueError("bad repeated integer")
    out = []
    i, end = v
    while i < end:
        x, i = _varint(b, i, end)
        out.append(x)
    return out


def _signed(x):
    return x - (1 << 64) if x >= 1 << 63 else x


def _message(b, v):
    i, end = v
    out = {}
    for fn, wt, x in _fields(b, i, end):
        out.setdefault(fn, []).append((wt, x))
    return out


def _one(m, fn, default=0):
    f = m.get(fn)
    return f[-1][1] if f and f[-1][0] != 2 else default


def read(path):
    """Returns (sample type names, samples): each sample (stack root first, values, labels)."""
    with open(path, "rb") as f:
        raw = f.read(MAX_BYTES + 1)
    if raw[:2] == b"\x1f\x8b":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = d.decompress(raw, MAX_BYTES + 1)
        except (zlib.error, gzip.BadGzipFile) as e:
            raise ValueError(f"bad gzip: {e}") from None
        if not d.eof and len(raw) <= MAX_BYTES:
            raise ValueError("gzip data cut short")
    if len(raw) > MAX_BYTES:
        raise ValueError("profile too large")
    b = memoryview(raw)
    strings, types, samples_raw, locs, funcs, maps = [], [], [], {}, {}, {}
    for fn, wt, v in _fields(b):
        if wt != 2 and fn in (1, 2, 3, 4, 5, 6):
            raise ValueError(f"field {fn} is not a message")
        if fn == 6:
            strings.append(bytes(b[v[0]:v[1]]).decode("utf-8", "replace"))
        elif fn == 1:
            types.append(_one(_message(b, v), 1))
        elif fn == 2:
            samples_raw.append(v)
        elif fn == 3:
            m = _message(b, v)
            maps[_one(m, 1)] = _one(m, 5)
        elif fn == 4:
            m = _message(b, v)
            lines = []
            for wt2, lv in m.get(4, []):
                if wt2 == 2:
                    lines.append(_one(_message(b, lv), 1))
            locs[_one(m, 1)] = (_one(m, 2), _one(m, 3), lines)
        elif fn == 5:
            m = _message(b, v)
            funcs[_one(m, 1)] = _one(m, 2)

    def s(i):
        return strings[i] if 0 <= i < len(strings) else ""

    names = {}

    def loc_names(lid):
        """A location's frames, caller first (its lines are listed inlined callee first)."""
        if lid in names:
            return names[lid]
        mid, addr, lines = locs.get(lid, (0, 0, []))
        fr = [s(funcs.get(f, 0)) for f in reversed(lines)]
        fr = [x for x in fr if x]
        if not fr:
            obj = s(maps.get(mid, 0)).rsplit("/", 1)[-1] or "?"
            fr = [f"{obj}+0x{addr:x}"]
        names[lid] = fr
        return fr

    type_names = [s(t) for t in types]
    samples = []
    for v in samples_raw:
        m = _message(b, v)
        ids, vals, labels = [], [], {}
        for wt, x in m.get(1, []):
            ids.extend(_ints(b, wt, x))
        for wt, x in m.get(2, []):
            vals.extend(_signed(y) for y in _ints(b, wt, x))
        for wt, x in m.get(3, []):
            if wt != 2:
                continue
            lm = _message(b, x)
            key = s(_one(lm, 1))
            labels[key] = s(_one(lm, 2)) if _one(lm, 2) else _signed(_one(lm, 3))
        stack = []
        for lid in reversed(ids):  # location_id[0] is the leaf
            stack.extend(loc_names(lid))
        samples.append((stack, dict(zip(type_names, vals)), labels))
    return type_names, samples
