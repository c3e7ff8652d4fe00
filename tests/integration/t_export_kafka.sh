#!/usr/bin/env bash
# RINGSIDE_EXPORTER=kafka against librdkafka's mock cluster (build/tests/kafka_mock), read back with
# kcat and decoded with the OpenTelemetry JS SDK's generated code (tests/peers/kafka_decode.js):
# curl -> python3 -m http.server arrives on otlp_spans with its parent links intact and the
# counters on otlp_metrics; nothing from librdkafka's own sockets is traced; spans recorded while
# the partitions' leader is down arrive once it is back; with the cluster gone the program keeps
# serving, exits within the flush bound and counts what it could not send.
source "$(dirname "$0")/lib.sh"
need curl kcat readelf
need_peers
[[ -x $PROGS/kafka_mock ]] || fail "no $PROGS/kafka_mock: build first"

make_site
py=$(python_exe)

# The shim itself never needs librdkafka: only a process exporting to Kafka loads it.
[[ $(readelf -d "$SHIM_LIB") != *librdkafka* ]] || fail "libringside.so has a DT_NEEDED on librdkafka"

# start_kafka NAME [FLAGS...]: a mock cluster with the two OTLP topics; sets KAFKA_PID and BOOT.
start_kafka() {
	local name=$1 i
	shift
	"$PROGS/kafka_mock" "$@" --topic otlp_spans --topic otlp_metrics >"$WORK/$name.kafka" \
		2>"$WORK/$name.kafka.err" &
	KAFKA_PID=$!
	RS_PIDS+=("$KAFKA_PID")
	for i in $(seq 200); do
		BOOT=$(sed -n 's/^bootstrap=//p' "$WORK/$name.kafka" 2>/dev/null || true)
		[[ -n $BOOT ]] && return 0
		kill -0 "$KAFKA_PID" 2>/dev/null || fail "kafka_mock exited: $(cat "$WORK/$name.kafka.err")"
		sleep 0.05
	done
	fail "kafka_mock did not start"
}

# read_kafka NAME: every record of both topics, decoded, into $WORK/NAME.jsonl (replaced).
read_kafka() {
	rm -f "$WORK/$1.jsonl"
	node "$PEERS/kafka_decode.js" --brokers "$BOOT" --topic otlp_spans --topic otlp_metrics \
		--out "$WORK/$1.jsonl" 2>"$WORK/$1.decode.err" || fail "$1: a record did not decode: $(cat "$WORK/$1.decode.err")"
}

# broker_signal NAME SIG WORD: kafka_mock confirms "broker 1 WORD".
broker_signal() {
	local i
	kill "-$2" "$KAFKA_PID"
	for i in $(seq 200); do
		grep -q "^broker 1 $3" "$WORK/$1.kafka" && return 0
		sleep 0.05
	done
	fail "$1: kafka_mock did not take broker 1 $3"
}

# serve NAME [VAR=value...]: python3 -m http.server under the shim, exporting to the cluster.
serve() {
	local name=$1
	shift
	serve_site "$name" RINGSIDE_EXPORTER=kafka RINGSIDE_KAFKA_BROKERS="$BOOT" "$@"
}


# stop_serving NAME SECONDS: SIGINT, and python must be gone within SECONDS.
stop_serving() { # stop_serving NAME SECONDS
	sigint_wait "$PY_PID" "$1: python" "$2"
}

server_spans() { # server_spans FILE: distinct HTTP server spans that arrived
	"${PEER_CHECK[@]}" dump "$1" | "$PYTHON" -c '
import json, sys
print(len({s["span"] for s in map(json.loads, sys.stdin) if s["http"] and s["kind"] == 2}))'
}

# --- the chain, self-metrics, and nothing traced of librdkafka's own connections ---------------
# A generous flush bound: what is checked here is what arrives, however loaded the machine.
start_kafka chain
serve chain OTEL_SERVICE_NAME=chain-kafka RINGSIDE_FLUSH_TIMEOUT_MS=20000
url=http://127.0.0.1:$PORT/index.html
traced RINGSIDE_EXPORTER=kafka RINGSIDE_KAFKA_BROKERS="$BOOT" OTEL_SERVICE_NAME=chain-kafka \
	RINGSIDE_FLUSH_TIMEOUT_MS=20000 curl -sS -o /dev/null -o /dev/null -o /dev/null "$url" "$url" "$url" 2>"$WORK/chain.curl.log" ||
	fail "chain: curl failed"
# While python still runs: it has librdkafka mapped, and a process exporting to a file does not
# (once its exporter has started: its file exists).
for i in $(seq 200); do # the exporter starts on the reporter thread, soon after the first span
	grep -q librdkafka "/proc/$PY_PID/maps" && break
	((i < 200)) || fail "chain: the Kafka exporter runs without librdkafka?"
	sleep 0.05
