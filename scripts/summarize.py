#!/usr/bin/env python3
"""Prints a short account of what ringside wrote into a directory of OTLP/JSON lines: processes,
their spans by kind, errors. With --example, also one span in full.
Usage: summarize.py [--example] DIR"""
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


def main():
    args = [a for a in sys.argv[1:] if a != "--example"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    d = args[0]
    files = sorted(glob.glob(os.path.join(d, "*.traces.jsonl")))
    if not files:
        print(f"ringside: no spans were written to {d}")
        return 0
    procs = collections.OrderedDict()
    example = None
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
                            if example is None and s.get("kind") == 3 and "--example" in sys.argv:
                                example = (key, s, attrs)
    nprocs = sum(len(p["pids"]) for p in procs.values())
    print(f"ringside: {total} spans from {nprocs} processes in {d}")
    for exe, p in procs.items():
        kinds = ", ".join(f"{n} {k}" for k, n in p["kinds"].most_common())
        errs = "; errors: " + ", ".join(f"{n} {k}" for k, n in p["errors"].items()) if p["errors"] else ""
        who = f"pid {min(p['pids'])}" if len(p["pids"]) == 1 else f"{len(p['pids'])} processes"
        print(f"  {exe} ({who}, service.name {p['service']}): {kinds} spans{errs}")
    if bad:
        print(f"  {bad} lines were not valid JSON (a write cut short, e.g. by a full disk)")
    if example:
        exe, s, attrs = example
        dur = (int(s["endTimeUnixNano"]) - int(s["startTimeUnixNano"])) / 1e6
        print(f"\nOne of {exe}'s spans: \"{s['name']}\", kind {KIND[s['kind']]}, {dur:.3f} ms, "
              f"trace {s['traceId']}")
        for k, v in attrs.items():
            print(f"    {k} = {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
