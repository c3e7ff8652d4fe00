#!/usr/bin/env bash
# The Kafka exporters over TLS, configured with producer properties in JSON
# (RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON; SW_PLUGIN_KAFKA_PRODUCER_CONFIG_JSON for SkyWalking), to
# librdkafka's mock cluster behind a TLS terminator (kafka_tls_relay.py) and read back with kcat
# and the peers' decoders. The broker advertises 127.0.0.1:PORT, where a client reconnects: the
# traced curl runs in its own network namespace (unshare -n), where the terminator listens on that
# same address and hands the bytes through a unix socket to a bridge to the real broker. With the
# test CA the spans arrive; with another CA, or a certificate for another name, nothing arrives,
# the handshakes fail and the spans are counted as lost. A JSON object that does not parse, and
# properties librdkafka refuses or the shim keeps, cost one stderr line each, never a secret.
source "$(dirname "$0")/lib.sh"
need curl kcat openssl unshare ip
need_peers
[[ -x $PROGS/kafka_mock ]] || fail "no $PROGS/kafka_mock: build first"
[[ $(id -u) == 0 ]] || skip "a network namespace (unshare -n) needs root"
unshare -n true 2>/dev/null || skip "unshare -n is not allowed here"
RELAY=$RS_SRC/tests/integration/kafka_tls_relay.py

# --- certificates (lib.sh): CAs "ca" and "other", "server" (ca's, for 127.0.0.1) and "elsewhere"
# (ca's, for another name)
make_test_certs
chmod -R a+rX "$C"

# wait_ready FILE PID WHAT: the relay prints "ready" once it listens.
wait_ready() {
	local i
	for i in $(seq 200); do
		grep -q '^ready$' "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || fail "$3 exited: $(cat "$1.err" 2>/dev/null)"
		sleep 0.05
	done
	fail "$3 did not start"
}

