#!/usr/bin/env python3
"""Reads what the test peers (tests/peers) received: one JSON line per message, decoded by other
projects' generated code. Turns OTLP trace exports and SkyWalking segments into one flat list of
spans and checks the curl -> python3 chain the exporter tests run.

  peer_check.py dump FILE [--path P]              one JSON object per span (as otlp_check.py dump)
  peer_check.py chain FILE N CLIENT_EXE SERVER_EXE
        exactly N HTTP client spans from CLIENT_EXE and N server spans from SERVER_EXE, each server
        span's parent being one of the client spans, in the client's trace, N distinct traces
  peer_check.py lines FILE [--path P] [--rejected]  number of lines (messages) that match
  peer_check.py field FILE PATH.TO.FIELD [--path P]  prints that field of each matching line
  peer_check.py sw-refs FILE N SERVICE
        SkyWalking: exactly N Entry spans of SERVICE, each with one CrossProcess ref that names a
        segment that arrived, an Exit span in it (its peer the ref's networkAddressUsedAtPeer),
        that segment's trace, service, instance and endpoint (its Entry span's name, else its
        service); no segment id arrives twice
  peer_check.py self-metrics FILE COMPONENT_TYPE N
        the last OTLP metrics export of each of N processes counts, as exported, exactly the spans
        that arrived from that process, none rejected, and at least one answered request

Spans of SkyWalking segments are flattened with their segment's trace id, the span's
"<segment>-<spanId>" as id, and as parent the span in the same segment or, for an entry span
with a cross-process ref, the ref's "<parentTraceSegmentId>-<parentSpanId>".
"""
import argparse
import json
import sys


def load_lines(path, want_path=None, rejected=None):
    out = []
    with open(path, "rb") as f:
        for raw in f.read().decode("utf-8").splitlines():
            if not raw.strip():
                continue
            line = json.loads(raw)
            if want_path and line.get("path") != want_path:
                continue
            if rejected is not None and bool(line.get("rejected")) != rejected:
                continue
            out.append(line)
    return out


def plain(v):
    (k, x), = v.items()
    if k == "intValue":
        return int(x)
    if k == "arrayValue":
        return [plain(e) for e in x.get("values", [])]
    return x


def otlp_spans(line):
    for rs in line["msg"].get("resourceSpans", []):
        res = {a["key"]: plain(a["value"]) for a in rs.get("resource", {}).get("attributes", [])}
        for ss in rs.get("scopeSpans", []):
            for s in ss.get("spans", []):
                attrs = {a["key"]: plain(a["value"]) for a in s.get("attributes", [])}
                yield {"exe": res.get("process.executable.name"), "pid": res.get("process.pid"),
                       "service": res.get("service.name"), "name": s["name"], "kind": s.get("kind", 0),
                       "trace": s["traceId"], "span": s["spanId"], "parent": s.get("parentSpanId", ""),
                       "flags": s.get("flags", 0), "status": s.get("status", {}), "attrs": attrs,
                       "http": "http.request.method" in attrs}


SW_KIND = {0: 2, 1: 3, 2: 1}  # Entry -> server, Exit -> client, Local -> internal


def sw_spans(line):
    seg = line["msg"]
    sid = seg["traceSegmentId"]
    for s in seg.get("spans", []):
        n = s.get("spanId", 0)
        parent = ""
        if s.get("parentSpanId", 0) >= 0 and n != 0:
            parent = f"{sid}-{s.get('parentSpanId', 0)}"
        for r in s.get("refs", []):
            parent = f"{r['parentTraceSegmentId']}-{r.get('parentSpanId', 0)}"
        tags = {t["key"]: t.get("value", "") for t in s.get("tags", [])}
        # The service is the executable unless SW_AGENT_NAME or OTEL_SERVICE_NAME says otherwise.
        yield {"exe": seg.get("service", ""), "instance": seg.get("serviceInstance", ""),
               "service": seg.get("service", ""),
               "name": s.get("operationName", ""), "kind": SW_KIND[s.get("spanType", 0)],
               "trace": seg["traceId"], "span": f"{sid}-{n}", "parent": parent, "attrs": tags,
               "http": s.get("spanLayer", 0) == 3, "isError": s.get("isError", False),
               "peer": s.get("peer", ""), "component": s.get("componentId", 0), "refs": s.get("refs", [])}


