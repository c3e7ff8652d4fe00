#!/usr/bin/env python3
"""A deliberately slow HTTP server that shows exactly what arrived: for each connection it waits,
reads the request head and body with small reads, writes one JSON line per request to the report
file (header names and values, the traceparent lines, the body's length and SHA-256), and answers
200 with Connection: close. Usage: raw_http_server.py PORT REPORT"""
import hashlib, json, socket, sys, time

port, report = int(sys.argv[1]), sys.argv[2]
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port))
srv.listen(8)
while True:
    conn, _ = srv.accept()
    time.sleep(0.2)  # let the client's tiny send buffer fill: partial writes, EAGAIN
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(1024)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:]]
    length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
    body = rest
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            break
        body += chunk
        time.sleep(0.0005)
    with open(report, "a") as f:
        f.write(json.dumps({"request_line": lines[0], "headers": headers, "body_len": len(body),
                            "body_sha256": hashlib.sha256(body).hexdigest()}) + "\n")
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    conn.close()