done
# librdkafka's pipes and sockets are close-on-exec and out of the low numbers (python itself makes
# no pipe, and its sockets are close-on-exec: only what this shell passed down may differ).
"$PYTHON" - "$PY_PID" "$$" <<'EOF' || fail "chain: librdkafka's descriptors"
import os, sys
def fds(pid):
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            flags = next(l for l in open(f"/proc/{pid}/fdinfo/{fd}") if l.startswith("flags:"))
        except OSError:
            continue
        out[int(fd)] = (target, bool(int(flags.split()[1], 8) & 0o2000000))
    return out
py, passed = fds(sys.argv[1]), {t for t, _ in fds(sys.argv[2]).values()}
mine = {fd: t for fd, (t, cloexec) in py.items() if t not in passed and t.startswith(("pipe:", "socket:"))}
assert sum(t.startswith("pipe:") for t in mine.values()) >= 2, f"no pipe of librdkafka's? {mine}"
bad = {fd: t for fd, (t, cloexec) in py.items() if fd in mine and (not cloexec or (t.startswith("pipe:") and fd < 100))}
assert not bad, f"inheritable or low: {bad}"
EOF
traced "$PYTHON" -c '
import os, socket, sys, time
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])))  # refused: a span all the same
except OSError:
    pass
for _ in range(200):
    if os.path.isdir(sys.argv[2]) and os.listdir(sys.argv[2]):
        break
    time.sleep(0.05)
else:
    sys.exit("the file exporter never started")
sys.exit("librdkafka is mapped" if "librdkafka" in open("/proc/self/maps").read() else 0)
' "$(free_port)" "$OUT" || fail "file exporter: librdkafka loaded where Kafka is not used"
rm -rf "$OUT"
stop_serving chain 30
read_kafka chain
[[ ! -e $OUT ]] || [[ -z $(ls "$OUT") ]] || fail "chain: the file exporter wrote $(ls "$OUT")"
! grep -q ringside "$WORK/chain.log" "$WORK/chain.curl.log" ||
	fail "chain: the shim complained: $(grep ringside "$WORK/chain.log" "$WORK/chain.curl.log")"
"${PEER_CHECK[@]}" chain "$WORK/chain.jsonl" 3 curl "$py" || fail "chain: the chain is broken"
[[ $("${PEER_CHECK[@]}" field "$WORK/chain.jsonl" transport | sort -u) == '"kafka"' ]] || fail "chain: transport"
[[ $("${PEER_CHECK[@]}" field "$WORK/chain.jsonl" path | sort -u | tr "\n" " ") == '"otlp_metrics" "otlp_spans" ' ]] ||
	fail "chain: wrong topics: $("${PEER_CHECK[@]}" field "$WORK/chain.jsonl" path | sort -u)"
# The Collector's receiver ignores keys; the partitioner spreads records without one.
[[ $("${PEER_CHECK[@]}" field "$WORK/chain.jsonl" key | sort -u) == null ]] || fail "chain: records carry a key"
"${PEER_CHECK[@]}" self-metrics "$WORK/chain.jsonl" otlp_kafka_span_exporter 2 || fail "chain: self-telemetry metrics"
# librdkafka's threads are internal: no span of a connection to a broker, from either process.
ports=$(tr , '\n' <<<"$BOOT" | sed 's/.*://' | paste -sd,)
"${PEER_CHECK[@]}" dump "$WORK/chain.jsonl" | "$PYTHON" -c '
import json, sys
brokers = {int(p) for p in sys.argv[1].split(",")}
spans = [json.loads(l) for l in sys.stdin]
assert {s["service"] for s in spans} == {"chain-kafka"}, {s["service"] for s in spans}
assert any(s["name"].startswith("accept :") for s in spans), "no connection spans at all"
bad = [s for s in spans if brokers & {s["attrs"].get(k) for k in ("network.peer.port", "server.port")}]
assert not bad, bad
' "$ports" || fail "chain: a span of librdkafka's own connections"
# A topic name Kafka would refuse: one line, and the default topic instead.
traced RINGSIDE_EXPORTER=kafka RINGSIDE_KAFKA_BROKERS="$BOOT" RINGSIDE_KAFKA_TRACES_TOPIC='bad topic!' \
	RINGSIDE_SELF_METRICS=0 RINGSIDE_FLUSH_TIMEOUT_MS=20000 "$PYTHON" -c '
import os, socket, sys
print(os.getpid())
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])))
except OSError:
    pass' "$(free_port)" >"$WORK/badtopic.pid" 2>"$WORK/badtopic.err"
[[ $(grep -c ringside "$WORK/badtopic.err") == 1 ]] &&
	grep -q 'RINGSIDE_KAFKA_TRACES_TOPIC="bad topic!" is no Kafka topic name .*; using otlp_spans' "$WORK/badtopic.err" ||
	fail "bad topic: $(cat "$WORK/badtopic.err")"
read_kafka badtopic
[[ $("${PEER_CHECK[@]}" dump "$WORK/badtopic.jsonl") == *"\"pid\": $(cat "$WORK/badtopic.pid"),"* ]] ||
	fail "bad topic: the span did not reach otlp_spans"
# (Not under ASan: GCC 12's libasan does not hold its allocator's locks across fork(), so a child
# forked while another thread allocates can hang starting a thread; see tests/CMakeLists.txt.)
if [[ ${RS_SANITIZE:-} == address ]]; then
	echo "ASan mode: the fork_connect part is left out (libasan and fork with threads)"
