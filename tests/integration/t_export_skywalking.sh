#!/usr/bin/env bash
# RINGSIDE_EXPORTER=skywalking over HTTP, gRPC and Kafka, against peers that decode with the
# SkyWalking Node.js agent's generated code (skywalking_peer.js; kafka_mock read back by
# kafka_decode.js): curl -> python3 -m http.server, both under the shim. The segments arrive and
# link up exactly as the sw8 headers on the wire said; the instance is reported once and kept
# alive; the token arrives; a collector that is down, then up, gets what waited; one that stalls
# or answers garbage does not hurt the program. A call made on a thread the handler started is a
# segment tied to the handler's by a CrossThread ref.
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
	serve_site "$name.python" "${COMMON[@]}" SW_AGENT_PROTOCOL="$proto" \
		${backend:+SW_AGENT_COLLECTOR_BACKEND_SERVICES="$backend"} "$@"
}

# client NAME PROTOCOL BACKEND N [VAR=value...]: one traced curl making N requests.
client() {
	local name=$1 proto=$2 backend=$3 n=$4 urls=() i
	shift 4
	for i in $(seq "$n"); do
		urls+=(-o /dev/null "http://127.0.0.1:$PORT/index.html")
	done
	env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" "${COMMON[@]}" SW_AGENT_PROTOCOL="$proto" \
		${backend:+SW_AGENT_COLLECTOR_BACKEND_SERVICES="$backend"} "$@" curl -sS "${urls[@]}" \
		2>"$WORK/$name.curl.log" || fail "$name: curl failed: $(cat "$WORK/$name.curl.log")"
}

stop_serving() { # stop_serving NAME: python under the shim, through its exit flush
	sigint_wait "$PY_PID" "$1: python"
}

count() { # count FILE PATH [field.path=value]: lines on PATH (whose field equals value)
	"${PEER_CHECK[@]}" field "$1" "${3%%=*}" --path "$2" | grep -c -- "${3#*=}" || true
}

# paths PROTO: where each kind of message arrives (SEG, PROPS, PING), how (TRANSPORT), and the
# backend address for the peer just started (BACKEND).
paths() {
	case $1 in
	http)
		SEG=/v3/segments PROPS=/v3/management/reportProperties PING=/v3/management/keepAlive
		TRANSPORT='"http-json"' BACKEND="http://127.0.0.1:$HTTP"
		;;
	grpc)
		SEG=/skywalking.v3.TraceSegmentReportService/collect
		PROPS=/skywalking.v3.ManagementService/reportInstanceProperties
		PING=/skywalking.v3.ManagementService/keepAlive TRANSPORT='"grpc"' BACKEND="127.0.0.1:$GRPC"
		;;
	esac
}

# --- the chain, its refs, management, authentication ---------------------------------------------
for proto in http grpc; do
	start_peer "$proto" skywalking_peer.js
	paths "$proto"
	serve "$proto" "$proto" "$BACKEND" SW_AGENT_AUTHENTICATION=s3cret
	client "$proto" "$proto" "$BACKEND" 3 SW_AGENT_AUTHENTICATION=s3cret
	# keepAlive every second: wait for two from the server (it lives on), then stop it.
	for i in $(seq 100); do
		[[ $(count "$WORK/$proto.jsonl" "$PING" "msg.service=\"$py\"") -ge 2 ]] && break
		sleep 0.1
	done
	stop_serving "$proto"
	stop_peer "$proto"
	J=$WORK/$proto.jsonl
	! grep -q ringside "$WORK/$proto.python.log" "$WORK/$proto.curl.log" ||
		fail "$proto: the shim complained: $(grep ringside "$WORK/$proto.python.log" "$WORK/$proto.curl.log")"
	"${PEER_CHECK[@]}" chain "$J" 3 curl "$py" || fail "$proto: the chain is broken"
	"${PEER_CHECK[@]}" sw-refs "$J" 3 "$py" || fail "$proto: the refs do not point at curl's segments"
	[[ $("${PEER_CHECK[@]}" field "$J" transport | sort -u) == "$TRANSPORT" ]] || fail "$proto: not $TRANSPORT"
	[[ -z $("${PEER_CHECK[@]}" field "$J" error | grep -v null) ]] || fail "$proto: the peer refused a message"
	[[ -z $("${PEER_CHECK[@]}" field "$J" ignored | grep -v null) ]] ||
		fail "$proto: a key the OAP's parser does not know"
	[[ $("${PEER_CHECK[@]}" field "$J" headers.authentication | sort -u) == '"s3cret"' ]] ||
		fail "$proto: SW_AGENT_AUTHENTICATION did not arrive on every request"
	for svc in curl "$py"; do
		[[ $(count "$J" "$PROPS" "msg.service=\"$svc\"") == 1 ]] ||
			fail "$proto: $svc did not report its properties exactly once"
	done
	[[ $(count "$J" "$PING" "msg.service=\"$py\"") -ge 2 ]] || fail "$proto: no repeated keepAlive"
	"${PEER_CHECK[@]}" field "$J" msg --path "$PROPS" | "$PYTHON" -c '
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
' || fail "$proto: instance properties"
	# What the spans say, as SkyWalking's agents say it.
	"${PEER_CHECK[@]}" field "$J" msg --path "$SEG" | "$PYTHON" -c '
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
' || fail "$proto: span content"
done

