#!/usr/bin/env bash
# TLS to collectors: https:// OTLP endpoints, over HTTP and gRPC (ALPN h2), verified against a test
# CA made here with the openssl CLI (OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE), the OTLP peer serving
# TLS itself (--tls-cert/--tls-key); io_uring and poll(). A wrong CA and a certificate for another
# name are refused: nothing is sent, one stderr line says why, the spans are counted, the program
# exits promptly. Servers that answer the handshake with garbage, or hang up, break nothing.
source "$(dirname "$0")/lib.sh"
need curl openssl
need_peers

# The shim itself never links OpenSSL: it is loaded on first use.
! readelf -d "$SHIM_LIB" | grep -Eq 'libssl|libcrypto' || fail "the shim links OpenSSL: $(readelf -d "$SHIM_LIB" | grep NEEDED)"

make_site
py=$(python_exe)
TRACE_PATH=/opentelemetry.proto.collector.trace.v1.TraceService/Export

# --- certificates: a test CA and its server certificate, another CA, a certificate for another name
make_test_certs
TLS_PEER=(--tls-cert "$C/server.pem" --tls-key "$C/server.key")


# --- delivered over TLS -------------------------------------------------------------------------
# http/protobuf, the general variables. curl uses OpenSSL itself and exits at once: its spans go in
# the shim's last flush, after curl's OpenSSL was cleaned up at exit (hooks/openssl.c keeps it).
start_peer https otlp_peer.js "${TLS_PEER[@]}"
otlp_chain https OTEL_EXPORTER_OTLP_ENDPOINT="https://127.0.0.1:$HTTP" \
	OTEL_EXPORTER_OTLP_CERTIFICATE="$C/ca.pem"
stop_peer https
"${PEER_CHECK[@]}" chain "$WORK/https.jsonl" 3 curl "$py" || fail "https: the chain is broken"
[[ $("${PEER_CHECK[@]}" field "$WORK/https.jsonl" transport | sort -u) == '"http-protobuf"' ]] ||
	fail "https: not every export was protobuf over HTTP"
"${PEER_CHECK[@]}" self-metrics "$WORK/https.jsonl" otlp_http_span_exporter 2 ||
	fail "https: the metrics did not arrive over TLS"

# gRPC over TLS (ALPN h2), the traces' own variables, a host name (SNI and its check), poll()
start_peer grpcs otlp_peer.js "${TLS_PEER[@]}" --host localhost
otlp_chain grpcs RINGSIDE_IO=poll OTEL_EXPORTER_OTLP_PROTOCOL=grpc RINGSIDE_SELF_METRICS=0 \
	OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="https://localhost:$GRPC" \
	OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE="$C/ca.pem"
stop_peer grpcs
"${PEER_CHECK[@]}" chain "$WORK/grpcs.jsonl" 3 curl "$py" || fail "grpc+tls: the chain is broken"
[[ $("${PEER_CHECK[@]}" field "$WORK/grpcs.jsonl" transport | sort -u) == '"grpc"' ]] ||
	fail "grpc+tls: not every export was gRPC"
[[ $("${PEER_CHECK[@]}" field "$WORK/grpcs.jsonl" 'headers.:scheme' | sort -u) == '"https"' ]] ||
	fail "grpc+tls: :scheme is $("${PEER_CHECK[@]}" field "$WORK/grpcs.jsonl" 'headers.:scheme' | sort -u)"
[[ $("${PEER_CHECK[@]}" field "$WORK/grpcs.jsonl" path | sort -u) == "\"$TRACE_PATH\"" ]] ||
	fail "grpc+tls: paths $("${PEER_CHECK[@]}" field "$WORK/grpcs.jsonl" path | sort -u)"

# gRPC over TLS on io_uring, many batches on one connection: every span arrives once
COMMON=(RINGSIDE_EXPORTER=otlp OTEL_BSP_SCHEDULE_DELAY=50 RINGSIDE_CONN_SPANS=0 RINGSIDE_LOG_LEVEL=info
	RINGSIDE_SELF_METRICS=0 RINGSIDE_FLUSH_TIMEOUT_MS=1000)
