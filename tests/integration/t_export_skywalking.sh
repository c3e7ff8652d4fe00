#!/usr/bin/env bash
# RINGSIDE_EXPORTER=skywalking against the SkyWalking peer (tests/peers/skywalking_peer.js,
# decoding with the SkyWalking Node.js agent's generated code): curl -> python3 -m http.server,
# both under the shim. The segments arrive and link up exactly as the sw8 headers on the wire
# said; the instance is reported once and kept alive; the token arrives; a collector that is down,
# then up, gets what waited; one that stalls or answers garbage does not hurt the program. A call
# made on a thread the handler started is a segment tied to the handler's by a CrossThread ref.
source "$(dirname "$0")/lib.sh"
need curl
need_peers

make_site
py=$(python_exe)
COMMON=(RINGSIDE_EXPORTER=skywalking RINGSIDE_CONN_SPANS=0 OTEL_BSP_SCHEDULE_DELAY=100
	SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD=1)

# serve NAME PROTOCOL BACKEND [VAR=value...]: the python server under the shim.
serve() {
	local name=$1 proto=$2 backend=$3
	shift 3
	PORT=$(free_port)
	(cd "$WORK/site" && exec env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" "${COMMON[@]}" \
		SW_AGENT_PROTOCOL="$proto" SW_AGENT_COLLECTOR_BACKEND_SERVICES="$backend" "$@" \
		"$PYTHON" -m http.server --bind 127.0.0.1 "$PORT") >"$WORK/$name.python.log" 2>&1 &
	PY_PID=$!
	RS_PIDS+=("$PY_PID")
	wait_listen "$PORT"
}

# client NAME PROTOCOL BACKEND N [VAR=value...]: one traced curl making N requests.
client() {
	local name=$1 proto=$2 backend=$3 n=$4 urls=() i
	shift 4
	for i in $(seq "$n"); do
		urls+=(-o /dev/null "http://127.0.0.1:$PORT/index.html")
	done
	env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" "${COMMON[@]}" SW_AGENT_PROTOCOL="$proto" \
		SW_AGENT_COLLECTOR_BACKEND_SERVICES="$backend" "$@" curl -sS "${urls[@]}" \
		2>"$WORK/$name.curl.log" || fail "$name: curl failed: $(cat "$WORK/$name.curl.log")"
}

stop_serving() {
	kill -INT "$PY_PID"
	local i
	for i in $(seq 100); do
		kill -0 "$PY_PID" 2>/dev/null || return 0
		sleep 0.05
	done
	fail "$1: python did not exit within 5 s of SIGINT (RINGSIDE_FLUSH_TIMEOUT_MS is 1000)"
}

count() { # count FILE PATH [field.path=value]: lines on PATH (whose field equals value)
	"${PEER_CHECK[@]}" field "$1" "${3%%=*}" --path "$2" | grep -c -- "${3#*=}" || true
}

# --- http: the chain, its refs, management, authentication ------------------------------------
start_peer http skywalking_peer.js
serve http http "http://127.0.0.1:$HTTP" SW_AGENT_AUTHENTICATION=s3cret
client http http "127.0.0.1:$HTTP" 3 SW_AGENT_AUTHENTICATION=s3cret
# keepAlive every second: wait for two from the server (it lives on), then stop it.
for i in $(seq 100); do
	[[ $(count "$WORK/http.jsonl" /v3/management/keepAlive "msg.service=\"$py\"") -ge 2 ]] && break
	sleep 0.1
done
stop_serving http
stop_peer http
J=$WORK/http.jsonl
"${PEER_CHECK[@]}" chain "$J" 3 curl "$py" || fail "http: the chain is broken"
"${PEER_CHECK[@]}" sw-refs "$J" 3 "$py" || fail "http: the refs do not point at curl's segments"
[[ $("${PEER_CHECK[@]}" field "$J" transport | sort -u) == '"http-json"' ]] || fail "http: not JSON"
[[ -z $("${PEER_CHECK[@]}" field "$J" error | grep -v null) ]] || fail "http: the peer refused a message"
[[ -z $("${PEER_CHECK[@]}" field "$J" ignored | grep -v null) ]] || fail "http: a key the OAP's parser does not know"
[[ $("${PEER_CHECK[@]}" field "$J" headers.authentication | sort -u) == '"s3cret"' ]] ||
	fail "http: SW_AGENT_AUTHENTICATION did not arrive on every request"
for svc in curl "$py"; do
	[[ $(count "$J" /v3/management/reportProperties "msg.service=\"$svc\"") == 1 ]] ||
		fail "http: $svc did not report its properties exactly once"
done
[[ $(count "$J" /v3/management/keepAlive "msg.service=\"$py\"") -ge 2 ]] || fail "http: no repeated keepAlive"
"${PEER_CHECK[@]}" field "$J" msg --path /v3/management/reportProperties | "$PYTHON" -c '
import json, os, sys
for l in sys.stdin:
    m = json.loads(l)
    p = {}
    for kv in m["properties"]:
        p.setdefault(kv["key"], []).append(kv["value"])
    assert p["language"] == ["C"] and p["os_name"] == ["Linux"], p
    assert p["hostname"] == [os.uname().nodename], p
    assert int(p["process_no"][0]) > 0, p
    assert m["serviceInstance"].endswith("@" + os.uname().nodename), m
' || fail "http: instance properties"
# What the spans say, as SkyWalking's agents say it.
"${PEER_CHECK[@]}" field "$J" msg --path /v3/segments | "$PYTHON" -c '
import json, sys
segs = [json.loads(l) for l in sys.stdin]
spans = [(g, s) for g in segs for s in g["spans"]]
assert len(spans) == 6, len(spans)
for g, s in spans:
    tags = {t["key"]: t["value"] for t in s.get("tags", [])}
    assert s.get("spanLayer") == 3 and s.get("componentId") == 49, s
    assert tags["http.method"] == "GET" and tags["http.status_code"] == "200", tags
    assert tags["url"].startswith("http://127.0.0.1:") and tags["url"].endswith("/index.html"), tags
    assert s["operationName"] == "GET /index.html", s
    assert 0 < int(s["startTime"]) <= int(s["endTime"]), s
    assert not s.get("isError"), s
    if s.get("spanType", 0) == 1:
        assert s["peer"].startswith("127.0.0.1:") and g["service"] == "curl", (g, s)
    assert len(g["traceSegmentId"]) == 16 and len(g["traceId"]) == 32, g
' || fail "http: span content"

# --- across threads: curl -> app (a handler thread, or a worker it starts) -> backend ---------------
# The worker's call is a segment of its own whose CrossThread ref names the handler's Entry span.
start_peer threads skywalking_peer.js
ep="http://127.0.0.1:$HTTP"
backend=$(free_port)
(cd "$WORK/site" && exec env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" "${COMMON[@]}" \
	SW_AGENT_PROTOCOL=http SW_AGENT_COLLECTOR_BACKEND_SERVICES="$ep" SW_AGENT_NAME=backend \
	"$PYTHON" -m http.server --bind 127.0.0.1 "$backend") >"$WORK/backend.log" 2>&1 &
back_pid=$!
RS_PIDS+=("$back_pid")
PORT=$(free_port)
traced_bg "${COMMON[@]}" SW_AGENT_PROTOCOL=http SW_AGENT_COLLECTOR_BACKEND_SERVICES="$ep" \
	SW_AGENT_NAME=app "$PYTHON" "$RS_SRC/tests/integration/py_app_server.py" "$PORT" "$backend"
app_pid=$BG_PID
wait_listen "$backend"
wait_listen "$PORT"
for path in /direct /worker; do
	env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" "${COMMON[@]}" SW_AGENT_PROTOCOL=http \
		SW_AGENT_COLLECTOR_BACKEND_SERVICES="$ep" curl -sS -o /dev/null "http://127.0.0.1:$PORT$path" ||
		fail "threads: curl $path failed"
done
kill -INT "$app_pid" "$back_pid"
wait "$app_pid" "$back_pid" || true
stop_peer threads
J=$WORK/threads.jsonl
"${PEER_CHECK[@]}" sw-refs "$J" 2 app || fail "threads: the app's refs"
"${PEER_CHECK[@]}" sw-refs "$J" 2 backend || fail "threads: the backend's refs"
"${PEER_CHECK[@]}" field "$J" msg --path /v3/segments | "$PYTHON" -c '
import json, sys
segs = [json.loads(l) for l in sys.stdin]
app = [g for g in segs if g["service"] == "app"]
entry = {s["operationName"]: g for g in app for s in g["spans"] if s.get("spanType", 0) == 0}
direct, worker = entry["GET /direct"], entry["GET /worker"]
# /direct: the call is an Exit of the handler segment, under its Entry.
assert [(s.get("spanId", 0), s.get("parentSpanId", 0), s.get("spanType", 0)) for s in direct["spans"]] == [(0, -1, 0), (1, 0, 1)], direct
# /worker: the handler segment has the Entry alone; the worker thread has its own segment.
assert len(worker["spans"]) == 1, worker
calls = [g for g in app if all(s.get("spanType", 0) == 1 for s in g["spans"])]
assert len(calls) == 1 and len(calls[0]["spans"]) == 1, calls
c = calls[0]["spans"][0]
assert c.get("spanId", 0) == 0 and c["parentSpanId"] == -1, c
refs = c.get("refs", [])
assert len(refs) == 1, refs
r = refs[0]
assert r["refType"] == 1, r
assert r["parentTraceSegmentId"] == worker["traceSegmentId"] and r.get("parentSpanId", 0) == 0, r
assert r["traceId"] == worker["traceId"] == calls[0]["traceId"], r
assert r["parentService"] == "app" and r["parentServiceInstance"] == worker["serviceInstance"], r
assert r["parentEndpoint"] == "GET /worker" and not r.get("networkAddressUsedAtPeer"), r
' || fail "threads: the worker thread's segment"

# --- collector down, then up: what the server recorded meanwhile arrives ---------------------------
port=$(free_port)
serve down http "127.0.0.1:$port" RINGSIDE_LOG_LEVEL=info
client down http "127.0.0.1:$port" 2 RINGSIDE_FLUSH_TIMEOUT_MS=200
sleep 0.3 # the first export fails (connection refused): the batch waits for its retry
start_peer down skywalking_peer.js --http-port "$port"
for i in $(seq 200); do # the segments' retry and the next heartbeat, in either order
	[[ $(count "$WORK/down.jsonl" /v3/segments "msg.service=\"$py\"") -ge 2 &&
		$(count "$WORK/down.jsonl" /v3/management/reportProperties "msg.service=\"$py\"") -ge 1 ]] && break
	sleep 0.1
done
[[ $(count "$WORK/down.jsonl" /v3/management/reportProperties "msg.service=\"$py\"") == 1 ]] ||
	fail "down/up: the properties were not reported once the collector came up"
stop_serving down
stop_peer down
[[ $(count "$WORK/down.jsonl" /v3/segments "msg.service=\"$py\"") == 2 ]] ||
	fail "down/up: the server's segments did not arrive"
grep -q "failed (Connection refused); retrying" "$WORK/down.python.log" ||
	fail "down/up: no retry line: $(cat "$WORK/down.python.log")"
! grep -q "spans lost" "$WORK/down.python.log" || fail "down/up: lost: $(cat "$WORK/down.python.log")"
grep -Eq "2 spans lost of 2 recorded: .* 2 not sent before exit" "$WORK/down.curl.log" ||
	fail "down/up: curl's unsent spans are not counted: $(cat "$WORK/down.curl.log")"

# --- stall and garbage: every request served, the program exits within its flush bound -------------
for mode in stall garbage; do
	start_peer "$mode" skywalking_peer.js "--$mode"
	serve "$mode" http "127.0.0.1:$HTTP"
	client "$mode" http "127.0.0.1:$HTTP" 3
	wait_lines "$WORK/$mode.jsonl" 3
	stop_serving "$mode"
	stop_peer "$mode"
	! grep -q "Segmentation\|Aborted" "$WORK/$mode.python.log" "$WORK/$mode.curl.log" ||
		fail "$mode: crashed"
	[[ $("${PEER_CHECK[@]}" lines "$WORK/$mode.jsonl" --path /v3/segments) -ge 1 ]] ||
		fail "$mode: no segment was even sent"
done
grep -Eq "spans lost of [0-9]+ recorded: .* [1-9][0-9]* not sent before exit" "$WORK/stall.python.log" ||
	fail "stall: what never got an answer is not counted: $(cat "$WORK/stall.python.log")"
! grep -q "spans lost" "$WORK/garbage.python.log" ||
	fail "garbage: a 200 with garbage is still an acceptance: $(cat "$WORK/garbage.python.log")"

# --- a backend that is no address: one clear line, the program unharmed, its spans counted ------------
PORT=$(free_port)
start_python "$PORT" "$WORK/site" bare
client bad http "ftp://oap:12800" 1
lines=$(grep -c "SW_AGENT_COLLECTOR_BACKEND_SERVICES=\"ftp://oap:12800\"" "$WORK/bad.curl.log" || true)
[[ $lines == 1 ]] || fail "bad backend: expected one line naming it: $(cat "$WORK/bad.curl.log")"
grep -Eq "1 spans lost of 1 recorded: .* 1 no exporter" "$WORK/bad.curl.log" ||
	fail "bad backend: the span is not counted: $(cat "$WORK/bad.curl.log")"
stop_python
echo PASS
