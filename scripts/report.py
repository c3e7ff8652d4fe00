#!/usr/bin/env python3
"""Turns what the file exporter wrote for a run (every process's *.traces.jsonl and *.pb.gz) into
one self-contained HTML page: trace waterfall, endpoint table, CPU and wait flame graphs. The data
goes in as compact columns; the page's own script (report_page.js) renders it lazily.
Usage: report.py [--summary] DIR [-o FILE]"""
import collections
import glob
import json
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_pprof  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_LINE = 64 << 20  # a longer line is not a line the exporter wrote: skipped, counted
KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


def warn(msg):
    print(f"ringside report: {msg}", file=sys.stderr)


def value(v):
    if not isinstance(v, dict) or len(v) != 1:
        return ""
    (k, x), = v.items()
    if k == "intValue":
        try:
            return int(x)
        except (TypeError, ValueError):
            return str(x)
    if k == "arrayValue":
        return [value(e) for e in (x or {}).get("values", [])]
    if k == "kvlistValue":
        return {a.get("key", ""): value(a.get("value")) for a in (x or {}).get("values", [])}
    return x


def attrs_of(lst):
    """Attributes as key -> str, int or finite float (anything else as its JSON text)."""
    out = {}
    for a in lst if isinstance(lst, list) else []:
        if isinstance(a, dict) and isinstance(a.get("key"), str):
            v = value(a.get("value"))
            if isinstance(v, float) and not math.isfinite(v):
                v = str(v)
            elif not isinstance(v, (str, int, float)):
                v = json.dumps(v)
            out[a["key"]] = v
    return out


def nano(x):
    try:
        return min(max(int(x), 0), (1 << 63) - 1)
    except (TypeError, ValueError, OverflowError):
        return 0


class Strings:
    """A table of distinct strings: the page refers to them by index."""
    def __init__(self):
        self.list, self.idx = [], {}

    def __call__(self, s):
        s = s if isinstance(s, str) else json.dumps(s)
        i = self.idx.get(s)
        if i is None:
            i = self.idx[s] = len(self.list)
            self.list.append(s)
        return i


