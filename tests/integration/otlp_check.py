#!/usr/bin/env python3
"""Reads the file exporter's output (one OTLP/JSON ExportTraceServiceRequest per line) and checks
it strictly against the OTLP/JSON encoding rules, then answers questions about the spans.

  otlp_check.py validate DIR            every line of every *.traces.jsonl is valid OTLP/JSON
  otlp_check.py count DIR [filters]     prints the number of matching spans
  otlp_check.py expect DIR N [filters]  exits 1 unless exactly N spans match (N may be ">=K")
  otlp_check.py files DIR               prints "exe pid path" per output file
  otlp_check.py dump DIR [filters]      prints matching spans, one JSON object per line

filters: --exe NAME (process.executable.name), --pid PID, --kind server|client|internal,
         --tcp (connection spans), --http (HTTP request spans),
         --name NAME, --attr KEY=VALUE (compares the attribute's value as text),
         --attr-gt KEY=N (integer attribute greater than N), --has KEY, --lacks KEY
"""
import argparse
import glob
import json
import os
import re
import sys
import time

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")
UINT = re.compile(r"^[0-9]+$")
FILE_RE = re.compile(r"^(?P<exe>[A-Za-z0-9._-]+)\.(?P<pid>[0-9]+)(-[0-9]+)?\.traces\.jsonl$")
KINDS = {"internal": 1, "server": 2, "client": 3}


class Invalid(Exception):
    pass


def need(cond, what):
    if not cond:
        raise Invalid(what)


def check_value(v, where):
    need(isinstance(v, dict) and len(v) == 1, f"{where}: AnyValue must have exactly one member")
    (k, x), = v.items()
    if k == "stringValue":
        need(isinstance(x, str), f"{where}: stringValue not a string")
    elif k == "intValue":
        need(isinstance(x, str) and re.match(r"^-?[0-9]+$", x), f"{where}: intValue must be a decimal string")
    elif k == "boolValue":
        need(isinstance(x, bool), f"{where}: boolValue not a bool")
    elif k == "doubleValue":
        need(isinstance(x, (int, float)), f"{where}: doubleValue not a number")
    elif k == "arrayValue":
        need(isinstance(x, dict) and isinstance(x.get("values"), list), f"{where}: arrayValue.values")
        for i, e in enumerate(x["values"]):
            check_value(e, f"{where}[{i}]")
    else:
        raise Invalid(f"{where}: unknown AnyValue member {k}")


def check_attrs(attrs, where):
    need(isinstance(attrs, list), f"{where}: attributes must be a list")
    seen = set()
    for a in attrs:
        need(isinstance(a, dict) and set(a) == {"key", "value"}, f"{where}: attribute shape {a}")
        need(isinstance(a["key"], str) and a["key"], f"{where}: empty key")
        need(a["key"] not in seen, f"{where}: duplicate key {a['key']}")
        seen.add(a["key"])
        check_value(a["value"], f"{where}.{a['key']}")


def plain(v):
    (k, x), = v.items()
    if k == "intValue":
        return int(x)
    if k == "arrayValue":
        return [plain(e) for e in x["values"]]
    return x


def check_span(s, now_ns):
    need(HEX32.match(s.get("traceId", "")) and s["traceId"] != "0" * 32, f"bad traceId {s.get('traceId')}")
    need(HEX16.match(s.get("spanId", "")) and s["spanId"] != "0" * 16, f"bad spanId {s.get('spanId')}")
    if "parentSpanId" in s:
        need(HEX16.match(s["parentSpanId"]), f"bad parentSpanId {s['parentSpanId']}")
    need(isinstance(s.get("name"), str) and s["name"], "span without a name")
    need(isinstance(s.get("kind"), int) and 1 <= s["kind"] <= 5, f"kind must be an integer 1..5, got {s.get('kind')}")
    for k in ("startTimeUnixNano", "endTimeUnixNano"):
        need(isinstance(s.get(k), str) and UINT.match(s[k]), f"{k} must be a decimal string")
    start, end = int(s["startTimeUnixNano"]), int(s["endTimeUnixNano"])
    need(start <= end, "span ends before it starts")
    need(now_ns - 86400 * 10**9 < start < now_ns + 3600 * 10**9, f"start time {start} is implausible")
    if "flags" in s:
        need(isinstance(s["flags"], int) and 0 <= s["flags"] < 2**32, "flags must be a fixed32 integer")
    check_attrs(s.get("attributes", []), f"span {s['name']}")
    for e in s.get("events", []):
        need(isinstance(e.get("name"), str) and UINT.match(e.get("timeUnixNano", "")), "bad event")
        check_attrs(e.get("attributes", []), "event")
    st = s.get("status", {})
    need(isinstance(st, dict) and set(st) <= {"code", "message"}, "bad status")
    if "code" in st:
        need(st["code"] in (0, 1, 2), "status code must be 0, 1 or 2")