# --- Kafka: librdkafka's mock cluster, read back with kcat and SkyWalking's generated code ----------
# start_kafka NAME [FLAGS...]: kafka_mock; sets KPID and BOOT.
start_kafka() {
	local name=$1 i
	shift
	"$PROGS/kafka_mock" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	KPID=$!
	RS_PIDS+=("$KPID")
	for i in $(seq 200); do
		grep -q '^bootstrap=' "$WORK/$name.out" && break
		sleep 0.05
	done
	BOOT=$(sed -n 's/^bootstrap=//p' "$WORK/$name.out")
	[[ -n $BOOT ]] || fail "kafka_mock did not start: $(cat "$WORK/$name.err")"
}
# read_kafka NAME NAMESPACE: every SkyWalking record so far into $WORK/NAME.jsonl.
read_kafka() {
	local ns=${2:+$2-}
	node "$PEERS/kafka_decode.js" --brokers "$BOOT" --topic "${ns}skywalking-segments" \
		--topic "${ns}skywalking-managements" --out "$WORK/$1.jsonl.new" --timeout-ms 10000 ||
		fail "kafka: a record did not decode: $(grep error "$WORK/$1.jsonl.new")"
	mv "$WORK/$1.jsonl.new" "$WORK/$1.jsonl"
}
start_kafka kafka --topic ns-skywalking-segments --topic ns-skywalking-managements
KAFKA=(SW_KAFKA_BOOTSTRAP_SERVERS="$BOOT" SW_KAFKA_NAMESPACE=ns)
serve kafka kafka "" "${KAFKA[@]}"
client kafka kafka "" 3 "${KAFKA[@]}"
for i in $(seq 30); do # two pings from the server (it lives on), then stop it
	read_kafka kafka ns
	[[ $(count "$WORK/kafka.jsonl" ns-skywalking-managements "msg.service=\"$py\"") -ge 3 ]] && break
	sleep 0.2
done
stop_serving kafka
read_kafka kafka ns
J=$WORK/kafka.jsonl
! grep -q ringside "$WORK/kafka.python.log" "$WORK/kafka.curl.log" ||
	fail "kafka: the shim complained: $(grep ringside "$WORK/kafka.python.log" "$WORK/kafka.curl.log")"
"${PEER_CHECK[@]}" chain "$J" 3 curl "$py" || fail "kafka: the chain is broken"
"${PEER_CHECK[@]}" sw-refs "$J" 3 "$py" || fail "kafka: the refs do not point at curl's segments"
"$PYTHON" - "$J" "$py" <<'PY' || fail "kafka: keys"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
segs = [l for l in lines if l["path"] == "ns-skywalking-segments"]
assert len(segs) == 6 and all(l["key"] == l["msg"]["traceSegmentId"] for l in segs), segs
mgmt = [l for l in lines if l["path"] == "ns-skywalking-managements"]
props = [l for l in mgmt if "properties" in l["msg"]]
pings = [l for l in mgmt if "properties" not in l["msg"]]
assert sorted(l["msg"]["service"] for l in props) == sorted(["curl", sys.argv[2]]), props
assert all(l["key"] == "register-" + l["msg"]["serviceInstance"] for l in props), props
assert all(l["key"] == l["msg"]["serviceInstance"] for l in pings), pings
assert sum(l["msg"]["service"] == sys.argv[2] for l in pings) >= 2, pings
PY

# --- Kafka with the partitions' leader down, then up: what the server recorded meanwhile arrives ---
start_kafka kdown --leader 1 --topic skywalking-segments --topic skywalking-managements
kill -USR1 "$KPID"
for i in $(seq 100); do
	grep -q '^broker 1 down' "$WORK/kdown.out" && break
	sleep 0.05
done
serve kdown kafka "" SW_KAFKA_BOOTSTRAP_SERVERS="$BOOT"
client kdown kafka "" 2 SW_KAFKA_BOOTSTRAP_SERVERS="$BOOT" RINGSIDE_FLUSH_TIMEOUT_MS=200
sleep 0.5 # the records wait for their leader
kill -USR2 "$KPID"
for i in $(seq 50); do
	read_kafka kdown
	[[ $(count "$WORK/kdown.jsonl" skywalking-segments "msg.service=\"$py\"") -ge 2 ]] && break
	sleep 0.2
