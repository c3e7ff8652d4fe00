#!/usr/bin/env bash
# Framings real peers rarely combine, both sides traced (tests/progs/http_peer.c): pipelined
# requests in one write, chunked replies with extensions and trailers, HTTP/1.0 replies that end
# at the close, HEAD with a Content-Length and no body, 4xx/5xx, and one byte per read and write
# on each side. Every request is one span on each side, with the right status, body size and end,
# and each server span's parent is its client span (trace context injected byte by byte too).
source "$(dirname "$0")/lib.sh"

peer=$PROGS/http_peer
for server_mode in normal bytewise; do
	rm -rf "$OUT"
	port=$(free_port)
	traced_bg "$peer" serve "$port" "$server_mode"
	server=$BG_PID
	wait_listen "$port"
	for mode in pipelined bytewise http10 head errors; do
		traced "$peer" client "$port" "$mode" || fail "client $mode failed (server $server_mode)"
	done
	kill -INT "$server"
	wait "$server" || fail "the server did not exit cleanly"
	"${CHECK[@]}" validate "$OUT" || fail "invalid output ($server_mode)"
	# Authorization, Cookie and Set-Cookie values never reach the output, nor do bodies.
	! grep -rq "SECRET\|hello\|efghij" "$OUT" || fail "a secret or a body reached the output"
	"${CHECK[@]}" dump "$OUT" --http >"$WORK/spans"
	"$PYTHON" - "$WORK/spans" "$server_mode" <<'PY' || fail "wrong spans with a $server_mode server"
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
server = [s for s in spans if s["kind"] == 2]
client = {s["span"]: s for s in spans if s["kind"] == 3}
# (name, status, response body bytes, how it ended or None for a length, error)
want = sorted([
    ("GET /cl", 200, 5, None, False), ("GET /chunked", 200, 10, None, False),
    ("GET /{id}", 404, 2, None, None),  # /404: numbers fold; an error for the client only
    ("GET /chunked", 200, 10, None, False),  # the bytewise client
    ("GET /close", 200, 15, "close", False),
    ("HEAD /head-me", 200, 0, None, False), ("GET /head-me", 200, 3, None, False),
    ("GET /{id}", 500, 3, None, True),
])
def key(s):
    a = s["attrs"]
    return (s["name"], a.get("http.response.status_code"), a.get("http.response.body.size"),
            a.get("ringside.http.end"))
got = sorted(key(s) for s in server)
assert [w[:4] for w in want] == got, f"server spans:\n{got}\nwanted:\n{[w[:4] for w in want]}"
assert len(client) == len(server), f"{len(client)} client spans for {len(server)} server spans"
for s in server:
    c = client.get(s["parent"])
    assert c, f"server span {s['name']} is not a child of a client span"
    assert c["trace"] == s["trace"] and key(c)[:3] == key(s)[:3], (c, s)
    status = s["attrs"]["http.response.status_code"]
    assert (s["status"].get("code") == 2) == (status >= 500), f"server status for {status}"
    assert (c["status"].get("code") == 2) == (status >= 400), f"client status for {status}"
    if status >= 400:
        assert c["attrs"]["error.type"] == str(status)
print(f"{len(server)} requests, each a client and a server span, linked")
PY
done
echo PASS