def load(directory, strict=True):
    """Returns [(path, exe, pid, resource_attrs, span, attrs)] for every span, validating
    everything unless strict is off (counting a few hundred thousand spans)."""
    now_ns = time.time_ns()
    out = []
    paths = sorted(glob.glob(os.path.join(directory, "*.traces.jsonl")))
    for path in paths:
        m = FILE_RE.match(os.path.basename(path))
        need(m, f"{path}: unexpected file name")
        mode = os.stat(path).st_mode & 0o777
        need(mode == 0o600, f"{path}: mode {oct(mode)}, expected 0600")
        with open(path, "rb") as f:
            data = f.read()
        need(data.endswith(b"\n") or not data, f"{path}: last line is not terminated")
        for n, line in enumerate(data.decode("utf-8").splitlines(), 1):
            where = f"{path}:{n}"
            try:
                req = json.loads(line)
            except ValueError as e:
                raise Invalid(f"{where}: not JSON: {e}")
            need(isinstance(req, dict) and set(req) == {"resourceSpans"}, f"{where}: top level must hold only resourceSpans")
            need(req["resourceSpans"], f"{where}: empty resourceSpans")
            for rs in req["resourceSpans"]:
                check_attrs(rs["resource"]["attributes"], f"{where} resource")
                res = {a["key"]: plain(a["value"]) for a in rs["resource"]["attributes"]}
                need(res.get("process.pid") == int(m["pid"]), f"{where}: process.pid {res.get('process.pid')} does not match the file name")
                need(isinstance(res.get("service.name"), str) and res["service.name"], f"{where}: no service.name")
                for ss in rs["scopeSpans"]:
                    need(isinstance(ss["scope"].get("name"), str), f"{where}: scope without a name")
                    need(ss["spans"], f"{where}: empty spans list")
                    for s in ss["spans"]:
                        try:
                            if strict:
                                check_span(s, now_ns)
                        except Invalid as e:
                            raise Invalid(f"{where}: {e}")
                        attrs = {a["key"]: plain(a["value"]) for a in s.get("attributes", [])}
                        out.append((path, m["exe"], int(m["pid"]), res, s, attrs))
    return out


def matches(item, a):
    path, exe, pid, res, s, attrs = item
    if a.exe and res.get("process.executable.name") != a.exe:
        return False
    if a.pid is not None and pid != a.pid:
        return False
    if a.kind and s["kind"] != KINDS[a.kind]:
        return False
    if a.name is not None and s["name"] != a.name:
        return False
    if a.tcp and "network.transport" not in attrs:
        return False
    if a.http and "http.request.method" not in attrs:
        return False
    for kv in a.attr or []:
        k, v = kv.split("=", 1)
        if k not in attrs or str(attrs[k]).lower() != v.lower():
            return False
    for kv in a.attr_gt or []:
        k, v = kv.split("=", 1)
        if not isinstance(attrs.get(k), int) or attrs[k] <= int(v):
            return False
    for k in a.has or []:
        if k not in attrs:
            return False
    for k in a.lacks or []:
        if k in attrs:
            return False
    return True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["validate", "count", "expect", "files", "dump"])
    p.add_argument("dir")
    p.add_argument("n", nargs="?")
    p.add_argument("--exe")
    p.add_argument("--pid", type=int)
    p.add_argument("--kind", choices=list(KINDS))
    p.add_argument("--name")
    p.add_argument("--attr", action="append")
    p.add_argument("--attr-gt", action="append")
    p.add_argument("--has", action="append")
    p.add_argument("--lacks", action="append")
    p.add_argument("--tcp", action="store_true")
    p.add_argument("--http", action="store_true")
    p.add_argument("--quick", action="store_true", help="skip the per-span checks (large runs)")
    a = p.parse_args()
    try:
        items = load(a.dir, strict=not a.quick)
    except (Invalid, KeyError, TypeError) as e:
        print(f"invalid OTLP/JSON: {e}", file=sys.stderr)
        return 1
    if a.cmd == "validate":
        print(f"{len(items)} spans valid")
        return 0
    if a.cmd == "files":
        for path in sorted(glob.glob(os.path.join(a.dir, "*.traces.jsonl"))):
            m = FILE_RE.match(os.path.basename(path))
            print(m["exe"], m["pid"], path)
        return 0
    sel = [i for i in items if matches(i, a)]
    if a.cmd == "dump":
        for path, exe, pid, res, s, attrs in sel:
            print(json.dumps({"file": os.path.basename(path), "exe": res.get("process.executable.name"),
                              "pid": pid, "name": s["name"], "kind": s["kind"],
                              "trace": s["traceId"], "span": s["spanId"], "parent": s.get("parentSpanId", ""),
                              "flags": s.get("flags", 0), "status": s.get("status", {}),
                              "traceState": s.get("traceState", ""), "attrs": attrs}))
        return 0
    if a.cmd == "count":
        print(len(sel))
        return 0
    want = a.n or ""
    ok = len(sel) >= int(want[2:]) if want.startswith(">=") else len(sel) == int(want)
    if not ok:
        print(f"expected {want} matching spans, found {len(sel)} ({len(items)} spans in all)", file=sys.stderr)
        for path, exe, pid, res, s, attrs in items[:20]:
            print(f"  {os.path.basename(path)} kind={s['kind']} {s['name']} {attrs}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