done
stop_serving kdown
[[ $(count "$WORK/kdown.jsonl" skywalking-segments "msg.service=\"$py\"") == 2 ]] ||
	fail "kafka down/up: the server's segments did not arrive once the broker was back"
! grep -q "spans lost" "$WORK/kdown.python.log" ||
	fail "kafka down/up: lost: $(cat "$WORK/kdown.python.log")"

# --- across threads: curl -> app (a handler thread, or a worker it starts) -> backend ---------------
# The worker's call is a segment of its own whose CrossThread ref names the handler's Entry span.
start_peer threads skywalking_peer.js
ep="http://127.0.0.1:$HTTP"
backend=$(free_port)
python_server "$backend" "$WORK/site" backend env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" \
	"${COMMON[@]}" SW_AGENT_PROTOCOL=http SW_AGENT_COLLECTOR_BACKEND_SERVICES="$ep" SW_AGENT_NAME=backend
back_pid=$PY_PID
PORT=$(free_port)
traced_bg "${COMMON[@]}" SW_AGENT_PROTOCOL=http SW_AGENT_COLLECTOR_BACKEND_SERVICES="$ep" \
	SW_AGENT_NAME=app "$PYTHON" "$RS_SRC/tests/integration/py_app_server.py" "$PORT" "$backend"
app_pid=$BG_PID
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
for proto in http grpc; do
	port=$(free_port)
	HTTP=$port GRPC=$port paths "$proto"
	serve "down-$proto" "$proto" "$BACKEND" RINGSIDE_LOG_LEVEL=info
	client "down-$proto" "$proto" "$BACKEND" 2 RINGSIDE_FLUSH_TIMEOUT_MS=200
	sleep 0.3 # the first export fails (connection refused): the batch waits for its retry
	start_peer "down-$proto" skywalking_peer.js --"$proto"-port "$port"
	J=$WORK/down-$proto.jsonl
	for i in $(seq 200); do # the segments' retry and the next heartbeat, in either order
		[[ $(count "$J" "$SEG" "msg.service=\"$py\"") -ge 2 &&
			$(count "$J" "$PROPS" "msg.service=\"$py\"") -ge 1 ]] && break
		sleep 0.1
	done
	[[ $(count "$J" "$PROPS" "msg.service=\"$py\"") == 1 ]] ||
		fail "down/up $proto: the properties were not reported once the collector came up"
	stop_serving "down-$proto"
	stop_peer "down-$proto"
	[[ $(count "$J" "$SEG" "msg.service=\"$py\"") == 2 ]] ||
		fail "down/up $proto: the server's segments did not arrive"
	grep -q "failed (Connection refused); retrying" "$WORK/down-$proto.python.log" ||
		fail "down/up $proto: no retry line: $(cat "$WORK/down-$proto.python.log")"
	! grep -q "spans lost" "$WORK/down-$proto.python.log" ||
		fail "down/up $proto: lost: $(cat "$WORK/down-$proto.python.log")"
	grep -Eq "2 spans lost of 2 recorded: .* 2 not sent before exit" "$WORK/down-$proto.curl.log" ||
		fail "down/up $proto: curl's unsent spans are not counted: $(cat "$WORK/down-$proto.curl.log")"
done

# --- stall and garbage: every request served, the program exits within its flush bound -------------
for proto in http grpc; do
	for mode in stall garbage; do
		name=$mode-$proto
		start_peer "$name" skywalking_peer.js "--$mode"
		paths "$proto"
		serve "$name" "$proto" "$BACKEND"
		client "$name" "$proto" "$BACKEND" 3
		wait_lines "$WORK/$name.jsonl" 3
		stop_serving "$name"
		stop_peer "$name"
		! grep -q "Segmentation\|Aborted" "$WORK/$name.python.log" "$WORK/$name.curl.log" ||
			fail "$name: crashed"
		[[ $("${PEER_CHECK[@]}" lines "$WORK/$name.jsonl" --path "$SEG") -ge 1 ]] ||
			fail "$name: no segment was even sent"
	done
	grep -Eq "spans lost of [0-9]+ recorded: .* [1-9][0-9]* not sent before exit" "$WORK/stall-$proto.python.log" ||
		fail "stall $proto: what never got an answer is not counted: $(cat "$WORK/stall-$proto.python.log")"
	! grep -q "spans lost" "$WORK/garbage-$proto.python.log" ||
		fail "garbage $proto: an answer that is no message is still an acceptance: $(cat "$WORK/garbage-$proto.python.log")"
done

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
