#!/usr/bin/env bash
# bench/grpc_sink, the gRPC collector of scripts/bench, against real clients: grpc-js (from
# tests/peers/node_modules, raw Buffer serializers) makes a client-streaming call and unary calls
# and gets grpc-status 0 with an empty message; then the shim exports SkyWalking segments and OTLP
# over gRPC to it from curl -> python3 -m http.server, and the sink's counts per path are what the
# shim sent: one collect message per segment (one span each here), the instance properties once
# per process. Garbage on a connection is counted, and the sink serves on. Registered as a unit
# test in bench/CMakeLists.txt (it is fast; the t_*.sh glob does not pick it up).
source "$(dirname "$0")/lib.sh"
need curl
need_peers
SINK=$RS_BUILD/bench/grpc_sink
[[ -x $SINK ]] || fail "no $SINK: build first"

COLLECT=/skywalking.v3.TraceSegmentReportService/collect
PROPS=/skywalking.v3.ManagementService/reportInstanceProperties
PING=/skywalking.v3.ManagementService/keepAlive
EXPORT=/opentelemetry.proto.collector.trace.v1.TraceService/Export

# start_sink: grpc_sink on a free port; sets SINK_PID and SINK_PORT. Its stdout is $WORK/sink.out.
start_sink() {
	"$SINK" 0 >"$WORK/sink.out" 2>"$WORK/sink.err" &
	SINK_PID=$!
	RS_PIDS+=("$SINK_PID")
	for _ in $(seq 200); do
		SINK_PORT=$(head -1 "$WORK/sink.out" 2>/dev/null || true)
		[[ $SINK_PORT =~ ^[0-9]+$ ]] && return 0
		sleep 0.05
	done
	fail "grpc_sink did not start: $(cat "$WORK/sink.err")"
}

# counts [FIELD...]: asks the running sink for its counters (SIGUSR1) and prints FIELDs of them
# (python expressions on the JSON object c, one line each).
counts() {
	local before
	before=$(wc -l <"$WORK/sink.out")
	kill -USR1 "$SINK_PID"
	for _ in $(seq 100); do
		[[ $(wc -l <"$WORK/sink.out") -gt $before ]] && break
		sleep 0.05
	done
	tail -1 "$WORK/sink.out" | "$PYTHON" -c '
import json, sys
c = json.loads(sys.stdin.read())
p = lambda path, k: c["paths"].get(path, {}).get(k, 0)
for e in sys.argv[1:]:
    print(eval(e))' "$@"
}

# --- grpc-js: a client stream of three messages (one larger than a frame and the window's
# default), an empty unary call, a unary call on the OTLP path --------------------------------------
start_sink
NODE_PATH=$PEERS/node_modules node - "$SINK_PORT" "$COLLECT" "$PING" "$EXPORT" >"$WORK/node.out" 2>&1 <<'JS' ||
const grpc = require("@grpc/grpc-js");
const [port, collect, ping, exp] = process.argv.slice(2);
const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
const id = (b) => b;
const out = {};
const done = () => {
	if (Object.keys(out).length === 3) {
		console.log(JSON.stringify(out, ["stream", "unary", "otlp", "len", "error"]));
		c.close();
	}
};
const cb = (name) => (err, reply) => {
	out[name] = err ? { error: err.code + " " + err.details } : { len: reply.length };
	done();
};
const s = c.makeClientStreamRequest(collect, id, id, cb("stream"));
s.write(Buffer.alloc(10, 1));
s.write(Buffer.alloc(0));
s.write(Buffer.alloc(300000, 2));
s.end();
c.makeUnaryRequest(ping, id, id, Buffer.alloc(0), cb("unary"));
c.makeUnaryRequest(exp, id, id, Buffer.alloc(1000, 3), cb("otlp"));
JS
	fail "grpc-js client: $(cat "$WORK/node.out")"
[[ $(cat "$WORK/node.out") == '{"stream":{"len":0},"unary":{"len":0},"otlp":{"len":0}}' ]] ||
	fail "grpc-js did not get an empty message with status OK on every call: $(cat "$WORK/node.out")"
