#!/usr/bin/env python3
"""Writes a synthetic run in the file exporter's format, for the report's scale test: OTLP/JSON
lines (512 spans a line) from a load generator, nginx and a python backend, each request a trace
of 5 spans, plus one long trace of 10,000 nested spans, and a pprof file of the backend with one
sample in each of its spans. Prints the number of spans and of endpoints.
Usage: report_synth.py DIR SPANS"""
import gzip
import json
import os
import random
import sys

d, total = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
T0 = 1_750_000_000_000_000_000
PATHS = [f"/api/v1/res{k}/{{id}}" for k in range(20)]


def hexid(n):
    return "%0*x" % (2 * n, rng.getrandbits(8 * n) or 1)


def s(k, v):
    return {"key": k, "value": {"stringValue": v}}


def i(k, v):
    return {"key": k, "value": {"intValue": str(v)}}


class Proc:
    def __init__(self, exe, pid):
        self.exe, self.pid, self.spans = exe, pid, []
        self.resource = {"attributes": [s("service.name", "unknown_service:" + exe), i("process.pid", pid),
                                        s("process.executable.name", exe), s("host.name", "synth"),
                                        s("service.instance.id", hexid(16))]}

    def span(self, trace, parent, name, kind, start, dur, attrs, err=False):
        sid = hexid(8)
        self.spans.append({"traceId": trace, "spanId": sid, "parentSpanId": parent, "name": name,
                           "kind": kind, "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + dur),
                           "attributes": attrs, "status": {"code": 2} if err else {}})
        return sid

    def write(self):
        with open(os.path.join(d, f"{self.exe}.{self.pid}.traces.jsonl"), "w") as f:
            for k in range(0, len(self.spans), 512):
                req = {"resourceSpans": [{"resource": self.resource, "scopeSpans": [
                    {"scope": {"name": "ringside"}, "spans": self.spans[k:k + 512]}]}]}
                f.write(json.dumps(req, separators=(",", ":")) + "\n")


def http(method, path, code, port, peer_port):
    return [s("http.request.method", method), s("url.path", path), s("url.scheme", "http"),
            i("http.response.status_code", code), s("server.address", "127.0.0.1"), i("server.port", port),
            s("network.peer.address", "127.0.0.1"), i("network.peer.port", peer_port),
            s("network.protocol.name", "http"), s("network.protocol.version", "1.1"),
            s("user_agent.original", "synth/1"), i("thread.id", 4242)]


load, nginx, py = Proc("loadgen", 1001), Proc("nginx", 1002), Proc("python3.11", 1003)
prof_spans = []
BIG = 10_000
t = T0
n = 0
while n + 5 <= total - BIG:
    k = rng.randrange(len(PATHS))
    path = PATHS[k].replace("{id}", str(rng.randrange(1000)))
    trace = hexid(16)
    dur = int(rng.lognormvariate(14, 0.6))  # about 1.2 ms, a long tail
    code = 500 if rng.random() < 0.01 else 200
    c = load.span(trace, "", "GET " + PATHS[k], 3, t, dur, http("GET", path, code, 8080, 8080), code >= 500)
    ns = nginx.span(trace, c, "GET " + PATHS[k], 2, t + 30_000, dur - 60_000, http("GET", path, code, 8080, 40000 + n % 20000))
    nginx.span(trace, ns, "connect 127.0.0.1:9000", 3, t + 40_000, dur - 90_000,
               [s("network.peer.address", "127.0.0.1"), i("network.peer.port", 9000)])
    nc = nginx.span(trace, ns, "GET " + PATHS[k], 3, t + 50_000, dur - 100_000, http("GET", path, code, 9000, 9000), code >= 500)
    ps = py.span(trace, nc, "GET " + PATHS[k], 2, t + 80_000, dur - 160_000, http("GET", path, code, 9000, 50000 + n % 10000))
    prof_spans.append((trace, ps))
    n += 5
    t += rng.randrange(50_000, 400_000)
# One long trace: a batch job's root with 10,000 nested calls (a deep, wide tree).
trace = hexid(16)
root = load.span(trace, "", "batch run", 1, t, 10 * BIG * 1000, [])
parents = [root]
for k in range(BIG - 1):
    par = parents[rng.randrange(max(0, len(parents) - 50), len(parents))]
    sid = load.span(trace, par, f"GET /batch/step{k % 7}", 3, t + k * 10_000, 8_000, http("GET", "/batch", 200, 80, 80))
    parents.append(sid)
for p in (load, nginx, py):
    p.write()


# A pprof file of the backend: a few stacks, samples labelled with some of its spans.
def varint(x):
    out = bytearray()
    while True:
        b = x & 0x7F
        x >>= 7
        if x:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(fn, payload):
    return varint(fn << 3 | 2) + varint(len(payload)) + payload


def vfield(fn, v):
    return varint(fn << 3) + varint(v)


strings = ["", "samples", "count", "cpu", "nanoseconds", "wait", "thread.id", "thread.name", "trace_id",
           "span_id", "wait.kind", "read", "python3"]
funcs = ["main", "serve_forever", "handle_request", "do_GET", "render_page", "json_dumps", "recv"]
strings += funcs
prof = bytearray()
for a, b in ((1, 2), (3, 4), (5, 4)):
    prof += field(1, vfield(1, a) + vfield(2, b))
for fid, name in enumerate(funcs, 1):
    prof += field(5, vfield(1, fid) + vfield(2, strings.index(name)))
    prof += field(4, vfield(1, fid) + field(4, vfield(1, fid)))
stacks = [[1, 2, 3, 4, 5], [1, 2, 3, 4, 6], [1, 2, 3, 7]]
for trace, span in prof_spans:
    st = rng.randrange(3)
    wait = st == 2
    vals = [1, 0 if wait else 10_000_000, 2_000_000 if wait else 0]
    labels = [field(3, vfield(1, 6) + vfield(3, 4242)), field(3, vfield(1, 7) + vfield(2, 12)),
              field(3, vfield(1, 8) + vfield(2, len(strings))), field(3, vfield(1, 9) + vfield(2, len(strings) + 1))]
    if wait:
        labels.append(field(3, vfield(1, 10) + vfield(2, 11)))
    strings += [trace, span]
    locs = b"".join(varint(x) for x in reversed(stacks[st]))
    prof += field(2, field(1, locs) + field(2, b"".join(varint(v) for v in vals)) + b"".join(labels))
for x in strings:
    prof += field(6, x.encode())
with gzip.open(os.path.join(d, "python3.11.1003.0.pb.gz"), "wb") as f:
    f.write(bytes(prof))
eps = {(p.exe, sp["kind"], sp["name"]) for p in (load, nginx, py) for sp in p.spans
       if any(a["key"] == "http.request.method" for a in sp["attributes"])}
print(f"spans={sum(len(p.spans) for p in (load, nginx, py))} endpoints={len(eps)}")