else
# fork without exec: the child forgets the parent's producer (its threads did not survive the
# fork) and makes its own; every process's spans arrive, none twice.
port=$(free_port)
start_python "$port" "$WORK/site" bare
traced RINGSIDE_EXPORTER=kafka RINGSIDE_KAFKA_BROKERS="$BOOT" RINGSIDE_SELF_METRICS=0 \
	RINGSIDE_FLUSH_TIMEOUT_MS=10000 "$PROGS/fork_connect" "$port" 3 2>"$WORK/fork.err" ||
	fail "fork: fork_connect failed: $(cat "$WORK/fork.err")"
stop_python
read_kafka fork
"${PEER_CHECK[@]}" dump "$WORK/fork.jsonl" | "$PYTHON" -c '
import collections, json, sys
port = int(sys.argv[1])
spans = [s for s in map(json.loads, sys.stdin) if s["exe"] == "fork_connect"]
assert len({s["span"] for s in spans}) == len(spans), "a span arrived twice"
per = collections.Counter(s["pid"] for s in spans if not s["http"] and s["attrs"].get("server.port") == port)
assert len(per) == 4, per
assert sorted(per.values())[:3] == [1, 1, 1], per  # each child connected once; the parent more
' "$port" || fail "fork: the processes' spans"
fi
kill "$KAFKA_PID"
wait "$KAFKA_PID" || fail "kafka_mock did not exit cleanly"

# --- the leader down while the program runs, then back: every span arrives ----------------------
# Every partition is led by broker 1, so what is produced while it is down waits for it; records
# time out after a second and go back to the delivery queue, retried with backoff.
start_kafka down --leader 1
serve down OTEL_BSP_SCHEDULE_DELAY=50 OTEL_EXPORTER_OTLP_TIMEOUT=1000 RINGSIDE_CONN_SPANS=0 \
	RINGSIDE_FLUSH_TIMEOUT_MS=30000
requests 3
broker_signal down USR1 down
requests 4
for i in $(seq 300); do # the first record produced meanwhile times out, and is retried
	grep -q "failed (Local: Message timed out); retrying" "$WORK/down.log" && break
	((i < 300)) || fail "down/up: no retry line: $(cat "$WORK/down.log")"
	sleep 0.1
done
requests 2
broker_signal down USR2 up
requests 3
stop_serving down 40
read_kafka down
[[ $(server_spans "$WORK/down.jsonl") == 12 ]] || fail "down/up: $(server_spans "$WORK/down.jsonl") of 12 spans arrived"
grep -q "works again" "$WORK/down.log" || fail "down/up: no recovery line: $(cat "$WORK/down.log")"
! grep -q "spans lost" "$WORK/down.log" || fail "down/up: spans were lost: $(cat "$WORK/down.log")"
# librdkafka repeats itself while a broker is away: one line per condition reaches stderr.
dups=$(grep -o 'ringside\[[0-9]*\]: .*' "$WORK/down.log" | sed 's/ (.*//' | sort | uniq -d)
[[ -z $dups ]] || fail "down/up: repeated lines: $dups"
kill "$KAFKA_PID"
wait "$KAFKA_PID" || fail "kafka_mock did not exit cleanly"

# --- the whole cluster gone mid-run: the program keeps serving and counts what it lost -----------
start_kafka gone
serve gone OTEL_BSP_SCHEDULE_DELAY=50 RINGSIDE_CONN_SPANS=0 OTEL_METRIC_EXPORT_INTERVAL=100
requests 5
# Known delivered: a metrics record that counts the five as exported came after their ack (and
# the spans are read in the same pass: the topics are read one after the other).
for i in $(seq 100); do
	read_kafka gone
	[[ $(server_spans "$WORK/gone.jsonl") == 5 ]] && "${PEER_CHECK[@]}" field "$WORK/gone.jsonl" msg --path otlp_metrics | "$PYTHON" -c '
import json, sys
for l in sys.stdin.read().splitlines():  # all of it: an early exit would break the pipe
    for rm in json.loads(l)["resourceMetrics"]:
        for sm in rm["scopeMetrics"]:
            for m in sm["metrics"]:
                if m["name"] == "otel.sdk.exporter.span.exported":
                    for p in m["sum"]["dataPoints"]:
                        if len(p.get("attributes", [])) == 1 and p.get("asInt") == "5":
                            sys.exit(0)
sys.exit(1)' && break
	((i < 100)) || fail "gone: the first five spans were never acknowledged"
	sleep 0.1
done
kill -9 "$KAFKA_PID"
wait "$KAFKA_PID" 2>/dev/null || true
requests 20
stop_serving gone 5
[[ $(server_spans "$WORK/gone.jsonl") == 5 ]] || fail "gone: $(server_spans "$WORK/gone.jsonl") spans before the cluster went"
grep -Eq "20 spans lost of 25 recorded: .* 20 not sent before exit" "$WORK/gone.log" ||
	fail "gone: the loss line: $(cat "$WORK/gone.log")"
echo PASS