got=$(counts 'p("'$COLLECT'", "calls"), p("'$COLLECT'", "messages"), p("'$COLLECT'", "bytes")' \
	'p("'$PING'", "calls"), p("'$PING'", "messages")' 'p("'$EXPORT'", "messages"), p("'$EXPORT'", "bytes")' \
	'c["requests"], c["messages"], c["bad_connections"]')
[[ $got == "(1, 3, 300025)
(1, 1)
(1, 1005)
(3, 5, 0)" ]] || fail "grpc-js: the sink's counts: $got"

# --- garbage on a connection (not HTTP/2; HTTP/2 with a DATA frame on stream 0): counted, closed,
# the sink lives on ---------------------------------------------------------------------------------
"$PYTHON" - "$SINK_PORT" <<'PY' || fail "garbage: the sink did not close the connection"
import socket, sys
for junk in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(range(256)) * 64,
             b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\0\0\0\x04\0\0\0\0\0" + b"\0\0\x04\0\0\0\0\0\0abcd"):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    s.sendall(junk)
    while s.recv(65536):
        pass
PY
[[ $(counts 'c["bad_connections"]') == 2 ]] || fail "garbage: not counted as two bad connections"

# --- the shim exporting SkyWalking segments over gRPC ----------------------------------------------
make_site
base=$(counts 'p("'$COLLECT'", "messages")') # the counts go on from grpc-js's calls
SW=(RINGSIDE_EXPORTER=skywalking SW_AGENT_PROTOCOL=grpc SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$SINK_PORT"
	RINGSIDE_CONN_SPANS=0 OTEL_BSP_SCHEDULE_DELAY=100)
serve_site python "${SW[@]}"
url=http://127.0.0.1:$PORT/index.html
n=5
args=()
for _ in $(seq $n); do
	args+=(-o /dev/null "$url")
done
traced "${SW[@]}" curl -sS "${args[@]}" 2>"$WORK/curl.log" || fail "curl failed: $(cat "$WORK/curl.log")"
stop_python
! grep -q ringside "$WORK/python.log" "$WORK/curl.log" ||
	fail "the shim complained (or lost spans): $(grep ringside "$WORK/python.log" "$WORK/curl.log")"
# Each request is one segment of one span in curl (its exit) and one in python (its entry).
got=$(counts 'p("'$COLLECT'", "messages")' 'p("'$PROPS'", "calls")' 'c["bad_connections"]')
[[ $got == "$((base + 2 * n))
2
2" ]] || fail "skywalking: expected $((2 * n)) segments, the instance properties twice, no new bad connection: $got"

# --- the shim exporting OTLP over gRPC: curl's span in one Export call of one message --------------
OT=(RINGSIDE_EXPORTER=otlp OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$SINK_PORT")
start_python "$PORT" "$WORK/site" bare
traced "${OT[@]}" curl -sS -o /dev/null "$url" 2>"$WORK/otlp.curl.log" || fail "otlp: curl failed"
stop_python
! grep -q ringside "$WORK/otlp.curl.log" || fail "otlp: the shim complained: $(cat "$WORK/otlp.curl.log")"
got=$(counts 'p("'$EXPORT'", "calls"), p("'$EXPORT'", "messages")')
[[ $got == "(2, 2)" ]] || fail "otlp: expected curl's span in one Export call: $got"

# --- SIGTERM: the final line, and exit 0 -----------------------------------------------------------
kill -TERM "$SINK_PID"
wait "$SINK_PID" || fail "grpc_sink exited $?"
tail -1 "$WORK/sink.out" | "$PYTHON" -c 'import json, sys; c = json.loads(sys.stdin.read()); assert c["requests"] >= 8, c' ||
	fail "no final counters: $(tail -1 "$WORK/sink.out")"
[[ ! -s $WORK/sink.err ]] || fail "grpc_sink complained: $(cat "$WORK/sink.err")"
echo PASS
