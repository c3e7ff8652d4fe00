#!/usr/bin/env python3
"""Stands in for a Pyroscope server's POST /ingest: writes each request's path and query,
headers and body length as a JSON line to DIR/requests.jsonl and the body to DIR/body.N. The
first FAIL requests are answered 503 (FAIL:STATUS: that status), later ones 200. With CERT and
KEY (PEM files) it serves TLS (Python's ssl module, OpenSSL).
Usage: ingest_server.py PORT DIR [FAIL[:STATUS] [CERT KEY]]"""
import json
import os
import ssl
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port, out = int(sys.argv[1]), sys.argv[2]
fail, _, fail_status = (sys.argv[3] if len(sys.argv) > 3 else "0").partition(":")
fail, fail_status = int(fail), int(fail_status or 503)
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
        status = fail_status if seen <= fail else 200
        with open(os.path.join(out, "requests.jsonl"), "a") as f:
            f.write(json.dumps({"n": seen, "path": self.path, "status": status,
                                "headers": {k.lower(): v for k, v in self.headers.items()},
                                "length": len(body)}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


server = HTTPServer(("127.0.0.1", port), Handler)
if len(sys.argv) > 5:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