# cluster NAME TOPIC...: a one-broker mock cluster with a bridge from $WORK/NAME.sock to it; sets
# BOOT (127.0.0.1:PORT) and SOCK.
cluster() {
	local name=$1 t args=() i
	shift
	for t in "$@"; do args+=(--topic "$t"); done
	"$PROGS/kafka_mock" --brokers 1 --partitions 1 "${args[@]}" >"$WORK/$name.kafka" \
		2>"$WORK/$name.kafka.err" &
	RS_PIDS+=("$!")
	for i in $(seq 200); do
		BOOT=$(sed -n 's/^bootstrap=//p' "$WORK/$name.kafka" 2>/dev/null || true)
		[[ -n $BOOT ]] && break
		((i < 200)) || fail "kafka_mock did not start: $(cat "$WORK/$name.kafka.err")"
		sleep 0.05
	done
	[[ $BOOT =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "kafka_mock advertises $BOOT, not one 127.0.0.1:PORT"
	SOCK=$WORK/$name.sock
	"$PYTHON" "$RELAY" bridge "$SOCK" "$BOOT" >"$WORK/$name.bridge" 2>"$WORK/$name.bridge.err" &
	RS_PIDS+=("$!")
	wait_ready "$WORK/$name.bridge" "$!" "the bridge"
}

# in_ns NAME CERT [VAR=value...]: in a new network namespace, the TLS terminator on $BOOT with
# CERT (and its key), an untraced python3 -m http.server, and curl under the shim fetching it
# three times with the settings given. curl's stderr is $WORK/NAME.err, the terminator's
# handshakes $WORK/NAME.events.
make_site
in_ns() {
	local name=$1 cert=$2
	shift 2
	: >"$WORK/$name.events"
	NS_BOOT=$BOOT NS_CERT=$C/$cert.pem NS_KEY=$C/$cert.key NS_SOCK=$SOCK NS_NAME=$name \
		NS_RELAY=$RELAY NS_PY=$PYTHON NS_WORK=$WORK NS_SHIM=$SHIM NS_OUT=$OUT \
		unshare -n bash -c '
set -euo pipefail
ip link set lo up
"$NS_PY" "$NS_RELAY" tls "$NS_BOOT" "$NS_CERT" "$NS_KEY" "$NS_SOCK" "$NS_WORK/$NS_NAME.events" \
	>"$NS_WORK/$NS_NAME.relay" 2>"$NS_WORK/$NS_NAME.relay.err" &
relay=$!
(cd "$NS_WORK/site" && exec "$NS_PY" -m http.server --bind 127.0.0.1 8080) >/dev/null 2>&1 &
web=$!
trap "kill $relay $web 2>/dev/null || true" EXIT
for i in $(seq 200); do
	grep -q "^ready$" "$NS_WORK/$NS_NAME.relay" && grep -q ":1F90 00000000:0000 0A" /proc/net/tcp && break
	((i < 200)) || { echo "the namespace did not come up: $(cat "$NS_WORK/$NS_NAME.relay.err")" >&2; exit 1; }
	sleep 0.05
done
url=http://127.0.0.1:8080/index.html
env LD_PRELOAD="$NS_SHIM" RINGSIDE_OUTPUT_DIR="$NS_OUT" "$@" \
	curl -sS -o /dev/null -o /dev/null -o /dev/null "$url" "$url" "$url" 2>"$NS_WORK/$NS_NAME.err"
' ns "$@" || fail "$name: curl in the namespace failed: $(cat "$WORK/$name.err" 2>/dev/null)"
}

# read_kafka NAME TOPIC...: every record of the topics, decoded, into $WORK/NAME.jsonl.
read_kafka() {
	local name=$1 t args=()
	shift
	for t in "$@"; do args+=(--topic "$t"); done
	rm -f "$WORK/$name.jsonl"
	node "$PEERS/kafka_decode.js" --brokers "$BOOT" "${args[@]}" --out "$WORK/$name.jsonl" \
		2>"$WORK/$name.decode.err" || fail "$name: a record did not decode: $(cat "$WORK/$name.decode.err")"
}

# client_spans FILE SERVICE: curl's HTTP client spans of SERVICE that arrived (as distinct ids)
client_spans() {
	"${PEER_CHECK[@]}" dump "$1" | "$PYTHON" -c '
import json, sys
print(len({s["span"] for s in map(json.loads, sys.stdin)
           if s["http"] and s["kind"] == 3 and s["service"] == sys.argv[1] and s["exe"] == "curl"}))' "$2"
}

# no_shim_lines NAME: the shim said nothing on curl's stderr
no_shim_lines() {
	! grep -q ringside "$WORK/$1.err" || fail "$1: the shim complained: $(cat "$WORK/$1.err")"
}

OTLP_TOPICS=(otlp_spans otlp_metrics)
tls_props() { # tls_props CA [EXTRA]: the JSON object of the OTLP exporter's TLS settings
	printf '{"security.protocol":"ssl","ssl.ca.location":"%s"%s}' "$C/$1.pem" "${2:-}"
}

# --- RINGSIDE_EXPORTER=kafka over TLS, the right CA: the spans and the metrics arrive -------------
# (ssl.endpoint.identification.algorithm is left at librdkafka 2's default, https: the name is
# checked, here the certificate's IP address.)
cluster good "${OTLP_TOPICS[@]}"
in_ns good server RINGSIDE_EXPORTER=kafka RINGSIDE_KAFKA_BROKERS="$BOOT" OTEL_SERVICE_NAME=tls-kafka \
	RINGSIDE_FLUSH_TIMEOUT_MS=20000 RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON="$(tls_props ca)"
read_kafka good "${OTLP_TOPICS[@]}"
no_shim_lines good
[[ $(client_spans "$WORK/good.jsonl" tls-kafka) == 3 ]] ||
	fail "good: $(client_spans "$WORK/good.jsonl" tls-kafka) of curl's 3 client spans arrived"
"${PEER_CHECK[@]}" self-metrics "$WORK/good.jsonl" otlp_kafka_span_exporter 1 || fail "good: self-telemetry metrics"
grep -q "^handshake ok$" "$WORK/good.events" || fail "good: no TLS handshake: $(cat "$WORK/good.events")"
! grep -qi "alert" "$WORK/good.events" || fail "good: the client refused the broker: $(cat "$WORK/good.events")"

# --- another CA, then a certificate for another name: nothing arrives, the loss is counted -------
# A record waits a second for a broker; the exit flush gives up after three.
cluster bad "${OTLP_TOPICS[@]}"
for case in "other server" "ca elsewhere"; do
	read -r ca cert <<<"$case"
	name=bad-$cert-$ca
	in_ns "$name" "$cert" RINGSIDE_EXPORTER=kafka RINGSIDE_KAFKA_BROKERS="$BOOT" \
		OTEL_SERVICE_NAME=tls-bad RINGSIDE_SELF_METRICS=0 OTEL_EXPORTER_OTLP_TIMEOUT=1000 \
		RINGSIDE_FLUSH_TIMEOUT_MS=3000 RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON="$(tls_props "$ca")"
	grep -q "handshake failed" "$WORK/$name.events" || fail "$name: no failed handshake: $(cat "$WORK/$name.events")"
	! grep -q "handshake ok" "$WORK/$name.events" || fail "$name: a handshake succeeded"
	grep -q "ringside.*SSL handshake failed.*certificate verify failed" "$WORK/$name.err" ||
		fail "$name: no line on the failed verification: $(cat "$WORK/$name.err")"
	grep -Eq "([0-9]+) spans lost of \1 recorded: .*not sent before exit" "$WORK/$name.err" ||
		fail "$name: the loss line: $(cat "$WORK/$name.err")"
done
read_kafka bad "${OTLP_TOPICS[@]}"
[[ ! -s $WORK/bad.jsonl ]] || fail "bad: records arrived through a refused handshake: $(head -c 300 "$WORK/bad.jsonl")"

# --- bad settings: one line each, no secret shown, the rest applies (plaintext, no namespace) ----
cluster plain "${OTLP_TOPICS[@]}"
REFUSED='
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])))  # refused: a span all the same
except OSError:
    pass'