def spans(lines):
    for line in lines:
        if line.get("rejected") or line.get("msg") is None:
            continue
        if line["peer"] == "otlp" and "resourceSpans" in line["msg"]:
            yield from otlp_spans(line)
        elif line["peer"] == "skywalking" and "traceSegmentId" in line["msg"]:
            yield from sw_spans(line)


def exe_of(s, exe):
    # OTLP names the executable; SkyWalking only the service, which is the executable's name by
    # default.
    return s["exe"] == exe


def chain(all_spans, n, client_exe, server_exe):
    clients = {s["span"]: s for s in all_spans if s["http"] and s["kind"] == 3 and exe_of(s, client_exe)}
    servers = [s for s in all_spans if s["http"] and s["kind"] == 2 and exe_of(s, server_exe)]
    errs = []
    if len(clients) != n:
        errs.append(f"expected {n} client spans from {client_exe}, found {len(clients)}")
    if len(servers) != n:
        errs.append(f"expected {n} server spans from {server_exe}, found {len(servers)}")
    for s in servers:
        c = clients.get(s["parent"])
        if not c:
            errs.append(f"server span {s['span']} ({s['name']}) has parent {s['parent']!r}, not a client span")
        elif c["trace"] != s["trace"]:
            errs.append(f"server span {s['span']} is in trace {s['trace']}, its client in {c['trace']}")
    if len({s["trace"] for s in servers}) != n:
        errs.append("the requests do not have a trace each")
    for c in clients.values():
        if c["parent"]:
            errs.append(f"curl's span {c['span']} has a parent {c['parent']}; curl started the trace")
    return errs


def sw_refs(lines, n, service):
    errs = []
    segs = {}
    for l in lines:
        m = l.get("msg")
        if l.get("rejected") or not m or "traceSegmentId" not in m:
            continue
        if m["traceSegmentId"] in segs:
            errs.append(f"segment {m['traceSegmentId']} arrived twice")
        segs[m["traceSegmentId"]] = m
    count = 0
    for seg in segs.values():
        if seg.get("service") != service:
            continue
        for s in seg.get("spans", []):
            if s.get("spanType", 0) != 0:
                continue
            count += 1
            refs = s.get("refs", [])
            if len(refs) != 1 or refs[0].get("refType", 0) != 0:
                errs.append(f"entry span of {seg['traceSegmentId']} has refs {refs}, not one CrossProcess")
                continue
            r = refs[0]
            up = segs.get(r.get("parentTraceSegmentId"))
            if not up:
                errs.append(f"ref of {seg['traceSegmentId']} names segment {r.get('parentTraceSegmentId')!r}, which did not arrive")
                continue
            exits = [x for x in up.get("spans", []) if x.get("spanId", 0) == r.get("parentSpanId", 0)]
            if len(exits) != 1 or exits[0].get("spanType", 0) != 1:
                errs.append(f"ref of {seg['traceSegmentId']} names span {r.get('parentSpanId', 0)} of {up['traceSegmentId']}: {exits}")
                continue
            entries = [x for x in up.get("spans", []) if x.get("spanType", 0) == 0]
            want = {"traceId": up["traceId"], "parentService": up.get("service"),
                    "parentServiceInstance": up.get("serviceInstance"),
                    "parentEndpoint": entries[0].get("operationName") if entries else up.get("service"),
                    "networkAddressUsedAtPeer": exits[0].get("peer")}
            for k, v in want.items():
                if r.get(k) != v:
                    errs.append(f"ref of {seg['traceSegmentId']}: {k} is {r.get(k)!r}, expected {v!r}")
            if seg["traceId"] != up["traceId"]:
                errs.append(f"segment {seg['traceSegmentId']} is in trace {seg['traceId']}, its parent in {up['traceId']}")
    if count != n:
        errs.append(f"expected {n} entry spans of {service}, found {count}")
    return errs


