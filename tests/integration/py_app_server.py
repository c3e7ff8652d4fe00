#!/usr/bin/env python3
"""A thread-per-request application server of the kind ringside must follow without changes:
Python's ThreadingHTTPServer whose handlers call a backend with urllib. /direct calls it from the
handler's own thread; /worker from a thread the handler starts and joins. Answers with what the
backend said. Usage: py_app_server.py PORT BACKEND_PORT"""
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, backend = int(sys.argv[1]), int(sys.argv[2])


def fetch(path, out):
    with urllib.request.urlopen(f"http://127.0.0.1:{backend}{path}") as r:
        out.append(r.read())


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        out = []
        if self.path.startswith("/worker"):
            t = threading.Thread(target=fetch, args=("/index.html", out))
            t.start()
            t.join()
        else:
            fetch("/index.html", out)
        body = out[0]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


try:
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
except KeyboardInterrupt:
    pass  # a normal exit: an uncaught one would make Python kill itself with SIGINT

