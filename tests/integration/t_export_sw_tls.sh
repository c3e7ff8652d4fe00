#!/usr/bin/env bash
# TLS to the SkyWalking OAP, in the Java agent's variables: SW_AGENT_FORCE_TLS, a CA file
# (SW_AGENT_SSL_TRUSTED_CA_PATH, which alone turns TLS on), mutual TLS (SW_AGENT_SSL_CERT_CHAIN_PATH,
# SW_AGENT_SSL_KEY_PATH), and https:// for the HTTP receivers. The peer decodes with SkyWalking's
# own generated code and serves TLS itself (grpc-js, node https); the certificates are a test CA
# made here. Segments, management messages and profile-task polls all go over TLS; a wrong CA is
# refused, said once, and the spans are counted.
source "$(dirname "$0")/lib.sh"
need curl
need_peers

make_site
make_test_certs
py=$(python_exe)
TLS_PEER=(--tls-cert "$C/server.pem" --tls-key "$C/server.key")
SEG_GRPC=/skywalking.v3.TraceSegmentReportService/collect
COMMON=(RINGSIDE_EXPORTER=skywalking RINGSIDE_CONN_SPANS=0 OTEL_BSP_SCHEDULE_DELAY=100
	SW_AGENT_COLLECTOR_HEARTBEAT_PERIOD=1 SW_AGENT_COLLECTOR_GET_PROFILE_TASK_INTERVAL=1
	RINGSIDE_FLUSH_TIMEOUT_MS=1000)

# chain NAME [VAR=value...]: curl -> python3 -m http.server, both under the shim with the settings.
chain() {
	local name=$1
	shift
	serve "$name" "${COMMON[@]}" "$@"
	traced env "${COMMON[@]}" "$@" curl -sS -o /dev/null "http://127.0.0.1:$PORT/index.html" \
		-o /dev/null "http://127.0.0.1:$PORT/index.html" 2>"$WORK/$name.curl.log" ||
		fail "$name: curl failed: $(cat "$WORK/$name.curl.log")"
}
count() { # count FILE PATH: lines that arrived on PATH
	"${PEER_CHECK[@]}" field "$1" path --path "$2" | grep -c . || true
}
wait_path() { # wait_path FILE PATH N: until N lines arrived on PATH (10 s at most)
	local i
	for i in $(seq 100); do
		[[ $(count "$1" "$2") -ge $3 ]] && return 0
		sleep 0.1
	done
	return 1
}
delivered() { # delivered NAME TRANSPORT: the chain arrived intact, every message over TLS
	local J=$WORK/$1.jsonl
	no_complaint "$1"
	"${PEER_CHECK[@]}" chain "$J" 2 curl "$py" || fail "$1: the chain is broken"
	"${PEER_CHECK[@]}" sw-refs "$J" 2 "$py" || fail "$1: the refs do not point at curl's segments"
	[[ $("${PEER_CHECK[@]}" field "$J" transport | sort -u) == "\"$2\"" ]] || fail "$1: not $2"
	[[ -z $("${PEER_CHECK[@]}" field "$J" error | grep -v null) ]] || fail "$1: the peer refused a message"
}
no_complaint() {
	! grep -Eq "ringside.*(rror|TLS|lost)|Sanitizer|Traceback" "$WORK/$1.python.log" "$WORK/$1.curl.log" ||
		fail "$1: $(cat "$WORK/$1.python.log" "$WORK/$1.curl.log")"
}
# serve NAME [VAR=value...]: python3 -m http.server under the shim with the settings.
serve() {
	local name=$1
	shift
	serve_site "$name.python" "$@"
}
stop_serving() { # stop_serving NAME: python under the shim, through its exit flush
	sigint_wait "$PY_PID" "$1: python"
}

# --- gRPC: SW_AGENT_FORCE_TLS with the test CA; keepAlive and profile-task polls ride the same TLS
start_peer grpcs skywalking_peer.js "${TLS_PEER[@]}"
chain grpcs SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$GRPC" SW_AGENT_FORCE_TLS=true \
	SW_AGENT_SSL_TRUSTED_CA_PATH="$C/ca.pem"
wait_path "$WORK/grpcs.jsonl" /skywalking.v3.ManagementService/keepAlive 2 || fail "grpcs: no keepAlive"
wait_path "$WORK/grpcs.jsonl" /skywalking.v3.ProfileTask/getProfileTaskCommands 2 ||
	fail "grpcs: no profile-task poll"
stop_serving grpcs
stop_peer grpcs
delivered grpcs grpc
[[ $("${PEER_CHECK[@]}" field "$WORK/grpcs.jsonl" 'headers.:scheme' | sort -u) == '"https"' ]] ||
	fail "grpcs: :scheme is $("${PEER_CHECK[@]}" field "$WORK/grpcs.jsonl" 'headers.:scheme' | sort -u)"

# --- HTTP: an https:// address and a CA file; poll() instead of io_uring --------------------------
start_peer https skywalking_peer.js "${TLS_PEER[@]}" --host localhost
chain https SW_AGENT_PROTOCOL=http SW_AGENT_COLLECTOR_BACKEND_SERVICES="https://localhost:$HTTP" \
	SW_AGENT_SSL_TRUSTED_CA_PATH="$C/ca.pem" RINGSIDE_IO=poll