serve() { # serve NAME ENDPOINT [VAR=value...]: python3 -m http.server under the shim
	local name=$1 ep=$2
	shift 2
	serve_site "$name" "${COMMON[@]}" OTEL_EXPORTER_OTLP_ENDPOINT="$ep" "$@"
}
stop_serving() { # stop_serving NAME: through the exit flush, and a clean exit
	sigint_wait "$PY_PID" "$1: python"
	wait "$PY_PID" || fail "$1: python exited with status $?"
}
server_spans() { # server_spans FILE: HTTP server spans that arrived
	"${PEER_CHECK[@]}" dump "$1" | "$PYTHON" -c 'import json,sys; print(sum(1 for l in sys.stdin if json.loads(l)["http"] and json.loads(l)["kind"] == 2))'
}
no_crash() {
	! grep -Eq "Traceback|Sanitizer|Segmentation" "$WORK/$1.log" || fail "$1: $(cat "$WORK/$1.log")"
}

start_peer many otlp_peer.js "${TLS_PEER[@]}"
serve many "https://127.0.0.1:$GRPC" OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_EXPORTER_OTLP_CERTIFICATE="$C/ca.pem" \
	OTEL_BSP_MAX_EXPORT_BATCH_SIZE=2 OTEL_BSP_SCHEDULE_DELAY=5
requests 30
for i in $(seq 200); do [[ $(server_spans "$WORK/many.jsonl") -ge 30 ]] && break; sleep 0.1; done
stop_serving many
stop_peer many
"${PEER_CHECK[@]}" dump "$WORK/many.jsonl" | "$PYTHON" -c '
import json, sys
srv = [s["span"] for s in map(json.loads, sys.stdin) if s["http"] and s["kind"] == 2]
assert len(srv) == 30 and len(set(srv)) == 30, (len(srv), len(set(srv)))
' || fail "grpc+tls many batches: $(server_spans "$WORK/many.jsonl") server spans"
! grep -q "spans lost" "$WORK/many.log" || fail "grpc+tls many batches: $(cat "$WORK/many.log")"

