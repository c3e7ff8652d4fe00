#!/usr/bin/env python3
"""A fast OTLP/HTTP sink for scripts/soak: answers every POST 200 with an empty protobuf body and,
for /v1/traces, appends the 8-byte span id of every span it received to --ids (no decoding into
JSON: the node peer could not keep up with minutes of wrk). Walks the protobuf by hand:
ExportTraceServiceRequest.resource_spans(1).scope_spans(2).spans(2).span_id(2)."""
import argparse
import gzip
import http.server
import socketserver
import sys


def varint(b, i):
    shift = val = 0
    while True:
        c = b[i]
        i += 1
        val |= (c & 0x7F) << shift
        if c < 0x80:
            return val, i
        shift += 7


def fields(b):
    """(field number, bytes) for each length-delimited field; other wire types are skipped."""
    i, n = 0, len(b)
    while i < n:
        key, i = varint(b, i)
        wt = key & 7
        if wt == 0:
            _, i = varint(b, i)
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            ln, i = varint(b, i)
            yield key >> 3, b[i:i + ln]
            i += ln
        else:
            raise ValueError("wire type %d" % wt)


def span_ids(body):
    for f1, rs in fields(body):
        if f1 != 1:
            continue
        for f2, ss in fields(rs):
            if f2 != 2:
                continue
            for f3, span in fields(ss):
                if f3 != 2:
                    continue
                for f4, v in fields(span):
                    if f4 == 2 and len(v) == 8:
                        yield v


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
