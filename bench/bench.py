#!/usr/bin/env python3
"""The measurements of scripts/bench (issue 6): each section runs the bare program and the same
program under the shim alternately, round after round, and keeps the median of the per-round
ratios or differences, so slow drift of a shared machine falls on both sides alike. Writes the
raw rounds and the figures to a JSON file; bench/report.py turns that into docs/benchmarks.md."""
import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse

from benchlib import (Sink, children, cpu_s, free_port, log, losses, machine, median,
                      path_delta, rss_kb, wait_port)

SECTIONS = ["hooks", "nginx", "reporter", "startup", "profiler", "memory", "node"]
# The gRPC variants (to bench/grpc_sink) and the path their spans arrive on.
GRPC = {"shim-skywalking": "/skywalking.v3.TraceSegmentReportService/collect",
        "shim-otlp-grpc": "/opentelemetry.proto.collector.trace.v1.TraceService/Export"}


class Bench:
    def __init__(self, args):
        self.a = args
        self.root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
        self.build = os.path.abspath(args.build)
        self.shim = os.path.join(self.build, "libringside.so")
        self.progs = os.path.join(self.build, "bench")
        self.idle = os.path.join(self.progs, "libidle_thread.so")  # the idle-thread variant
        self.work = tempfile.mkdtemp(prefix="ringside-bench.")
        os.chmod(self.work, 0o755)
        self.outdir = os.path.join(self.work, "out")
        self.quick = args.quick
        self.rounds = args.rounds or (3 if self.quick else 5)
        self.sink = None      # bench/otlp_sink (OTLP/HTTP)
        self.sink_port = None
        self.grpc = None      # bench/grpc_sink (SkyWalking, OTLP/gRPC)
        self.grpc_ok = []     # the GRPC variants that deliver in this build
        self.grpc_notes = {}  # why the others are not measured

    # --- helpers ---------------------------------------------------------------------------
    def prog(self, name):
        return os.path.join(self.progs, name)

    def fresh_outdir(self):
        shutil.rmtree(self.outdir, ignore_errors=True)
        os.makedirs(self.outdir)
        os.chmod(self.outdir, 0o1777)  # nginx workers that drop privileges write here too

    def env(self, variant, **extra):
        """The environment of a variant: bare (no shim), idle-thread (bench/idle_thread.c
        preloaded, no shim: one thread that does nothing, the floor of any in-process agent), or
        the shim with an exporter."""
        e = dict(os.environ)
        for k in list(e):
            if re.match(r"(RINGSIDE|OTEL|SW)_", k) or k in ("LD_PRELOAD", "TRACEPARENT"):
                del e[k]
        if variant == "idle-thread":
            if not os.path.exists(self.idle):  # ld.so would only warn, and the run be bare
                raise RuntimeError(f"{self.idle} missing: build bench/ first (scripts/build)")
            e["LD_PRELOAD"] = self.idle
        elif variant != "bare":
            e["LD_PRELOAD"] = self.shim
            e["RINGSIDE_OUTPUT_DIR"] = self.outdir
            exp = {"shim-file": "file", "shim-otlp": "otlp", "shim-otlp-grpc": "otlp",
                   "shim-none": "none", "shim-skywalking": "skywalking"}.get(variant, "file")
            e["RINGSIDE_EXPORTER"] = exp
            if variant == "shim-otlp-grpc":
                e["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc"
                e["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{self.grpc.port}"
            elif exp == "otlp":
                e["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{self.sink_port}"
            if exp == "skywalking":
                e["SW_AGENT_PROTOCOL"] = "grpc"
                e["SW_AGENT_COLLECTOR_BACKEND_SERVICES"] = f"127.0.0.1:{self.grpc.port}"
        e.update({k: str(v) for k, v in extra.items()})
        return e

    def linked_env(self, variant, **extra):
        """For reporter_bench, which has the shim linked in: the variant's settings without
        LD_PRELOAD (a second copy of the shim in the process would be a different experiment)."""
        e = self.env(variant, **extra)
        del e["LD_PRELOAD"]
        return e

    def start_sinks(self):
        self.sink = Sink(self.prog("otlp_sink"))
        self.sink_port = self.sink.port
        try:
            self.grpc = Sink(self.prog("grpc_sink"))
        except (RuntimeError, OSError) as e:
            self.grpc_notes = {v: str(e) for v in GRPC}

    def stop_sinks(self):
        return {"otlp_sink": self.sink.stop() if self.sink else None,
                "grpc_sink": self.grpc.stop() if self.grpc else None}

    def check_grpc(self):
        """A gRPC variant is measured when it delivers in this build: a short reporter run to
        bench/grpc_sink, whose byte count on the variant's path must be what the shim says it
        delivered (the sink is checked against grpc-js and the shim by tests/integration/
        bench_grpc_sink.sh; the exporters' content against real decoders by t_export_*)."""
        for v, path in GRPC.items():
            if v in self.grpc_notes:
                continue
            env = self.linked_env(v, RINGSIDE_FLUSH_TIMEOUT_MS=5000, RINGSIDE_SELF_METRICS="false")
            c0 = self.grpc.counts()
            try:
                got, err = self.run_json([self.prog("reporter_bench"), "2000", "1024"], env, timeout=30)
                _, sink_bytes = path_delta(c0, self.grpc.counts(), path)
                ok = got["exported"] >= 2000 and sink_bytes == got["bytes"]
                if not ok and got["exported"] >= 2000:
                    err = f"grpc_sink got {sink_bytes} bytes, the shim says it delivered {got['bytes']}"
            except (RuntimeError, subprocess.SubprocessError, ValueError) as e:
                ok, err = False, str(e)
            if ok:
                self.grpc_ok.append(v)
                continue
            why = err.strip().splitlines()[0] if err.strip() else "no span delivered"
            why = re.sub(r"^ringside\[\d+\]: ", "", why)
            self.grpc_notes[v] = f"delivers nothing to bench/grpc_sink in this build: {why[:200]}"

    def run_json(self, cmd, env, timeout=300):
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"{cmd[0]} exited {r.returncode}: {r.stderr.strip()[:400]}")
        return json.loads(r.stdout.strip().splitlines()[-1]), r.stderr

    def wrk(self, url, seconds, conns=32):
        r = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", url],
                           capture_output=True, text=True, timeout=seconds + 60)
        rps = re.search(r"Requests/sec:\s+([\d.]+)", r.stdout)
        total = re.search(r"(\d+) requests in", r.stdout)
        p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", r.stdout, re.M)
        errs = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
        sock = re.search(r"Socket errors: (.*)", r.stdout)
        if not rps or not p99:
            raise RuntimeError(f"wrk output not understood: {r.stdout[-400:]} {r.stderr[-400:]}")
        scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
        return {"rps": float(rps.group(1)), "p99_ms": float(p99.group(1)) * scale,
                "requests": int(total.group(1)) if total else 0,
                "non2xx": int(errs.group(1)) if errs else 0,
                "socket_errors": sock.group(1) if sock else ""}

    def warm_up(self, url):
        """Starts the reporter and faults memory in before the timed run: wrk for a second, or
        with --quick 200 keep-alive requests. Returns the requests made (that wrk counted)."""
        if not self.quick:
            r = subprocess.run(["wrk", "-t1", "-c4", "-d1s", url], capture_output=True, text=True,
                               timeout=30)
            m = re.search(r"(\d+) requests in", r.stdout)
            return int(m.group(1)) if m else 0
        u = urllib.parse.urlsplit(url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        for _ in range(200):
            c.request("GET", u.path or "/")
            c.getresponse().read()
        c.close()
        return 200

    def rotated(self, variants, r):
        """The order of round r: rotated, so no variant always runs first or last."""
        k = r % len(variants)
        return variants[k:] + variants[:k]

    # --- 1: hook cost ----------------------------------------------------------------------
    def hooks(self):
        iters = 20000 if self.quick else 300000
        ab_iters = 40000 if self.quick else 400000
        res = {"iterations": iters, "ab_iterations": ab_iters, "modes": {}}
        for mode in ("unix", "tcp", "http"):
            rounds = []
            for r in range(self.rounds):
                got, ab = {}, {}
                for v in self.rotated(["bare", "shim-file"], r):
                    self.fresh_outdir()
                    got[v], _ = self.run_json([self.prog("hook_bench"), mode, str(iters)], self.env(v))
                    if mode != "http":  # side by side in one process: see hook_bench.c
                        ab[v], _ = self.run_json([self.prog("hook_bench"), mode, str(ab_iters), "ab"],
                                                 self.env(v))
                row = {"bare_ns": got["bare"]["ns_per_call"], "shim_ns": got["shim-file"]["ns_per_call"]}
                if ab:
                    # The bare process measures the two paths' own difference (the control).
                    row["ab_added_ns"] = ab["shim-file"]["added_ns"] - ab["bare"]["added_ns"]
                    row["ab_control_ns"] = ab["bare"]["added_ns"]
                rounds.append(row)
            m = {"rounds": rounds,
                 "added_ns": median([x["shim_ns"] - x["bare_ns"] for x in rounds]),
                 "ratio": median([x["shim_ns"] / x["bare_ns"] for x in rounds]),
                 "bare_ns": median([x["bare_ns"] for x in rounds]),
                 "ab_added_ns": median([x.get("ab_added_ns") for x in rounds])}
            m.update(self.callgrind(mode))
            res["modes"][mode] = m
            log(f"hooks {mode}: +{m['added_ns']:.1f} ns/call (side by side: {m['ab_added_ns']}), "
                f"+{m.get('added_instr')} instr/call")
        return res

    def callgrind(self, mode):
        """Instructions the main thread executes in bench_loop per call, bare and under the
        shim: deterministic where wall time is not. The shim uses poll() here (valgrind does not
        know io_uring); only the application thread is counted."""
        if not shutil.which("valgrind"):
            return {"added_instr": None, "callgrind": "valgrind not installed"}
        iters = 2000
        calls = 4 * (iters + iters // 10 + 1)  # the warm-up loop is counted too
        out = {}
        for v in ("bare", "shim-file"):
            d = tempfile.mkdtemp(dir=self.work)
            self.fresh_outdir()
            subprocess.run(["valgrind", "--tool=callgrind", "--separate-threads=yes",
                            "--collect-atstart=no", "--toggle-collect=bench_loop",
                            f"--callgrind-out-file={d}/cg", self.prog("hook_bench"), mode,
                            str(iters)], env=self.env(v, RINGSIDE_IO="poll"),
                           capture_output=True, timeout=300, check=True)
            with open(f"{d}/cg-01") as f:
                total = int(re.search(r"^totals: (\d+)", f.read(), re.M).group(1))
            out[v] = total / calls
        return {"bare_instr": round(out["bare"], 1), "shim_instr": round(out["shim-file"], 1),
                "added_instr": round(out["shim-file"] - out["bare"], 1)}

    # --- 2 and 6: nginx under wrk ----------------------------------------------------------
    def nginx_conf(self, port):
        d = os.path.join(self.work, "nginx")
        os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
        site = os.path.join(d, "site")
        os.makedirs(site, exist_ok=True)
        with open(os.path.join(site, "index.html"), "w") as f:
            f.write("<!DOCTYPE html><html><body>" + "ringside benchmark page. " * 22 +
                    "</body></html>\n")
        os.chmod(d, 0o755)
        conf = os.path.join(d, "nginx.conf")
        t = os.path.join(d, "tmp")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 1024; }}
http {{
	access_log off;
	keepalive_requests 1000000;
	client_body_temp_path {t}/body; proxy_temp_path {t}/proxy; fastcgi_temp_path {t}/fastcgi;
	uwsgi_temp_path {t}/uwsgi; scgi_temp_path {t}/scgi;
	server {{ listen 127.0.0.1:{port}; root {site}; }}
}}
""")
        return conf, d

    def nginx_run(self, variant, seconds, env_extra=None):
        port = free_port()
        conf, d = self.nginx_conf(port)
        self.fresh_outdir()
        env = self.env(variant, **(env_extra or {}))
        c0 = self.grpc.counts() if variant in GRPC else None
        p = subprocess.Popen(["nginx", "-e", f"{d}/error.log", "-c", conf, "-g", "daemon off;"],
                             env=env, stderr=subprocess.PIPE, text=True)
        try:
            wait_port(port, p)
            url = f"http://127.0.0.1:{port}/index.html"
            warm = self.warm_up(url)
            time.sleep(0.5)
            idle = rss_kb(children(p.pid))
            samples = []
            w = {}

            def sample_while(proc_seconds):
                end = time.monotonic() + proc_seconds
                while time.monotonic() < end:
                    samples.append(rss_kb(children(p.pid)))
                    time.sleep(0.25)
            th = threading.Thread(target=sample_while, args=(seconds - 0.5,))
            th.start()
            t0 = cpu_s(children(p.pid))
            w = self.wrk(url, seconds)
            w["cpu_us_per_req"] = (cpu_s(children(p.pid)) - t0) * 1e6 / max(w["requests"], 1)
            w["served"] = warm + w["requests"]  # that the clients counted
            th.join()
            w["rss_idle_kb"] = idle
            w["rss_load_kb"] = max(samples) if samples else None
        finally:
            p.send_signal(signal.SIGQUIT)
            try:
                _, err = p.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
        try:
            with open(f"{d}/error.log") as fh:
                err += fh.read()  # nginx hands its stderr to the error log
            os.unlink(f"{d}/error.log")
        except OSError:
            pass
        w["spans_lost"], _ = losses(err)
        w["stderr"] = err.strip()[-300:]
        if c0 is not None:  # what grpc_sink got from this nginx: one message per SkyWalking segment
            w["sink_messages"], w["sink_bytes"] = path_delta(c0, self.grpc.counts(), GRPC[variant])
        return w

    def nginx(self):
        seconds = 2 if self.quick else 10
        variants = ["bare", "idle-thread", "shim-file", "shim-otlp"] + self.grpc_ok
        rounds = []
        for r in range(self.rounds):
            got = {}
            for v in self.rotated(variants, r):
                got[v] = self.nginx_run(v, seconds)
            rounds.append(got)
            log("nginx round %d: %s" % (r + 1, ", ".join(
                f"{v} {got[v]['rps']:.0f}/s p99 {got[v]['p99_ms']:.2f} ms" for v in variants)))
        page = os.path.getsize(os.path.join(self.work, "nginx", "site", "index.html"))
        res = {"seconds": seconds, "page_bytes": page, "rounds": rounds, "variants": {},
               "not_measured": self.grpc_notes}
        for v in variants:
            res["variants"][v] = {
                "rps": median([x[v]["rps"] for x in rounds]),
                "p99_ms": median([x[v]["p99_ms"] for x in rounds]),
                "rps_ratio": median([x[v]["rps"] / x["bare"]["rps"] for x in rounds]),
                "p99_ratio": median([x[v]["p99_ms"] / x["bare"]["p99_ms"] for x in rounds]),
                "rss_idle_added_kb": median([x[v]["rss_idle_kb"] - x["bare"]["rss_idle_kb"]
                                             for x in rounds]),
                "rss_load_added_kb": median([x[v]["rss_load_kb"] - x["bare"]["rss_load_kb"]
                                             for x in rounds]),
                "rss_load_kb": median([x[v]["rss_load_kb"] for x in rounds]),
                "spans_lost": max(x[v]["spans_lost"] for x in rounds),
                "cpu_us_per_req": median([x[v]["cpu_us_per_req"] for x in rounds]),
                "cpu_ratio": median([x[v]["cpu_us_per_req"] / x["bare"]["cpu_us_per_req"]
                                     for x in rounds]),
            }
            if v in GRPC:  # the worst run's spans: served, delivered (grpc_sink), lost (the shim)
                worst = min(rounds, key=lambda x: x[v]["sink_messages"] - x[v]["served"])[v]
                res["variants"][v].update({k: worst[k] for k in ("served", "sink_messages", "sink_bytes")})
        return res

    # --- 3: the reporter alone ---------------------------------------------------------------
    def reporter(self):
        n = 200000 if self.quick else 1000000
        variants = {  # name: (the variant whose exporter it is, settings on top)
            "file (OTLP/JSON lines)": ("shim-file", {}),
            "otlp http/protobuf": ("shim-otlp", {}),
            "otlp http/protobuf gzip": ("shim-otlp", {"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}),
            "otlp http/json": ("shim-otlp", {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}),
        }
        for name, v in (("otlp grpc", "shim-otlp-grpc"), ("skywalking grpc", "shim-skywalking")):
            if v in self.grpc_ok:
                variants[name] = (v, {})
        names = list(variants)
        rounds = []
        for r in range(self.rounds):
            got = {}
            for v in self.rotated(names, r):
                self.fresh_outdir()
                base, extra = variants[v]
                env = self.linked_env(base, OTEL_BSP_MAX_QUEUE_SIZE=65536, RINGSIDE_QUEUE_MB=256,
                                      RINGSIDE_FLUSH_TIMEOUT_MS=30000, RINGSIDE_SELF_METRICS="false",
                                      **extra)
                c0 = self.grpc.counts() if base in GRPC else None
                got[v], _ = self.run_json([self.prog("reporter_bench"), str(n), "16384"], env)
                if c0 is not None:  # what grpc_sink received, against what the shim delivered
                    _, got[v]["sink_bytes"] = path_delta(c0, self.grpc.counts(), GRPC[base])
            rounds.append(got)
        res = {"spans": n, "rounds": rounds, "variants": {}, "not_measured": self.grpc_notes}
        for v in names:
            res["variants"][v] = {
                "spans_per_cpu_s": median([x[v]["spans_per_cpu_s"] for x in rounds]),
                "spans_per_side_cpu_s": median([x[v]["spans_per_side_cpu_s"] for x in rounds]),
                "spans_per_wall_s": median([x[v]["spans_per_wall_s"] for x in rounds]),
                "bytes_per_span": median([x[v]["bytes_per_span"] for x in rounds]),
                "lost": max(x[v]["dropped_queue_full"] + x[v]["dropped_ring_full"] for x in rounds),
            }
            if "sink_bytes" in rounds[0][v]:  # every byte the shim says it delivered arrived
                res["variants"][v]["sink_bytes_match"] = all(
                    x[v]["sink_bytes"] == x[v]["bytes"] for x in rounds)
            log(f"reporter {v}: {res['variants'][v]['spans_per_cpu_s']:.0f} spans/CPU-s "
                f"({res['variants'][v]['spans_per_side_cpu_s']:.0f} with io workers), "
                f"{res['variants'][v]['bytes_per_span']:.0f} B/span")
        return res

    # --- 4: start-up and exit flush ----------------------------------------------------------
    def timed(self, cmd, env):
        t0 = time.perf_counter_ns()
        pid = os.posix_spawn(cmd[0], cmd, env, file_actions=[
            (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
        _, st = os.waitpid(pid, 0)
        t1 = time.perf_counter_ns()
        if st != 0:
            raise RuntimeError(f"{cmd} failed: status {st}")
        return (t1 - t0) / 1e6

    def startup(self):
        runs = 100 if self.quick else 500
        true = "/bin/true" if os.path.exists("/bin/true") else shutil.which("true")
        one = [self.prog("hook_bench"), "tcp", "1"]  # one connection span, then exit
        self.fresh_outdir()
        cases = {
            "true": ([true], ["bare", "shim-file"]),
            "one span, file": (one, ["bare", "shim-file"]),
            "one span, otlp": (one, ["bare", "shim-otlp"]),
        }
        res = {"runs": runs, "cases": {}}
        for name, (cmd, vs) in cases.items():
            envs = {v: self.env(v) for v in vs}
            diffs, times = [], {v: [] for v in vs}
            for i in range(runs):
                pair = {}
                for v in (vs if i % 2 == 0 else vs[::-1]):
                    pair[v] = self.timed(cmd, envs[v])
                    times[v].append(pair[v])
                diffs.append(pair[vs[1]] - pair[vs[0]])
            res["cases"][name] = {"bare_ms": median(times[vs[0]]), "shim_ms": median(times[vs[1]]),
                                  "added_ms": median(diffs)}
            log(f"startup {name}: +{res['cases'][name]['added_ms']:.3f} ms")
            self.fresh_outdir()
        base = res["cases"]["true"]["added_ms"]
        for name in ("one span, file", "one span, otlp"):
            res["cases"][name]["flush_ms_est"] = res["cases"][name]["added_ms"] - base
        return res

    # --- 5: the profiler ---------------------------------------------------------------------
    def profiler(self):
        iters = 150000000 if self.quick else 600000000  # about 0.45 s and 2 s of CPU
        variants = {"bare": {}, "shim, no profile": {}}
        for hz in (49, 99, 999):
            variants[f"cpu {hz} Hz"] = {"RINGSIDE_PROFILE": "cpu", "RINGSIDE_PROFILE_HZ": hz}
        names = list(variants)
        rounds = []
        for r in range(self.rounds):
            got = {}
            for v in self.rotated(names, r):
                self.fresh_outdir()
                env = self.env("bare" if v == "bare" else "shim-file", RINGSIDE_LOG_LEVEL="info",
                               **variants[v])
                got[v], err = self.run_json([self.prog("cpu_burn"), str(iters)], env)
                m = re.search(r"profiler: (\d+) samples taken", err)
                got[v]["samples"] = int(m.group(1)) if m else 0
            rounds.append(got)
        res = {"iterations": iters, "rounds": rounds, "variants": {}}
        for v in names:
            res["variants"][v] = {
                "cpu_s": median([x[v]["cpu_s"] for x in rounds]),
                "ratio": median([x[v]["cpu_s"] / x["bare"]["cpu_s"] for x in rounds]),
                "samples_per_cpu_s": median([x[v]["samples"] / x[v]["cpu_s"] for x in rounds]),
            }
            log(f"profiler {v}: x{res['variants'][v]['ratio']:.4f}, "
                f"{res['variants'][v]['samples_per_cpu_s']:.0f} samples per CPU second")
        return res

    # --- 6: the queue bound with the collector away -------------------------------------------
    def memory(self):
        mb = 1
        dead = free_port()  # nothing listens there: every export is refused and retried
        counts = [100000, 400000] if self.quick else [200000, 1600000]
        res = {"queue_mb": mb, "runs": {}}
        for n in counts:
            rows = []
            for r in range(self.rounds):
                got = {}
                for v in self.rotated(["none", "down"], r):
                    self.fresh_outdir()
                    extra = {"RINGSIDE_EXPORTER": "none"} if v == "none" else {
                        "RINGSIDE_EXPORTER": "otlp", "RINGSIDE_QUEUE_MB": mb,
                        "OTEL_BSP_MAX_QUEUE_SIZE": 10000000,
                        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{dead}"}
                    env = self.linked_env("shim-file", RINGSIDE_FLUSH_TIMEOUT_MS=100,
                                   RINGSIDE_SELF_METRICS="false", **extra)
                    got[v], _ = self.run_json([self.prog("reporter_bench"), str(n), "0"], env)
                rows.append(got)
            res["runs"][str(n)] = {
                "added_kb": median([x["down"]["rss_max_kb"] - x["none"]["rss_max_kb"] for x in rows]),
                "dropped_queue_full": median([x["down"]["dropped_queue_full"] for x in rows]),
                "rounds": rows,
            }
            log(f"memory, collector away, {n} spans: +{res['runs'][str(n)]['added_kb']} KiB")
        a, b = (res["runs"][str(n)]["added_kb"] for n in counts)
        res["growth_kb"] = b - a
        return res

    # --- 7: Node.js, bare, with an idle thread, with OpenTelemetry's SDK, and under the shim ----
    def node_run(self, variant, seconds):
        d = os.path.join(self.root, "bench", "node")
        if variant == "otel-sdk":
            env = self.env("bare", BENCH_OTEL=1,
                           OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{self.sink_port}")
        else:
            env = self.env(variant)
        p = subprocess.Popen(["node", os.path.join(d, "server.js"), "0"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=d)
        try:
            port = int(p.stdout.readline())
            self.warm_up(f"http://127.0.0.1:{port}/")
            c0 = cpu_s([p.pid])
            w = self.wrk(f"http://127.0.0.1:{port}/", seconds)
            w["cpu_us_per_req"] = (cpu_s([p.pid]) - c0) * 1e6 / max(w["requests"], 1)
        finally:
            p.send_signal(signal.SIGTERM)
            try:
                _, err = p.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
        w["spans_lost"], _ = losses(err)
        w["stderr"] = err.strip()[-300:]
        return w

    def node(self):
        if not os.path.isdir(os.path.join(self.root, "bench", "node", "node_modules")):
            return {"skipped": "bench/node/node_modules missing (scripts/bench installs it)"}
        seconds = 2 if self.quick else 10
        variants = ["bare", "idle-thread", "otel-sdk", "shim-otlp"]
        rounds = []
        for r in range(self.rounds):
            got = {}
            for v in self.rotated(variants, r):
                got[v] = self.node_run(v, seconds)
            rounds.append(got)
            log("node round %d: %s" % (r + 1, ", ".join(
                f"{v} {got[v]['rps']:.0f}/s p99 {got[v]['p99_ms']:.2f} ms" for v in variants)))
        res = {"seconds": seconds, "rounds": rounds, "variants": {}}
        for v in variants:
            res["variants"][v] = {
                "rps": median([x[v]["rps"] for x in rounds]),
                "p99_ms": median([x[v]["p99_ms"] for x in rounds]),
                "rps_ratio": median([x[v]["rps"] / x["bare"]["rps"] for x in rounds]),
                "p99_ratio": median([x[v]["p99_ms"] / x["bare"]["p99_ms"] for x in rounds]),
                "spans_lost": max(x[v]["spans_lost"] for x in rounds),
                "cpu_us_per_req": median([x[v]["cpu_us_per_req"] for x in rounds]),
                "cpu_ratio": median([x[v]["cpu_us_per_req"] / x["bare"]["cpu_us_per_req"]
                                     for x in rounds]),
            }
        return res


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=0)
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default=",".join(SECTIONS))
    a = ap.parse_args()
    b = Bench(a)
    only = a.only.split(",")
    for s in only:
        if s not in SECTIONS:
            ap.error(f"unknown section {s}; sections: {','.join(SECTIONS)}")
    res = {"mode": "quick" if a.quick else "full", "rounds": b.rounds,
           "machine": machine(b.root), "sections": {}}
    t0 = time.monotonic()
    b.start_sinks()
    try:
        if "nginx" in only or "reporter" in only:
            b.check_grpc()
            for v in GRPC:
                log(f"{v}: " + ("measured" if v in b.grpc_ok else f"not measured: {b.grpc_notes[v]}"))
        for s in SECTIONS:
            if s in only:
                log(f"--- {s}")
                t = time.monotonic()
                try:
                    res["sections"][s] = getattr(b, s)()
                except (RuntimeError, subprocess.SubprocessError, OSError, ValueError) as e:
                    log(f"{s} failed: {e}")
                    res["sections"][s] = {"error": str(e)}
                res["sections"][s]["elapsed_s"] = round(time.monotonic() - t, 1)
    finally:
        res.update(b.stop_sinks())
        shutil.rmtree(b.work, ignore_errors=True)
    with open("/proc/loadavg") as f:
        res["machine"]["loadavg_end"] = f.read().split()[:3]
    res["elapsed_s"] = round(time.monotonic() - t0, 1)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
    log(f"wrote {a.out} in {res['elapsed_s']} s")


if __name__ == "__main__":
    main()
