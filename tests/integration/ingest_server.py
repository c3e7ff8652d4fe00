#!/usr/bin/env python3
"""Stands in for a Pyroscope server's POST /ingest: writes each request's path and query,
headers and body length as a JSON line to DIR/requests.jsonl and the body to DIR/body.N. The
first FAIL requests are answered 503, later ones 200. Usage: ingest_server.py PORT DIR [FAIL]"""
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port, out = int(sys.argv[1]), sys.argv[2]
fail = int(sys.argv[3]) if len(sys.argv) > 3 else 0
seen = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        global seen
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        seen += 1
        with open(os.path.join(out, f"body.{seen}"), "wb") as f:
            f.write(body)
        status = 503 if seen <= fail else 200
        with open(os.path.join(out, "requests.jsonl"), "a") as f:
            f.write(json.dumps({"n": seen, "path": self.path, "status": status,
                                "headers": {k.lower(): v for k, v in self.headers.items()},
                                "length": len(body)}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


HTTPServer(("127.0.0.1", port), Handler).serve_forever()