traced RINGSIDE_EXPORTER=kafka RINGSIDE_KAFKA_BROKERS="$BOOT" OTEL_SERVICE_NAME=plain-props \
	RINGSIDE_SELF_METRICS=0 RINGSIDE_FLUSH_TIMEOUT_MS=20000 RINGSIDE_LOG_LEVEL=error \
	RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON='{"my.password":"hunter2","no.such.property":"x1",
		"log.queue":false,"bootstrap.servers":"127.0.0.1:1","plugin.library.paths":"/tmp/x.so",
		"linger.ms":"soon","compression.codec":"gzip","acks":-1}' \
	"$PYTHON" -c "$REFUSED" "$(free_port)" 2>"$WORK/props.err" || fail "props: python failed: $(cat "$WORK/props.err")"
! grep -q hunter2 "$WORK/props.err" || fail "props: a password reached stderr: $(cat "$WORK/props.err")"
"$PYTHON" - "$WORK/props.err" <<'EOF' || fail "props: the lines: $(cat "$WORK/props.err")"
import re, sys
lines = [l for l in open(sys.argv[1]) if "ringside" in l]
want = [
    r"RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON: librdkafka refuses my\.password=\(not shown\): .*; skipped",
    r"RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON: librdkafka refuses no\.such\.property=x1: .*; skipped",
    r"RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON: log\.queue is not for producer settings .*; skipped",
    r"RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON: bootstrap\.servers is not for producer settings .*; skipped",
    r"RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON: plugin\.library\.paths is not for producer settings .*; skipped",
    r"RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON: librdkafka refuses linger\.ms=soon: .*; skipped",
]
assert len(lines) == len(want), lines
for w in want:
    assert sum(bool(re.search(w, l)) for l in lines) == 1, (w, lines)
EOF
# A JSON object that does not parse: one line without its value, and the exporter runs on without
# it. Holding a password, it must not be shown.
traced RINGSIDE_EXPORTER=kafka RINGSIDE_KAFKA_BROKERS="$BOOT" OTEL_SERVICE_NAME=plain-broken \
	RINGSIDE_SELF_METRICS=0 RINGSIDE_FLUSH_TIMEOUT_MS=20000 \
	RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON='{"sasl.password":"hunter2","nested":{"a":1}}' \
	"$PYTHON" -c "$REFUSED" "$(free_port)" 2>"$WORK/broken.err" || fail "broken: python failed: $(cat "$WORK/broken.err")"
