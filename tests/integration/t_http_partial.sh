#!/usr/bin/env bash
# A client writing one large request on a non-blocking socket with a tiny send buffer (partial
# writes, EAGAIN) through write, writev and send: the request arrives intact with exactly one
# traceparent line injected right after the request line, naming the client's span; and every
# call returned what it would have without the shim (partial_client checks the sum).
source "$(dirname "$0")/lib.sh"

port=$(free_port)
"$PYTHON" "$RS_SRC/tests/integration/raw_http_server.py" "$port" "$WORK/report" &
RS_PIDS+=($!)
wait_listen "$port"
body=600000
for mode in write writev send; do
	traced "$PROGS/partial_client" "$port" "$mode" "$body" || fail "partial_client $mode failed"
done
"${CHECK[@]}" validate "$OUT" || fail "invalid output"
"${CHECK[@]}" dump "$OUT" --http --kind client >"$WORK/spans"
"$PYTHON" - "$WORK/report" "$WORK/spans" "$body" <<'PY' || fail "the requests did not arrive as they should"
import hashlib, json, sys
reports = [json.loads(l) for l in open(sys.argv[1])]
spans = [json.loads(l) for l in open(sys.argv[2])]
n = int(sys.argv[3])
want = hashlib.sha256(bytes(ord("a") + i % 26 for i in range(n))).hexdigest()
assert len(reports) == 3 and len(spans) == 3, (len(reports), len(spans))
ids = {s["span"]: s for s in spans}
for r in reports:
    assert r["request_line"] == "POST /upload HTTP/1.1", r["request_line"]
    assert r["body_len"] == n and r["body_sha256"] == want, "body damaged"
    names = [k.lower() for k, v in r["headers"]]
    assert names[0] == "traceparent", f"traceparent must follow the request line: {names}"
    assert names.count("traceparent") == 1, names
    assert names[1:] == ["host", "content-length"], names
    tp = r["headers"][0][1].split("-")
    s = ids.get(tp[2])
    assert s, f"traceparent names span {tp[2]}, not one of the client's"
    assert s["trace"] == tp[1] and s["attrs"]["http.request.body.size"] == n
    assert s["attrs"]["http.response.status_code"] == 200
print("three large requests arrived intact, each with its span's traceparent")
PY
echo PASS
