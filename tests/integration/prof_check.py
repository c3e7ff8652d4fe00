#!/usr/bin/env python3
"""Checks ringside's pprof files as read back by the real pprof tool (`go tool pprof -traces`).

    prof_check.py cpu TRACES TRUTH    the prof_cpu program: split, per-thread shares, whole stacks
    prof_check.py wait TRACES TRUTH   the prof_mutex program: where the waits are, and how long
    prof_check.py spans TRACES TRUTH SPANS  burn_server.py: CPU samples carry the served span

TRACES is pprof's -traces output, TRUTH the program's own measurement line. Exits 1 with the
reason on the first failed check."""
import json
import re
import sys

UNITS = {"ns": 1, "us": 1e3, "µs": 1e3, "ms": 1e6, "s": 1e9, "min": 60e9, "hrs": 3600e9}


def duration_ns(text):
    m = re.fullmatch(r"([0-9.]+)(ns|us|µs|ms|s|min|hrs)", text)
    if not m:
        raise ValueError("not a duration: " + text)
    return float(m.group(1)) * UNITS[m.group(2)]


def parse(path):
    """Samples as dicts: labels {key: value}, value (ns), frames (leaf first)."""
    samples, cur = [], None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("-----------+"):
            if cur and cur["frames"]:
                samples.append(cur)
            cur = {"labels": {}, "value": 0.0, "frames": []}
            continue
        if cur is None or not line.strip():
            continue
        m = re.fullmatch(r"\s*([\w.]+):\s+(.*)", line)
        if m and not cur["frames"]:
            cur["labels"][m.group(1)] = m.group(2).strip()
            continue
        m = re.fullmatch(r"\s+([0-9.]+(?:ns|us|µs|ms|s|min|hrs))\s+(.*)", line)
        if m and not cur["frames"]:
            cur["value"] = duration_ns(m.group(1))
            cur["frames"].append(m.group(2).strip())
        else:
            cur["frames"].append(line.strip())
    if cur and cur["frames"]:
        samples.append(cur)
    return samples


def truth(path):
    line = open(path, encoding="utf-8").read().split("\n")[0]
    return {k: float(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def need(cond, what):
    if not cond:
        print("FAIL: " + what)
        sys.exit(1)


def close(measured, true, tol, what):
    print("%s: profile %.3f, truth %.3f" % (what, measured, true))
    need(abs(measured - true) <= tol, "%s differs from the truth by more than %g" % (what, tol))


def check_cpu(samples, t):
    need(samples, "no CPU samples")
    total = sum(s["value"] for s in samples)
    a = sum(s["value"] for s in samples if "burn_a" in s["frames"])
    b = sum(s["value"] for s in samples if "burn_b" in s["frames"])
    need(a + b > 0, "no sample in burn_a or burn_b")
    close(a / (a + b), t["burn_a"] / (t["burn_a"] + t["burn_b"]), 0.1, "burn_a's share of burn_a+burn_b")
    by_thread = {}
    ids = {}
    for s in samples:
        name = s["labels"].get("thread.name", "?")
        by_thread[name] = by_thread.get(name, 0) + s["value"]
        ids.setdefault(name, set()).add(s["labels"].get("thread.id"))
    true_total = t["burner"] + t["sleeper"] + t["main"]
    close(by_thread.get("burner", 0) / total, t["burner"] / true_total, 0.1, "burner's share")
    close(by_thread.get("sleeper", 0) / total, t["sleeper"] / true_total, 0.1, "sleeper's share")
    need(len(ids.get("burner", ())) == 1 and None not in ids["burner"],
         "the burner's samples do not carry one thread.id: %s" % ids.get("burner"))
    # Whole stacks: below the leaf function, the thread's start routine.
    burner = [s for s in samples if s["labels"].get("thread.name") == "burner"]
    whole = sum(s["value"] for s in burner
                if s["frames"][0] in ("burn_a", "burn_b") or s["frames"][1:2] in (["burn_a"], ["burn_b"]))
    whole = sum(s["value"] for s in burner if "burner_main" in s["frames"] and
                s["frames"].index("burner_main") > max((s["frames"].index(f) for f in ("burn_a", "burn_b") if f in s["frames"]), default=-1))
    close(whole / sum(s["value"] for s in burner), 1.0, 0.1, "burner samples whose stack reaches burner_main")


def check_wait(samples, t):
    need(samples, "no wait samples")
    # ASan's interceptor stands in for libc's function when the test program is sanitized.
    lock = ("pthread_mutex_lock", "__interceptor_pthread_mutex_lock")
    at_site = [s for s in samples if s["frames"][:1] and s["frames"][0] in lock and s["frames"][1:2] == ["take_contended"]]
    need(at_site, "no wait sample at take_contended's pthread_mutex_lock: %s" % [s["frames"][:3] for s in samples])
    need(all(s["labels"].get("wait.kind") == "mutex" for s in at_site), "wait.kind is not mutex")
    need(not [s for s in samples if "take_free" in s["frames"]], "a wait recorded at the uncontended lock")
    waited = sum(s["value"] for s in at_site)
    true = t["take_contended"]
    print("time waited at take_contended: profile %.1f ms, truth %.1f ms" % (waited / 1e6, true / 1e6))
    need(abs(waited - true) <= 0.2 * true, "time waited differs from the truth by more than 20%")
    need(all("waiter_main" in s["frames"] for s in at_site), "wait stacks do not reach waiter_main")


def check_spans(samples, truth_path, spans_path):
    """Each request's CPU (burn_server.py's TRUTH lines) against the samples labelled with its
    server span (otlp_check.py dump lines, matched by url.path)."""
    spans = [json.loads(l) for l in open(spans_path, encoding="utf-8")]
    need(len(spans) == 3, "expected 3 server spans, got %d" % len(spans))
    by_path = {s["attrs"].get("url.path", ""): s for s in spans}
    labelled = {}
    for s in samples:
        sid = s["labels"].get("span_id")
        if sid:
            labelled.setdefault(sid, []).append(s)
    known = {s["span"] for s in spans}
    need(set(labelled) <= known, "samples carry span ids of no server span: %s" % (set(labelled) - known))
    for line in open(truth_path, encoding="utf-8"):
        path, used = line.split()
        span = by_path.get(path.split("?", 1)[0])
        need(span, "no server span for %s (spans: %s)" % (path, sorted(by_path)))
        mine = labelled.get(span["span"], [])
        need(all(s["labels"].get("trace_id") == span["trace"] for s in mine),
             "a sample of span %s carries another trace id" % span["span"])
        close(sum(s["value"] for s in mine) / float(used), 1.0, 0.25, "CPU labelled with " + path)


def main():
    kind = sys.argv[1]
    samples = parse(sys.argv[2])
    if kind == "spans":
        check_spans(samples, sys.argv[3], sys.argv[4])
    else:
        {"cpu": check_cpu, "wait": check_wait}[kind](samples, truth(sys.argv[3]))
    print("ok")


if __name__ == "__main__":
    main()