[[ $(grep -c ringside "$WORK/broken.err") == 1 ]] &&
	grep -q 'RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON=(value not shown) is not a flat JSON object of properties: a value is an object or array .*; using none' "$WORK/broken.err" ||
	fail "broken: $(cat "$WORK/broken.err")"
# A CA file librdkafka cannot load: no producer (one line says why), the spans are counted, the
# program runs on and exits as it would.
traced RINGSIDE_EXPORTER=kafka RINGSIDE_KAFKA_BROKERS="$BOOT" OTEL_SERVICE_NAME=plain-noca \
	RINGSIDE_SELF_METRICS=0 RINGSIDE_KAFKA_PRODUCER_CONFIG_JSON="$(tls_props nonexistent)" \
	"$PYTHON" -c "$REFUSED" "$(free_port)" 2>"$WORK/noca.err" || fail "noca: python failed: $(cat "$WORK/noca.err")"
grep -q "Kafka exporter: cannot create a Kafka producer: ssl.ca.location failed" "$WORK/noca.err" &&
	grep -q "RINGSIDE_EXPORTER=kafka cannot start; spans are dropped and counted" "$WORK/noca.err" ||
	grep -Eq "([0-9]+) spans lost of \1 recorded" "$WORK/noca.err" || fail "noca: $(cat "$WORK/noca.err")"
read_kafka plain "${OTLP_TOPICS[@]}"
"${PEER_CHECK[@]}" dump "$WORK/plain.jsonl" | "$PYTHON" -c '
import json, sys
got = {s["service"] for s in map(json.loads, sys.stdin) if not s["http"]}
assert got == {"plain-props", "plain-broken"}, got' || fail "plain: the spans of both runs did not arrive"

# --- SkyWalking over Kafka (SW_AGENT_PROTOCOL=kafka) over TLS ------------------------------------
SW_TOPICS=(skywalking-segments skywalking-managements)
cluster sw "${SW_TOPICS[@]}"
SW=(RINGSIDE_EXPORTER=skywalking SW_AGENT_PROTOCOL=kafka SW_KAFKA_BOOTSTRAP_SERVERS="$BOOT"
	SW_AGENT_NAME=tls-sw RINGSIDE_FLUSH_TIMEOUT_MS=20000)
in_ns sw server "${SW[@]}" SW_PLUGIN_KAFKA_PRODUCER_CONFIG_JSON="$(tls_props ca ',"linger.ms":1')"
no_shim_lines sw
grep -q "^handshake ok$" "$WORK/sw.events" || fail "sw: no TLS handshake: $(cat "$WORK/sw.events")"
# the other CA: nothing arrives, the segments are counted as lost
in_ns sw-bad server "${SW[@]}" SW_AGENT_NAME=tls-sw-bad RINGSIDE_FLUSH_TIMEOUT_MS=3000 \
	OTEL_EXPORTER_OTLP_TIMEOUT=1000 SW_PLUGIN_KAFKA_PRODUCER_CONFIG_JSON="$(tls_props other)"
grep -q "handshake failed" "$WORK/sw-bad.events" || fail "sw-bad: no failed handshake"
grep -q "ringside.*certificate verify failed" "$WORK/sw-bad.err" || fail "sw-bad: $(cat "$WORK/sw-bad.err")"
grep -Eq "[0-9]+ spans lost of [0-9]+ recorded" "$WORK/sw-bad.err" || fail "sw-bad: the loss line: $(cat "$WORK/sw-bad.err")"
read_kafka sw "${SW_TOPICS[@]}"
"$PYTHON" - "$WORK/sw.jsonl" <<'EOF' || fail "sw: the segments"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
segs = [r for r in recs if r["path"] == "skywalking-segments"]
services = {r["msg"]["service"] for r in recs}
assert services == {"tls-sw"}, services  # nothing of the run with the wrong CA
exits = [s for r in segs for s in r["msg"]["spans"] if s.get("spanType") in ("Exit", 1)]
assert len(exits) >= 3, f"{len(exits)} exit spans of curl's 3 requests: {segs}"
assert all(r["key"] == r["msg"]["traceSegmentId"] for r in segs), "keys"
assert any(r["path"] == "skywalking-managements" and r["key"].startswith("register-") for r in recs), "no properties"
EOF
echo PASS