def res_attrs(r):
    return {a["key"]: plain(a["value"]) for a in r.get("resource", {}).get("attributes", [])}


def self_metrics(lines, component, nproc):
    errs = []
    arrived, final = {}, {}
    for l in lines:
        if l.get("rejected") or not l.get("msg"):
            continue
        for rs in l["msg"].get("resourceSpans", []):
            pid = res_attrs(rs)["process.pid"]
            arrived[pid] = arrived.get(pid, 0) + sum(len(ss.get("spans", [])) for ss in rs.get("scopeSpans", []))
        for rm in l["msg"].get("resourceMetrics", []):
            final[res_attrs(rm)["process.pid"]] = rm  # the last of each process wins
    if len(final) != nproc or set(final) != set(arrived):
        return [f"metrics from {sorted(final)}, spans from {sorted(arrived)}, expected {nproc} processes"]
    ct = ("otel.component.type", component)
    for pid, rm in final.items():
        metrics = {m["name"]: m for sm in rm.get("scopeMetrics", []) for m in sm.get("metrics", [])}

        def points(name):
            m = metrics[name]["sum"]
            if m.get("aggregationTemporality") != 2 or not m.get("isMonotonic"):
                errs.append(f"{name} is not a cumulative monotonic sum")
            return {tuple(sorted((a["key"], a["value"]["stringValue"]) for a in p.get("attributes", []))):
                    float(p.get("asInt", p.get("asDouble", 0))) for p in m.get("dataPoints", [])}
        exp = points("otel.sdk.exporter.span.exported")
        if exp.get((ct,)) != arrived[pid]:
            errs.append(f"pid {pid}: exported {exp.get((ct,))}, arrived {arrived[pid]}")
        if exp.get((("error.type", "rejected"), ct)) != 0:
            errs.append(f"pid {pid}: rejected spans {exp}")
        if points("otel.sdk.span.started").get(()) != arrived[pid]:
            errs.append(f"pid {pid}: started {points('otel.sdk.span.started')}")
        if not points("ringside.exporter.requests").get((ct,), 0) >= 1:
            errs.append(f"pid {pid}: no requests counted")
        if not points("ringside.exporter.request.time").get((ct,), 0) > 0:
            errs.append(f"pid {pid}: no request time")
    return errs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["dump", "chain", "lines", "field", "self-metrics", "sw-refs"])
    p.add_argument("file")
    p.add_argument("args", nargs="*")
    p.add_argument("--path")
    p.add_argument("--rejected", action="store_true", default=None)
    a = p.parse_args()
    lines = load_lines(a.file, a.path, a.rejected)
    if a.cmd == "lines":
        print(len(lines))
        return 0
    if a.cmd == "field":
        for line in lines:
            v = line
            for k in a.args[0].split("."):
                v = v.get(k) if isinstance(v, dict) else (v[int(k)] if isinstance(v, list) and k.isdigit() and int(k) < len(v) else None)
            print(json.dumps(v))
        return 0
    if a.cmd == "self-metrics":
        errs = self_metrics(lines, a.args[0], int(a.args[1]))
        for e in errs:
            print(e, file=sys.stderr)
        return 1 if errs else 0
    if a.cmd == "sw-refs":
        errs = sw_refs(lines, int(a.args[0]), a.args[1])
        for e in errs:
            print(e, file=sys.stderr)
        return 1 if errs else 0
    all_spans = list(spans(lines))
    if a.cmd == "dump":
        for s in all_spans:
            print(json.dumps(s))
        return 0
    n, client_exe, server_exe = int(a.args[0]), a.args[1], a.args[2]
    errs = chain(all_spans, n, client_exe, server_exe)
    for e in errs:
        print(e, file=sys.stderr)
    if errs:
        for s in all_spans[:30]:
            print("  ", json.dumps(s), file=sys.stderr)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