def clean(s):
    """A span with the fields the report uses, of the types it expects; None if it has no ids."""
    if not isinstance(s, dict) or not isinstance(s.get("traceId"), str) or not isinstance(s.get("spanId"), str):
        return None
    status = s.get("status")
    events = s.get("events")
    parent = s.get("parentSpanId")
    kind = s.get("kind")
    return {"traceId": s["traceId"][:64], "spanId": s["spanId"][:32],
            "parentSpanId": parent[:32] if isinstance(parent, str) else "",
            "name": str(s.get("name", ""))[:500], "kind": kind if isinstance(kind, int) else 0,
            "startTimeUnixNano": nano(s.get("startTimeUnixNano")), "endTimeUnixNano": nano(s.get("endTimeUnixNano")),
            "status": {"code": status.get("code")} if isinstance(status, dict) else {},
            "events": [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []}


def load_spans(d, stats):
    """Every span of every traces file: (proc index, span dict, attrs); and the processes."""
    procs, pkey, spans = [], {}, []
    for path in sorted(glob.glob(os.path.join(d, "*.traces.jsonl"))):
        try:
            f = open(path, "rb")
        except OSError as e:
            warn(f"cannot read {path}: {e.strerror}")
            stats["unreadable"] += 1
            continue
        with f:
            for raw in iter(lambda: f.readline(MAX_LINE), b""):
                try:
                    req = json.loads(raw)
                    rss = req["resourceSpans"]
                except (ValueError, KeyError, TypeError, RecursionError):
                    stats["bad_lines"] += 1
                    continue
                for rs in rss if isinstance(rss, list) else []:
                    try:
                        res = attrs_of(rs.get("resource", {}).get("attributes"))
                        svc = str(res.get("service.name", "") or "unknown_service")
                        exe = str(res.get("process.executable.name", "") or "?")
                        if svc.startswith("unknown_service:"):
                            svc = svc.split(":", 1)[1] or exe
                        pid = res.get("process.pid", 0)
                        pid = pid if isinstance(pid, int) else 0
                        key = (svc, pid, str(res.get("service.instance.id", "")))
                        p = pkey.get(key)
                        if p is None:
                            p = pkey[key] = len(procs)
                            procs.append({"svc": svc, "exe": exe, "pid": pid})
                        for ss in rs.get("scopeSpans", []):
                            for s in ss.get("spans", []):
                                c = clean(s)
                                if c:
                                    spans.append((p, c, attrs_of(s.get("attributes"))))
                                else:
                                    stats["bad_spans"] += 1
                    except (AttributeError, TypeError):
                        stats["bad_spans"] += 1
    return procs, spans


def pct(sorted_vals, q):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return 0
    k = max(0, min(len(sorted_vals) - 1, -(-q * len(sorted_vals) // 100) - 1))
    return sorted_vals[k]


def conn_span(item):
    _, s, a = item
    return "http.request.method" not in a and s["name"].startswith(("accept ", "connect "))


def build(d, stats):
    procs, raw = load_spans(d, stats)
    t0 = min((nano(s.get("startTimeUnixNano")) for _, s, _ in raw), default=0)
    # Traces, each in depth-first order (children by start time): the page shows a trace as a
    # contiguous range of rows without sorting anything.
    by_trace = collections.defaultdict(list)
    for i, (_, s, _) in enumerate(raw):
        by_trace[s["traceId"]].append(i)
    order, depth, parent_of, traces = [], [], {}, []
    for tid, members in by_trace.items():
        ids = {raw[i][1]["spanId"]: i for i in members}
        kids = collections.defaultdict(list)
        for i in members:
            p = raw[i][1].get("parentSpanId") or ""
            pi = ids.get(p)
            kids[pi if pi is not None and pi != i else -1].append(i)
        for k in kids.values():
            k.sort(key=lambda i: nano(raw[i][1].get("startTimeUnixNano")))
        off = len(order)
        stack = [(i, 0, -1) for i in reversed(kids[-1])]
        seen = set()
        while stack:
            i, dep, par = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            parent_of[i] = par
            order.append(i)
            depth.append(dep)
            stack.extend((c, dep + 1, i) for c in reversed(kids.get(i, [])))
        for i in members:  # spans in a parent cycle: shown as roots, not lost
            if i not in seen:
                seen.add(i)
                parent_of[i] = -1
                order.append(i)
                depth.append(0)
        traces.append((off, len(order) - off))
    pos = {i: n for n, i in enumerate(order)}
    n = len(order)
    col = {k: [0] * n for k in ("tr", "par", "proc", "name", "kind", "st", "du", "err", "code",
                               "dep", "q", "ep")}
    names = Strings()
    for t, (off, cnt) in enumerate(traces):
        for r in range(off, off + cnt):
            i = order[r]
            p, s, a = raw[i]
            st, en = nano(s.get("startTimeUnixNano")), nano(s.get("endTimeUnixNano"))
            col["tr"][r] = t
            col["par"][r] = pos[parent_of[i]] if parent_of[i] >= 0 else -1
            col["proc"][r] = p
            col["name"][r] = names(str(s.get("name", "")))
            col["kind"][r] = s.get("kind", 0) if isinstance(s.get("kind"), int) else 0
            col["st"][r] = (st - t0) // 1000
            col["du"][r] = max(0, en - st) // 1000
            status = s.get("status") or {}
            col["err"][r] = 1 if isinstance(status, dict) and status.get("code") == 2 else 0
            c = a.get("http.response.status_code", 0)
            col["code"][r] = c if isinstance(c, int) else 0
            col["dep"][r] = depth[r]
            col["ep"][r] = -1
    rows = [(order[r], r) for r in range(n)]
    queued(raw, rows, col, pos)
    eps = endpoints(raw, rows, col, procs)
    # A trace of TCP connection spans only (a connection is a trace of its own unless a request
    # context was active): the page lists these only on request.
    tr = [[off, cnt, int(all(conn_span(raw[order[r]]) for r in range(off, off + cnt)))] for off, cnt in traces]
    return {"t0": t0, "procs": procs, "names": names.list, "spans": col, "traces": tr,
            "endpoints": eps}, raw, order


def queued(raw, rows, col, pos):
    """Time a server span's request waited before its first byte was read: since the calling
    CLIENT span began (same host, same clock), else since its connection was accepted when it
    was the connection's first request."""
    conns = collections.defaultdict(list)
    for i, r in rows:
        p, s, a = raw[i]
        if col["kind"][r] == 2 and "http.request.method" not in a and "client.port" in a:
            conns[(p, a.get("client.address"), a.get("client.port"))].append(r)
    first = {}
    for i, r in sorted(rows, key=lambda x: col["st"][x[1]]):
        p, s, a = raw[i]
        if col["kind"][r] != 2 or "http.request.method" not in a:
            continue
        par = col["par"][r]
        if par >= 0 and col["kind"][par] == 3 and col["proc"][par] != p:
            col["q"][r] = max(0, col["st"][r] - col["st"][par])
            continue
        for c in conns.get((p, a.get("client.address"), a.get("client.port")), []):
            if col["st"][c] <= col["st"][r] <= col["st"][c] + col["du"][c] and c not in first:
                first[c] = r
                col["q"][r] = col["st"][r] - col["st"][c]


def endpoints(raw, rows, col, procs):
    """HTTP spans by service, kind and name: count, errors, latency percentiles, slowest spans."""
    groups = collections.defaultdict(list)
    for i, r in rows:
        if "http.request.method" in raw[i][2]:
            groups[(procs[col["proc"][r]]["svc"], col["kind"][r], raw[i][1].get("name", ""))].append(r)
    out = []
    for (svc, kind, name), rs in sorted(groups.items(), key=lambda g: (g[0][1] != 2, g[0][1], -len(g[1]))):
        durs = sorted(col["du"][r] for r in rs)
        slow = sorted(rs, key=lambda r: -col["du"][r])[:50]
        e = len(out)
        for r in rs:
            col["ep"][r] = e
        out.append({"svc": svc, "kind": KINDS.get(kind, str(kind)), "name": str(name), "n": len(rs),
                    "err": sum(col["err"][r] for r in rs), "p50": pct(durs, 50),
                    "p95": pct(durs, 95), "p99": pct(durs, 99), "max": durs[-1], "slow": slow})
    return out


def details(raw, order):
    """Per span, its ids and attributes, parsed by the page only when a span is opened."""
    strs = Strings()
    out = []
    for i in order:
        p, s, a = raw[i]
        flat = []
        for k, v in a.items():
            flat += [strs(k), strs(v if isinstance(v, str) else json.dumps(v))]
        ev = [[strs(str(e.get("name", ""))), (nano(e.get("timeUnixNano")))] for e in s.get("events", [])
              if isinstance(e, dict)]
        out.append([s["traceId"], s["spanId"], s.get("parentSpanId", ""), flat, ev])
    return {"strings": strs.list, "spans": out}


def profiles(d, stats, data, raw, order):
    """Samples of every profile file, their stacks deduplicated, tied to threads and spans."""
    # A profile file is named <executable>.<pid>...: its process is the one of that executable and
    # pid (a pid stays across exec), else of that pid.
    pid_proc, exe_pid_proc = {}, {}
    for k, p in enumerate(data["procs"]):
        pid_proc.setdefault(p["pid"], k)
        exe_pid_proc.setdefault((p["exe"], p["pid"]), k)
    span_row = {}
    for r, i in enumerate(order):
        span_row.setdefault(raw[i][1]["spanId"], r)
    frames, stacks, stack_idx, threads, thread_idx = Strings(), [], {}, [], {}
    kinds = Strings()
    cols = {k: [] for k in ("stk", "th", "sp", "cpu", "wt", "wk", "n")}
    spans = data["spans"]
    cpu_of, wait_of = collections.Counter(), collections.Counter()
    pat = re.compile(r"^(.*)\.(\d+)(?:-\d+)?\.\d+\.pb\.gz$")
    for path in sorted(glob.glob(os.path.join(d, "*.pb.gz"))):
        m = pat.match(os.path.basename(path))
        pid = int(m.group(2)) if m else 0
        proc = exe_pid_proc.get((m.group(1) if m else "", pid), pid_proc.get(pid))
        if proc is None:  # a process that wrote profiles and no span: a process of its own
            proc = pid_proc[pid] = len(data["procs"])
            data["procs"].append({"svc": m.group(1) if m else "?", "exe": m.group(1) if m else "?",
                                  "pid": pid})
        try:
            _, samples = report_pprof.read(path)
        except (OSError, ValueError) as e:
            warn(f"skipped profile {path}: {e}")
            stats["bad_profiles"] += 1
            continue
        for stack, vals, labels in samples:
            key = tuple(frames(f) for f in stack)
            si = stack_idx.get(key)
            if si is None:
                si = stack_idx[key] = len(stacks)
                stacks.append(list(key))
            tk = (proc, labels.get("thread.id", 0))
            ti = thread_idx.get(tk)
            if ti is None:
                ti = thread_idx[tk] = len(threads)
                threads.append([proc, tk[1], str(labels.get("thread.name", ""))])
            sp = span_row.get(labels.get("span_id"), -1)
            cpu, wt = max(0, vals.get("cpu", 0)) // 1000, max(0, vals.get("wait", 0)) // 1000
            cols["stk"].append(si)
            cols["th"].append(ti)
            cols["sp"].append(sp)
            cols["cpu"].append(cpu)
            cols["wt"].append(wt)
            cols["wk"].append(kinds(str(labels.get("wait.kind", ""))) if wt else -1)
            cols["n"].append(max(0, vals.get("samples", 0)))
            if sp >= 0:
                cpu_of[sp] += cpu
                wait_of[sp] += wt
    spans["cpu"] = [cpu_of.get(r, 0) for r in range(len(order))]
    spans["wt"] = [wait_of.get(r, 0) for r in range(len(order))]
    return {"frames": frames.list, "stacks": stacks, "threads": threads, "kinds": kinds.list,
            "samples": cols}


def embed(obj):
    """JSON safe inside a <script> element."""
    return json.dumps(obj, separators=(",", ":")).replace("</", "<\\/").replace("<!--", "<\\!--")


def page(data, det, prof, title):
    with open(os.path.join(HERE, "report_page.css"), encoding="utf-8") as f:
        css = f.read()
    with open(os.path.join(HERE, "report_page.js"), encoding="utf-8") as f:
        js = f.read()
    esc = title.replace("&", "&amp;").replace("<", "&lt;")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            f"style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
            f"<title>{esc}</title>\n<style>{css}</style></head>\n<body>\n"
            f"<script type=\"application/json\" id=\"rs-data\">{embed(data)}</script>\n"
            f"<script type=\"application/json\" id=\"rs-prof\">{embed(prof)}</script>\n"
            f"<script type=\"application/json\" id=\"rs-detail\">{embed(det)}</script>\n"
            f"<script>{js}</script>\n</body></html>\n")


def summary(data, out, path):
    """A few lines for the terminal: endpoints with counts, errors and latencies."""
    ms = lambda us: f"{us / 1000:.1f}"  # noqa: E731
    eps = data["endpoints"]
    if eps:
        print(f"{'endpoint':<44} {'count':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}", file=out)
        for e in eps[:12]:
            label = f"{e['svc']} {e['kind']} {e['name']}"[:44]
            print(f"{label:<44} {e['n']:>6} {e['err']:>6} {ms(e['p50']):>8} {ms(e['p95']):>8} {ms(e['p99']):>8}",
                  file=out)
        if len(eps) > 12:
            print(f"... and {len(eps) - 12} more endpoints in the report", file=out)
    else:
        print("no HTTP requests were recorded", file=out)
    errs = sum(data["spans"]["err"])
    print(f"{len(data['spans']['tr'])} spans in {len(data['traces'])} traces, {errs} with errors", file=out)
    print(f"report: {path}", file=out)


def has_output(d):
    return bool(glob.glob(os.path.join(d, "*.traces.jsonl")) or glob.glob(os.path.join(d, "*.pb.gz")))


def main(argv):
    args, out_path, want_summary = [], None, False
    it = iter(argv)
    for a in it:
        if a == "-o":
            out_path = next(it, None)
            if not out_path:
                warn("-o needs a file")
                return 2
        elif a == "--summary":
            want_summary = True
        elif a.startswith("-"):
            print(__doc__, file=sys.stderr)
            return 2
        else:
            args.append(a)
    if len(args) > 1:
        print(__doc__, file=sys.stderr)
        return 2
    d = args[0] if args else os.environ.get("RINGSIDE_OUTPUT_DIR", "/tmp/ringside")
    if not os.path.isdir(d):
        warn(f"{d} is not a directory")
        return 1
    if not args and not has_output(d):
        # `ringside run` writes into /tmp/ringside/run-<time>-<pid>: the newest run, then.
        runs = [r for r in glob.glob(os.path.join(d, "run-*")) if os.path.isdir(r) and has_output(r)]
        if runs:
            d = max(runs, key=os.path.getmtime)
    stats = collections.Counter()
    data, raw, order = build(d, stats)
    if not raw and not has_output(d):
        warn(f"no spans or profiles in {d}")
        return 1
    prof = profiles(d, stats, data, raw, order)
    det = details(raw, order)
    data["dir"] = os.path.abspath(d)
    data["dropped"] = dict(stats)
    for what, n in sorted(stats.items()):
        if what != "unreadable":
            warn(f"{n} {what.replace('_', ' ')} skipped")
    path = out_path or os.path.join(d, "report.html")
    html = page(data, det, prof, f"ringside report: {os.path.abspath(d)}")
    tmp = path + ".tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(html)
        os.replace(tmp, path)
    except OSError as e:
        warn(f"cannot write {path}: {e.strerror} (-o FILE writes it elsewhere)")
        return 1
    if want_summary:
        summary(data, sys.stderr, os.path.abspath(path))
    else:
        print(os.path.abspath(path))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
