#!/usr/bin/env python3
"""Writes the root span of a `ringside run` into its output directory: the span every traced
process of the run descends from through TRACEPARENT, lasting as long as the command did.
Usage: run_span.py DIR PID TRACEPARENT START_NS END_NS EXIT_CODE CMD..."""
import json
import os
import socket
import sys

d, pid, tp, start, end, code = sys.argv[1:7]
cmd = sys.argv[7:]
_, trace, span, _ = tp.split("-")


def s(k, v):
    return {"key": k, "value": {"stringValue": v}}


def i(k, v):
    return {"key": k, "value": {"intValue": str(v)}}


name = " ".join(" ".join(cmd).split())  # one line, however the command was written
if len(name) > 60:
    name = name[:57] + "..."
line = {"resourceSpans": [{
    "resource": {"attributes": [
        s("service.name", "ringside"), s("telemetry.sdk.name", "ringside"),
        s("telemetry.sdk.language", "c"), i("process.pid", int(pid)),
        s("process.executable.name", "ringside"), s("host.name", socket.gethostname()),
        {"key": "process.command_args",
         "value": {"arrayValue": {"values": [{"stringValue": a} for a in cmd]}}}]},
    "scopeSpans": [{"scope": {"name": "ringside"}, "spans": [{
        "traceId": trace, "spanId": span, "flags": 257,
        "name": "ringside run: " + name, "kind": 1,
        "startTimeUnixNano": start, "endTimeUnixNano": end,
        "attributes": [i("process.exit.code", int(code))],
        "status": {"code": 2} if code != "0" else {}}]}]}]}
path = os.path.join(d, f"ringside.{pid}.traces.jsonl")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
with os.fdopen(fd, "w") as f:
    f.write(json.dumps(line, separators=(",", ":")) + "\n")
