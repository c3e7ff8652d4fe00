#!/usr/bin/env python3
"""A fast OTLP/HTTP sink for scripts/soak: answers every POST 200 with an empty protobuf body and,
for /v1/traces, appends the 8-byte span id of every span it received to --ids (no decoding into
JSON: the node peer could not keep up with minutes of wrk). Walks the protobuf (scripts/pb_walk.py):
ExportTraceServiceRequest.resource_spans(1).scope_spans(2).spans(2).span_id(2)."""
import argparse
import gzip
import http.server
import socketserver
import sys

from pb_walk import fields


def subfields(b, v, want):
    """The (start, end) of each length-delimited field numbered want in b[v[0]:v[1]]."""
    for fn, wt, x in fields(b, v[0], v[1]):
        if fn == want and wt == 2:
            yield x


def span_ids(body):
    for rs in subfields(body, (0, len(body)), 1):
        for sc in subfields(body, rs, 2):
            for span in subfields(body, sc, 2):
                for i, end in subfields(body, span, 2):
                    if end - i == 8:
                        yield body[i:end]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path == "/v1/traces":
            ids = b"".join(span_ids(body))
            self.server.ids.write(ids)
            self.server.ids.flush()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ids", required=True)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.ids = open(a.ids, "ab", buffering=0)
    print("listening", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