# big batches (one at exit): many TLS records per request, HTTP and gRPC, io_uring and poll
for proto in http/protobuf grpc; do
	name=big_${proto%%/*}
	start_peer "$name" otlp_peer.js "${TLS_PEER[@]}"
	ep=https://127.0.0.1:$HTTP
	[[ $proto == grpc ]] && ep=https://127.0.0.1:$GRPC
	io=io_uring
	[[ $proto == grpc ]] && io=poll
	serve "$name" "$ep" OTEL_EXPORTER_OTLP_PROTOCOL=$proto OTEL_EXPORTER_OTLP_CERTIFICATE="$C/ca.pem" \
		OTEL_BSP_SCHEDULE_DELAY=60000 RINGSIDE_IO=$io
	"$PYTHON" -c 'import sys, urllib.request as u
for _ in range(300): u.urlopen(sys.argv[1]).read()' "http://127.0.0.1:$PORT/index.html" || fail "$name: requests failed"
	stop_serving "$name"
	stop_peer "$name"
	[[ $(server_spans "$WORK/$name.jsonl") == 300 ]] || fail "$name: $(server_spans "$WORK/$name.jsonl") of 300 spans arrived"
	! grep -q "spans lost" "$WORK/$name.log" || fail "$name: $(cat "$WORK/$name.log")"
done

# --- refused: nothing is delivered, one line says why, the spans are counted ------------------------
# refused NAME WHY_REGEX ENDPOINT [VAR=value...]: against the running peer, whose log is $PEER_LOG
refused() {
	local name=$1 why=$2 ep=$3
	shift 3
	serve "$name" "$ep" OTEL_BSP_SCHEDULE_DELAY=60000 "$@" # one batch, at exit
	requests 3
	stop_serving "$name"
	no_crash "$name"
	[[ ! -s $PEER_LOG ]] || fail "$name: something was delivered: $(cat "$PEER_LOG")"
	grep -Eq "TLS with [^ ]+: certificate verify failed: $why" "$WORK/$name.log" ||
		fail "$name: no verification line: $(cat "$WORK/$name.log")"
	[[ $(grep -c "certificate verify failed" "$WORK/$name.log") == 1 ]] ||
		fail "$name: said more than once: $(cat "$WORK/$name.log")"
	grep -Eq "spans lost of 3 recorded: .*3 export failed" "$WORK/$name.log" ||
		fail "$name: the loss is not counted: $(cat "$WORK/$name.log")"
	! grep -q retrying "$WORK/$name.log" || fail "$name: a certificate failure was retried"
}

PEER_LOG=$WORK/wrongca.peer.jsonl
start_peer wrongca.peer otlp_peer.js "${TLS_PEER[@]}"
refused wrongca "unable to get local issuer certificate" "https://127.0.0.1:$HTTP" \
	OTEL_EXPORTER_OTLP_CERTIFICATE="$C/other.pem"
refused wrongca_grpc "unable to get local issuer certificate" "https://127.0.0.1:$GRPC" \
	OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE="$C/other.pem" RINGSIDE_IO=poll
stop_peer wrongca.peer

# The system's CAs (no certificate given) do not know the test CA either.
PEER_LOG=$WORK/system.peer.jsonl
start_peer system.peer otlp_peer.js "${TLS_PEER[@]}"
refused system "(unable to get local issuer certificate|self-signed certificate in certificate chain)" \
	"https://127.0.0.1:$HTTP"
stop_peer system.peer

# A certificate of the right CA for another name: refused for an address and for a host name.
PEER_LOG=$WORK/mismatch.peer.jsonl
start_peer mismatch.peer otlp_peer.js --tls-cert "$C/elsewhere.pem" --tls-key "$C/elsewhere.key" --host localhost
refused mismatch_ip "IP address mismatch" "https://127.0.0.1:$HTTP" OTEL_EXPORTER_OTLP_CERTIFICATE="$C/ca.pem"
refused mismatch_name "hostname mismatch" "https://localhost:$GRPC" OTEL_EXPORTER_OTLP_PROTOCOL=grpc \
	OTEL_EXPORTER_OTLP_CERTIFICATE="$C/ca.pem"
stop_peer mismatch.peer

# A CA file that cannot be read: said at start, nothing sent unverified.
start_peer nofile.peer otlp_peer.js "${TLS_PEER[@]}"
serve nofile "https://127.0.0.1:$HTTP" OTEL_EXPORTER_OTLP_CERTIFICATE="$WORK/no-such-ca.pem"
requests 2
stop_serving nofile
stop_peer nofile.peer
[[ ! -s $WORK/nofile.peer.jsonl ]] || fail "nofile: something was delivered"
grep -q "TLS cannot use the CA certificate file $WORK/no-such-ca.pem" "$WORK/nofile.log" ||
	fail "nofile: no line: $(cat "$WORK/nofile.log")"

# --- mutual TLS: a collector that asks for the client's certificate ---------------------------------
MTLS=(OTEL_EXPORTER_OTLP_CERTIFICATE="$C/ca.pem" OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE="$C/client.pem"
	OTEL_EXPORTER_OTLP_CLIENT_KEY="$C/client.key")
start_peer mtls otlp_peer.js "${TLS_PEER[@]}" --tls-client-ca "$C/ca.pem"
serve mtls "https://127.0.0.1:$HTTP" "${MTLS[@]}"
requests 3
wait_lines "$WORK/mtls.jsonl" 1 20
stop_serving mtls
serve mtls_grpc "https://127.0.0.1:$GRPC" OTEL_EXPORTER_OTLP_PROTOCOL=grpc RINGSIDE_IO=poll \
	OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE="$C/ca.pem" OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE="$C/client.pem" \
	OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY="$C/client.key"
requests 3
wait_lines "$WORK/mtls.jsonl" 2 20
stop_serving mtls_grpc
# without a client certificate: the collector ends the handshake; retried, then counted at exit
serve mtls_none "https://127.0.0.1:$HTTP" OTEL_EXPORTER_OTLP_CERTIFICATE="$C/ca.pem"
requests 3
sleep 0.5
stop_serving mtls_none
stop_peer mtls
[[ $("${PEER_CHECK[@]}" field "$WORK/mtls.jsonl" transport | sort -u | tr "\n" " ") == '"grpc" "http-protobuf" ' ]] ||
	fail "mutual TLS: $(cat "$WORK/mtls.jsonl")"
[[ $(server_spans "$WORK/mtls.jsonl") == 6 ]] || fail "mutual TLS: $(server_spans "$WORK/mtls.jsonl") of 6 spans arrived"
! grep -q "spans lost" "$WORK/mtls.log" "$WORK/mtls_grpc.log" || fail "mutual TLS: spans lost"
grep -q "TLS with 127.0.0.1: .*alert" "$WORK/mtls_none.log" || fail "mutual TLS without a certificate: $(cat "$WORK/mtls_none.log")"
grep -Eq "spans lost of 3 recorded: .* 3 not sent before exit" "$WORK/mtls_none.log" ||
	fail "mutual TLS without a certificate: the loss is not counted: $(cat "$WORK/mtls_none.log")"
# a key that is not the certificate's: said at start, nothing sent
serve mtls_badkey "https://127.0.0.1:1" OTEL_EXPORTER_OTLP_CERTIFICATE="$C/ca.pem" \
	OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE="$C/client.pem" OTEL_EXPORTER_OTLP_CLIENT_KEY="$C/server.key"
requests 1
stop_serving mtls_badkey
grep -q "TLS cannot use the client key file $C/server.key (.*key values mismatch)" "$WORK/mtls_badkey.log" ||
	fail "mismatched client key: $(cat "$WORK/mtls_badkey.log")"

# --- servers that do not speak TLS ------------------------------------------------------------------
# The server answers each connection's ClientHello with the next of: random bytes, a handshake record
# claiming 64 KiB, a record header with junk inside, an HTTP answer, a hang-up, a fatal alert. A
# short-lived curl under the shim exports its span at exit, over HTTP and gRPC in turn: curl works,
# a TLS line says what went wrong, the span is counted, nothing crashes.
GPORT=$(free_port)
"$PYTHON" - "$GPORT" >"$WORK/garbage.server.log" 2>&1 <<'EOF' &
import os, socket, sys
payloads = [lambda: os.urandom(4096), lambda: b"\x16\x03\x03\xff\xff" + os.urandom(64),
            lambda: b"\x16\x03\x01\x00\x30" + os.urandom(48), lambda: b"HTTP/1.1 400 Bad\r\n\r\n",
            lambda: b"", lambda: b"\x15\x03\x03\x00\x02\x02\x28"]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
n = 0
while True:
    c, _ = s.accept()
    try:
        c.settimeout(2)
        c.recv(65536)  # the ClientHello
        c.sendall(payloads[n % len(payloads)]())
    except OSError:
        pass
    print("connection", n, flush=True)
    n += 1
    c.close()
EOF
RS_PIDS+=($!)
wait_listen "$GPORT"
port=$(free_port)
(cd "$WORK/site" && exec "$PYTHON" -m http.server --bind 127.0.0.1 "$port") >/dev/null 2>&1 &
RS_PIDS+=($!)
wait_listen "$port"
for i in $(seq 12); do
	proto=http/protobuf
	((i % 2)) || proto=grpc
	env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" "${COMMON[@]}" RINGSIDE_FLUSH_TIMEOUT_MS=500 \
		OTEL_EXPORTER_OTLP_PROTOCOL=$proto OTEL_EXPORTER_OTLP_ENDPOINT="https://127.0.0.1:$GPORT" \
		OTEL_EXPORTER_OTLP_CERTIFICATE="$C/ca.pem" \
		curl -sS -o /dev/null "http://127.0.0.1:$port/index.html" 2>"$WORK/garbage$i.log" ||
		fail "garbage $i: curl failed: $(cat "$WORK/garbage$i.log")"
	no_crash "garbage$i"
	grep -q "TLS with 127.0.0.1: " "$WORK/garbage$i.log" || fail "garbage $i: no TLS line: $(cat "$WORK/garbage$i.log")"
	! grep -q "certificate verify failed" "$WORK/garbage$i.log" || fail "garbage $i: taken for a certificate"
	grep -Eq "1 spans lost of 1 recorded: " "$WORK/garbage$i.log" ||
		fail "garbage $i: the loss is not counted: $(cat "$WORK/garbage$i.log")"
done
[[ $(grep -c connection "$WORK/garbage.server.log") -ge 12 ]] || fail "garbage: fewer handshakes than runs"
echo PASS