wait_path "$WORK/https.jsonl" /v3/management/keepAlive 2 || fail "https: no keepAlive"
stop_serving https
stop_peer https
delivered https http-json

# --- mutual TLS: the OAP asks for the agent's certificate; the CA file alone turns TLS on ---------
MTLS=(SW_AGENT_SSL_TRUSTED_CA_PATH="$C/ca.pem" SW_AGENT_SSL_CERT_CHAIN_PATH="$C/client.pem"
	SW_AGENT_SSL_KEY_PATH="$C/client.key")
start_peer mtls skywalking_peer.js "${TLS_PEER[@]}" --tls-client-ca "$C/ca.pem"
chain mtls SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$GRPC" "${MTLS[@]}"
stop_serving mtls
stop_peer mtls
delivered mtls grpc

# Without its certificate the agent is refused by that OAP: nothing arrives, the loss is counted.
start_peer nocert.peer skywalking_peer.js "${TLS_PEER[@]}" --tls-client-ca "$C/ca.pem"
serve nocert "${COMMON[@]}" SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$GRPC" \
	SW_AGENT_SSL_TRUSTED_CA_PATH="$C/ca.pem" OTEL_BSP_SCHEDULE_DELAY=60000
curl -sS -o /dev/null "http://127.0.0.1:$PORT/index.html" || fail "nocert: request failed"
stop_serving nocert
stop_peer nocert.peer
[[ $(count "$WORK/nocert.peer.jsonl" "$SEG_GRPC") == 0 ]] || fail "nocert: segments were accepted"
grep -Eq "spans lost of 1 recorded" "$WORK/nocert.python.log" ||
	fail "nocert: the loss is not counted: $(cat "$WORK/nocert.python.log")"

# --- refused: the system's CAs and another CA do not know the OAP's certificate -------------------
for ca in system other; do
	var=()
	[[ $ca == other ]] && var=(SW_AGENT_SSL_TRUSTED_CA_PATH="$C/other.pem")
	name=refused_$ca
	start_peer "$name.peer" skywalking_peer.js "${TLS_PEER[@]}"
	serve "$name" "${COMMON[@]}" SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$GRPC" \
		SW_AGENT_FORCE_TLS=true "${var[@]}" OTEL_BSP_SCHEDULE_DELAY=60000
	for i in 1 2 3; do
		curl -sS -o /dev/null "http://127.0.0.1:$PORT/index.html" || fail "$name: request failed"
	done
	stop_serving "$name"
	stop_peer "$name.peer"
	L=$WORK/$name.python.log
	[[ ! -s $WORK/$name.peer.jsonl ]] || fail "$name: something was delivered: $(cat "$WORK/$name.peer.jsonl")"
	grep -Eq "TLS with [^ ]+: certificate verify failed: (unable to get local issuer certificate|self-signed certificate in certificate chain)" "$L" ||
		fail "$name: no verification line: $(cat "$L")"
	[[ $(grep -c "certificate verify failed" "$L") == 1 ]] || fail "$name: said more than once: $(cat "$L")"
	grep -Eq "spans lost of 3 recorded: .*3 export failed" "$L" || fail "$name: the loss is not counted: $(cat "$L")"
	! grep -Eq "Sanitizer|Traceback|Segmentation" "$L" || fail "$name: $(cat "$L")"
done

# --- settings that cannot be used: one line at start, nothing sent unverified --------------------
start_peer badkey.peer skywalking_peer.js "${TLS_PEER[@]}"
serve badkey "${COMMON[@]}" SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$GRPC" \
	SW_AGENT_SSL_TRUSTED_CA_PATH="$C/ca.pem" SW_AGENT_SSL_CERT_CHAIN_PATH="$C/client.pem"
curl -sS -o /dev/null "http://127.0.0.1:$PORT/index.html" || fail "badkey: request failed"
stop_serving badkey
stop_peer badkey.peer
[[ ! -s $WORK/badkey.peer.jsonl ]] || fail "badkey: something was delivered"
grep -q "TLS has a client certificate but no client key" "$WORK/badkey.python.log" ||
	fail "badkey: no line: $(cat "$WORK/badkey.python.log")"

# Kafka takes its TLS from the producer configuration: the TLS variables say so instead of being
# silently ignored (the exporter starts with the first connection).
env "${COMMON[@]}" LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" SW_AGENT_PROTOCOL=kafka RINGSIDE_FLUSH_TIMEOUT_MS=100 RINGSIDE_CONN_SPANS=1 \
	SW_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1 SW_AGENT_FORCE_TLS=true curl -s http://127.0.0.1:1/ 2>"$WORK/kafka.log" || true
grep -q "SW_AGENT_FORCE_TLS and SW_AGENT_SSL_\* apply to gRPC and HTTP" "$WORK/kafka.log" ||
	fail "kafka: no line for the TLS variables: $(cat "$WORK/kafka.log")"
echo "ok"
