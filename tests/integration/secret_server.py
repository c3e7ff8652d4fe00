#!/usr/bin/env python3
"""An HTTP server whose answers carry secrets where applications keep them: a Set-Cookie header,
an Authorization-like header and the body. It reads (and discards) request bodies. For
t_secrets.sh. Usage: SECRET_MARK=... secret_server.py PORT (the marker is not on the command line,
which the shim reports)"""
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, mark = int(sys.argv[1]), os.environ["SECRET_MARK"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        body = f"the response body is {mark}R11\n".encode()
        self.send_response(200)
        self.send_header("Set-Cookie", f"sid={mark}S9; HttpOnly")
        self.send_header("Authorization", f"Bearer {mark}R10")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = answer

    def log_message(self, *args):
        pass


try:
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
except KeyboardInterrupt:  # SIGINT: exit normally, so the shim's exit flush runs
    pass
