"""Helpers of bench/bench.py: processes and ports, /proc readings (resident memory, CPU time),
the shim's loss line, and the description of the machine a run was made on."""
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import time


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class Sink:
    """A collector of bench/: otlp_sink (OTLP/HTTP) or grpc_sink (gRPC: SkyWalking, OTLP), started
    once for the whole run. Both print their port first and their counters as a JSON line on
    SIGTERM; grpc_sink also on SIGUSR1, which counts() uses to see what one run delivered."""

    def __init__(self, exe):
        self.p = subprocess.Popen([exe, "0"], stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if not line.strip().isdigit():
            self.p.kill()
            self.p.wait()
            raise RuntimeError(f"{exe} did not start")
        self.port = int(line)

    def counts(self):
        """grpc_sink's counters so far (per path: calls, messages, bytes)."""
        self.p.send_signal(signal.SIGUSR1)
        return json.loads(self.p.stdout.readline())

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        out = self.p.stdout.read()
        self.p.wait()
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return None


def path_delta(before, after, path):
    """What one path received between two counts() of grpc_sink: messages and bytes."""
    b = before["paths"].get(path, {})
    a = after["paths"].get(path, {})
    return (a.get("messages", 0) - b.get("messages", 0), a.get("bytes", 0) - b.get("bytes", 0))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=10.0):
    """Waits until something accepts on the port (a probe connection: these runs are not
    checked for span counts)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def losses(text):
    """Spans the shim says it lost (its exit line, one per process) and spans recorded."""
    lost = rec = 0
    for m in re.finditer(r"(\d+) spans lost of (\d+) recorded", text or ""):
        lost += int(m.group(1))
        rec += int(m.group(2))
    return lost, rec


def rss_kb(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def cpu_s(pids):
    """CPU seconds used so far by these processes, all their threads (the reporter and the
    kernel's io_uring workers included)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def children(pid):
    out = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(x) for x in f.read().split()]
    except OSError:
        kids = []
    for k in kids:
        out += children(k)
    return out


def machine(root):
    def first(path, key):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return line.split(":", 1)[1].strip()
        except OSError:
            return None
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short=12", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no",
                            "--", ".", ":!docs/benchmarks.md"],
                           capture_output=True, text=True).stdout.strip()
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    return {"cpu": first("/proc/cpuinfo", "model name"), "cores": os.cpu_count(),
            "mem": first("/proc/meminfo", "MemTotal"), "kernel": platform.release(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "commit": commit + ("+dirty" if dirty else ""), "loadavg_start": load}
