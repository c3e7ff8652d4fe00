#!/usr/bin/env bash
# curl against python3 -m http.server, both under the shim: every TCP connection is one span on
# each side, with the right kind, peer, ports and byte counts, in valid OTLP/JSON files, 0600.
source "$(dirname "$0")/lib.sh"
need curl

make_site
port=$(free_port)
start_python "$port" "$WORK/site"
url=http://127.0.0.1:$port/index.html
# Python's server speaks HTTP/1.0 and closes after each reply: three requests, three connections.
traced curl -sS -H "Authorization: Basic c2VjcmV0OnNlY3JldA==" -H "Cookie: id=c00k1e-value" \
	-o "$WORK/body" "$url" "$url" "$url" -o "$WORK/body2" -o "$WORK/body3" || fail "curl failed"
cmp -s "$WORK/body" "$WORK/site/index.html" || fail "curl got the wrong body"
stop_python

"${CHECK[@]}" validate "$OUT" || fail "output is not valid OTLP/JSON"
! grep -rq "c2VjcmV0\|c00k1e\|hello from" "$OUT" || fail "a header value or a body reached the output"
[[ $(ls "$OUT" | wc -l) == 2 ]] || fail "expected one file per process, got: $(ls "$OUT")"

# curl's side: three CLIENT spans to the server's port, each having sent a request and received
# the page.
expect_spans 3 --exe curl --kind client --tcp --name "connect 127.0.0.1:$port" \
	--attr network.transport=tcp --attr network.type=ipv4 \
	--attr server.address=127.0.0.1 --attr server.port="$port" \
	--attr network.peer.port="$port" --attr-gt ringside.net.bytes_sent=50 \
	--attr-gt ringside.net.bytes_received=28 --has thread.id
expect_spans 3 --exe curl --tcp
# python's side: three SERVER spans on its port, from 127.0.0.1, bytes mirrored.
py=$(python_exe)
expect_spans 3 --exe "$py" --kind server --tcp --name "accept :$port" \
	--attr server.port="$port" --attr network.local.port="$port" \
	--attr client.address=127.0.0.1 --attr-gt ringside.net.bytes_received=50 \
	--attr-gt ringside.net.bytes_sent=28
expect_spans 3 --exe "$py" --tcp
# What one side sent, the other received.
sent=$("${CHECK[@]}" dump "$OUT" --kind client --tcp | "$PYTHON" -c 'import sys,json; print(sorted(json.loads(l)["attrs"]["ringside.net.bytes_sent"] for l in sys.stdin))')
got=$("${CHECK[@]}" dump "$OUT" --kind server --tcp | "$PYTHON" -c 'import sys,json; print(sorted(json.loads(l)["attrs"]["ringside.net.bytes_received"] for l in sys.stdin))')
[[ $sent == "$got" ]] || fail "client sent $sent but server received $got"
# Each connection carried one HTTP request: a CLIENT span in curl, its SERVER span in python, the
# server's parent being the client's span, all of it one trace per request.
expect_spans 3 --exe curl --http --kind client --name "GET /index.html" --attr http.response.status_code=200
expect_spans 3 --exe "$py" --http --kind server --name "GET /index.html" --attr url.path=/index.html
"${CHECK[@]}" dump "$OUT" --http | "$PYTHON" -c '
import json, sys
spans = [json.loads(l) for l in sys.stdin]
clients = {s["span"]: s for s in spans if s["kind"] == 3}
servers = [s for s in spans if s["kind"] == 2]
assert len(clients) == 3 and len(servers) == 3, "expected three of each"
for s in servers:
    c = clients.get(s["parent"])
    assert c, "server span %s has no client parent" % s["span"]
    assert c["trace"] == s["trace"], "server and client in different traces"
    assert s["flags"] & 0x300 == 0x300, "a server span continuing a remote parent must say so"
    assert c["parent"] == "", "curl started the trace"
assert len({s["trace"] for s in servers}) == 3, "three requests, three traces"
' || fail "the server spans do not continue curl's traces"
echo PASS
