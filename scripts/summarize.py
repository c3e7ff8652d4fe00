#!/usr/bin/env python3
"""Prints a short account of what ringside wrote into a directory of OTLP/JSON lines: processes,
their spans by kind, errors. With --tree, also the largest trace as a tree across processes.
Usage: summarize.py [--tree] DIR"""
import collections
import glob
import json
import os
import sys

KIND = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


def value(v):
    (k, x), = v.items()
    if k == "intValue":
        return int(x)
    if k == "arrayValue":
        return [value(e) for e in x.get("values", [])]
    return x


def print_tree(spans):
    """The trace with the most spans, children under their parents, across processes."""
    traces = collections.Counter(s["traceId"] for _, s, _ in spans)
    trace = traces.most_common(1)[0][0]
    mine = [(exe, s, a) for exe, s, a in spans if s["traceId"] == trace]
    ids = {s["spanId"] for _, s, _ in mine}
    children = collections.defaultdict(list)
    for item in mine:
        parent = item[1].get("parentSpanId", "")
        children[parent if parent in ids else ""].append(item)
    print(f"\nThe largest trace, {trace}, {len(mine)} spans:")

    def show(parent, depth):
        for exe, s, a in sorted(children[parent], key=lambda x: int(x[1]["startTimeUnixNano"])):
            ms = (int(s["endTimeUnixNano"]) - int(s["startTimeUnixNano"])) / 1e6
            status = a.get("http.response.status_code", "")
            label = f"{'  ' * depth}{s['name']}"
            print(f"  {label:<52} {exe:<12} {KIND.get(s['kind'], '?'):<8} {ms:8.3f} ms {status}")
            show(s["spanId"], depth + 1)

    show("", 0)


def main():
    args = [a for a in sys.argv[1:] if a != "--tree"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    d = args[0]
    files = sorted(glob.glob(os.path.join(d, "*.traces.jsonl")))
    if not files:
        print(f"ringside: no spans were written to {d}")
        return 0
    procs = collections.OrderedDict()
    all_spans = []
    bad = total = 0
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    req = json.loads(line)
                except ValueError:
                    bad += 1
                    continue
                for rs in req.get("resourceSpans", []):
                    res = {a["key"]: value(a["value"]) for a in rs["resource"]["attributes"]}
                    key = res.get("process.executable.name", "?")
                    p = procs.setdefault(key, {"kinds": collections.Counter(), "errors": collections.Counter(),
                                               "service": res.get("service.name", ""), "pids": set()})
                    p["pids"].add(res.get("process.pid", 0))
                    for ss in rs.get("scopeSpans", []):
                        for s in ss.get("spans", []):
                            total += 1
                            p["kinds"][KIND.get(s.get("kind"), "?")] += 1
                            attrs = {a["key"]: value(a["value"]) for a in s.get("attributes", [])}
                            if s.get("status", {}).get("code") == 2:
                                p["errors"][attrs.get("error.type", "error")] += 1
                            all_spans.append((key, s, attrs))
    nprocs = sum(len(p["pids"]) for p in procs.values())
    print(f"ringside: {total} spans from {nprocs} processes in {d}")
    for exe, p in procs.items():
        kinds = ", ".join(f"{n} {k}" for k, n in p["kinds"].most_common())
        errs = "; errors: " + ", ".join(f"{n} {k}" for k, n in p["errors"].items()) if p["errors"] else ""
        who = f"pid {min(p['pids'])}" if len(p["pids"]) == 1 else f"{len(p['pids'])} processes"
        print(f"  {exe} ({who}, service.name {p['service']}): {kinds} spans{errs}")
    if bad:
        print(f"  {bad} lines were not valid JSON (a write cut short, e.g. by a full disk)")
    if "--tree" in sys.argv and all_spans:
        print_tree(all_spans)
    return 0


if __name__ == "__main__":
    sys.exit(main())
