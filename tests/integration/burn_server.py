#!/usr/bin/env python3
"""An HTTP server whose handler burns CPU: GET /burn?ms=N spins for N ms of its thread's CPU time
and appends "<path> <cpu ns>" to TRUTH (measured with time.thread_time_ns around the burn).
Usage: burn_server.py PORT TRUTH"""
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

port, truth = int(sys.argv[1]), sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        ms = int(parse_qs(urlparse(self.path).query).get("ms", ["0"])[0])
        t0 = time.thread_time_ns()
        x = 0
        while time.thread_time_ns() - t0 < ms * 1_000_000:
            x += 1
        used = time.thread_time_ns() - t0
        with open(truth, "a") as f:
            f.write(f"{self.path} {used}\n")
        body = b"burnt\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


try:
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
except KeyboardInterrupt:
    pass
