#!/usr/bin/env bash
# OTEL_EXPORTER_OTLP_PROTOCOL=grpc against the OTLP peer (tests/peers/otlp_peer.js: grpc-js and the
# OpenTelemetry JS SDK's generated code): curl -> python3 -m http.server, both under the shim,
# arrives with its parent links intact, with and without gzip, on io_uring and on poll() (over
# IPv6); headers arrive as metadata and the self-metrics on the metrics service. Then the
# collector misbehaves: down at start, retryable and permanent statuses, stalls, garbage, huge
# answers, killed mid-run; the program serves every request, exits promptly, and what is lost is
# counted.
source "$(dirname "$0")/lib.sh"
need curl
need_peers

make_site
py=$(python_exe)
TRACE_PATH=/opentelemetry.proto.collector.trace.v1.TraceService/Export
METRICS_PATH=/opentelemetry.proto.collector.metrics.v1.MetricsService/Export

# run_chain NAME [VAR=value...]: otlp_chain (lib.sh) over gRPC.
run_chain() {
	local name=$1
	shift
	otlp_chain "$name" OTEL_EXPORTER_OTLP_PROTOCOL=grpc "$@"
}

# check_chain NAME ENCODING: what the peer logged for run NAME.
check_chain() {
	local name=$1 enc=$2 f=$WORK/$1.jsonl
	"${PEER_CHECK[@]}" chain "$f" 3 curl "$py" || fail "$name: the chain is broken"
	[[ $("${PEER_CHECK[@]}" field "$f" transport | sort -u) == '"grpc"' ]] || fail "$name: not every export was gRPC"
	[[ $("${PEER_CHECK[@]}" field "$f" path | sort -u | tr "\n" " ") == "\"$METRICS_PATH\" \"$TRACE_PATH\" " ]] ||
		fail "$name: wrong paths: $("${PEER_CHECK[@]}" field "$f" path | sort -u)"
	[[ $("${PEER_CHECK[@]}" field "$f" encoding | sort -u) == "\"$enc\"" ]] ||
		fail "$name: messages were not $enc: $("${PEER_CHECK[@]}" field "$f" encoding | sort -u)"
	[[ $("${PEER_CHECK[@]}" field "$f" headers.x-tenant | sort -u) == '"blue team"' ]] ||
		fail "$name: OTEL_EXPORTER_OTLP_HEADERS did not arrive as metadata"
	[[ $("${PEER_CHECK[@]}" field "$f" headers.te | sort -u) == '"trailers"' ]] || fail "$name: no te: trailers"
	[[ $("${PEER_CHECK[@]}" field "$f" 'headers.user-agent' | sort -u) =~ ^\"ringside/[0-9.]+\"$ ]] ||
		fail "$name: user-agent: $("${PEER_CHECK[@]}" field "$f" 'headers.user-agent' | sort -u)"
	"${PEER_CHECK[@]}" self-metrics "$f" otlp_grpc_span_exporter 2 || fail "$name: self-telemetry metrics"
}

# --- the chain: plain, gzip, and on the poll() backend -------------------------------------------
start_peer plain otlp_peer.js
run_chain plain OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$GRPC/ignored/path" \
	OTEL_EXPORTER_OTLP_HEADERS="x-tenant=blue%20team"
stop_peer plain
check_chain plain identity
[[ $("${PEER_CHECK[@]}" field "$WORK/plain.jsonl" 'headers.grpc-encoding' | sort -u) == null ]] ||
	fail "plain: announced an encoding without compressing"

start_peer gz otlp_peer.js
run_chain gz OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$GRPC" OTEL_EXPORTER_OTLP_COMPRESSION=gzip \
	OTEL_EXPORTER_OTLP_HEADERS="x-tenant=blue%20team"
stop_peer gz
check_chain gz gzip

# (over IPv6, with the signal-specific endpoints)
start_peer poll otlp_peer.js --host ::1
run_chain poll RINGSIDE_IO=poll OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://[::1]:$GRPC" \
	OTEL_EXPORTER_OTLP_METRICS_ENDPOINT="http://[::1]:$GRPC" OTEL_EXPORTER_OTLP_HEADERS="x-tenant=blue%20team"
stop_peer poll
check_chain poll identity
[[ $("${PEER_CHECK[@]}" field "$WORK/poll.jsonl" 'headers.:authority' | sort -u) == "\"[::1]:$GRPC\"" ]] ||
	fail "poll: :authority is $("${PEER_CHECK[@]}" field "$WORK/poll.jsonl" 'headers.:authority' | sort -u)"

# --- a misbehaving collector ------------------------------------------------------------------------
# Self-telemetry off: the peers count requests across paths, and these checks count span batches.
COMMON=(RINGSIDE_EXPORTER=otlp OTEL_EXPORTER_OTLP_PROTOCOL=grpc OTEL_BSP_SCHEDULE_DELAY=50
	RINGSIDE_CONN_SPANS=0 RINGSIDE_LOG_LEVEL=info RINGSIDE_SELF_METRICS=0)

serve() { # serve NAME ENDPOINT [VAR=value...]: python3 -m http.server under the shim
	local name=$1 ep=$2
	shift 2
	serve_site "$name" "${COMMON[@]}" OTEL_EXPORTER_OTLP_ENDPOINT="$ep" "$@"
}


stop_serving() { # stop_serving NAME: through the exit flush, and a clean exit
	sigint_wait "$PY_PID" "$1: python"
	wait "$PY_PID" || fail "$1: python exited with status $?"
}

server_spans() { # server_spans FILE: HTTP server spans that arrived (not in rejected requests)
	"${PEER_CHECK[@]}" dump "$1" | "$PYTHON" -c 'import json,sys; print(sum(1 for l in sys.stdin if json.loads(l)["http"] and json.loads(l)["kind"] == 2))'
}

no_crash() { # the shim said nothing about crashing, and python's log has no traceback
	! grep -Eq "Traceback|Sanitizer|Segmentation" "$WORK/$1.log" || fail "$1: $(cat "$WORK/$1.log")"
}

# many small batches, one call each on one connection: every span arrives exactly once
start_peer many otlp_peer.js
serve many "http://127.0.0.1:$GRPC" OTEL_BSP_MAX_EXPORT_BATCH_SIZE=2 OTEL_BSP_SCHEDULE_DELAY=5
requests 40
for i in $(seq 200); do [[ $(server_spans "$WORK/many.jsonl") -ge 40 ]] && break; sleep 0.1; done
stop_serving many
stop_peer many
"${PEER_CHECK[@]}" dump "$WORK/many.jsonl" | "$PYTHON" -c '
import json, sys
spans = [json.loads(l) for l in sys.stdin]
srv = [s["span"] for s in spans if s["http"] and s["kind"] == 2]
assert len(srv) == 40 and len(set(srv)) == 40, (len(srv), len(set(srv)))
' || fail "many batches: $(server_spans "$WORK/many.jsonl") server spans"
[[ $("${PEER_CHECK[@]}" lines "$WORK/many.jsonl") -ge 20 ]] || fail "many batches: fewer calls than batches"
! grep -q "spans lost" "$WORK/many.log" || fail "many batches: $(cat "$WORK/many.log")"

# down at start, then up: the spans recorded meanwhile arrive
port=$(free_port)
serve down "http://127.0.0.1:$port"
requests 4
sleep 0.3 # the first export fails (connection refused): the batch waits for its retry
start_peer down otlp_peer.js --grpc-port "$port"
for i in $(seq 200); do
	[[ $(server_spans "$WORK/down.jsonl" 2>/dev/null || echo 0) -ge 4 ]] && break
	sleep 0.1
done
[[ $(server_spans "$WORK/down.jsonl") == 4 ]] || fail "down/up: $(server_spans "$WORK/down.jsonl") of 4 spans arrived"
stop_serving down
stop_peer down
grep -q "failed (Connection refused); retrying" "$WORK/down.log" || fail "down/up: no retry line: $(cat "$WORK/down.log")"
grep -q "works again" "$WORK/down.log" || fail "down/up: no recovery line: $(cat "$WORK/down.log")"
! grep -q "spans lost" "$WORK/down.log" || fail "down/up: spans were lost: $(cat "$WORK/down.log")"

# UNAVAILABLE twice (HTTP 503's twin), then accepted: retried, nothing lost
start_peer retry otlp_peer.js --fail 2 --status 503
serve retry "http://127.0.0.1:$GRPC"
requests 3
wait_lines "$WORK/retry.jsonl" 3 30
stop_serving retry
stop_peer retry
[[ $("${PEER_CHECK[@]}" lines "$WORK/retry.jsonl" --rejected) == 2 ]] || fail "503: expected two refused calls"
[[ $(server_spans "$WORK/retry.jsonl") == 3 ]] || fail "503: the retried batch did not arrive whole"
grep -q "failed (grpc-status 14" "$WORK/retry.log" || fail "503: no retry line: $(cat "$WORK/retry.log")"
! grep -q "spans lost" "$WORK/retry.log" || fail "503: spans were lost: $(cat "$WORK/retry.log")"

# RESOURCE_EXHAUSTED with a google.rpc.RetryInfo of 3 s (grpc-status-details-bin), then accepted:
# retried (without RetryInfo that status is refused for good), and not before the delay asked for
# (the backoff alone would try again within about a second).
start_peer exhausted otlp_peer.js --fail 1 --status 429 --grpc-code 8 --retry-after 3
serve exhausted "http://127.0.0.1:$GRPC"
requests 2
wait_lines "$WORK/exhausted.jsonl" 1 30
t1=$(date +%s%N)
wait_lines "$WORK/exhausted.jsonl" 2 30
t2=$(date +%s%N)
stop_serving exhausted
stop_peer exhausted
[[ $("${PEER_CHECK[@]}" lines "$WORK/exhausted.jsonl" --rejected) == 1 ]] || fail "RetryInfo: expected one refused call"
[[ $(server_spans "$WORK/exhausted.jsonl") == 2 ]] || fail "RetryInfo: the retried batch did not arrive whole"
grep -q "failed (grpc-status 8" "$WORK/exhausted.log" || fail "RetryInfo: no retry line: $(cat "$WORK/exhausted.log")"
! grep -q "spans lost" "$WORK/exhausted.log" || fail "RetryInfo: spans were lost: $(cat "$WORK/exhausted.log")"
(( (t2 - t1) / 1000000 >= 2500 )) || fail "RetryInfo: retried after $(( (t2 - t1) / 1000000 )) ms, not 3 s"

# INVALID_ARGUMENT: refused for good, not retried, counted
start_peer bad otlp_peer.js --fail 1 --status 400 --grpc-code 3
serve bad "http://127.0.0.1:$GRPC" OTEL_BSP_SCHEDULE_DELAY=60000 # one batch, at exit
requests 2
stop_serving bad
stop_peer bad
[[ $("${PEER_CHECK[@]}" lines "$WORK/bad.jsonl") == 1 ]] || fail "grpc-status 3: the refused batch was sent again"
grep -q "refused a batch for good (grpc-status 3" "$WORK/bad.log" || fail "grpc-status 3: no line: $(cat "$WORK/bad.log")"
grep -Eq "spans lost of [0-9]+ recorded: .* 2 export failed" "$WORK/bad.log" ||
	fail "grpc-status 3: the loss is not counted: $(cat "$WORK/bad.log")"

# partial success: accepted, not retried, the rejected span counted
start_peer partial otlp_peer.js --partial-success
serve partial "http://127.0.0.1:$GRPC" OTEL_BSP_SCHEDULE_DELAY=60000
requests 2
stop_serving partial
stop_peer partial
[[ $("${PEER_CHECK[@]}" lines "$WORK/partial.jsonl") == 1 ]] || fail "partial success: expected one batch"
grep -Eq "spans lost of 2 recorded: .* 1 rejected by the collector" "$WORK/partial.log" ||
	fail "partial success: loss line: $(cat "$WORK/partial.log")"
! grep -q retrying "$WORK/partial.log" || fail "partial success was retried"

# a stalled collector: the deadline ends each call (RST_STREAM), exit within the flush bound
start_peer stall otlp_peer.js --stall
serve stall "http://127.0.0.1:$GRPC" OTEL_EXPORTER_OTLP_TIMEOUT=500
requests 5
sleep 0.3
requests 5
stop_serving stall
stop_peer stall
no_crash stall
[[ $("${PEER_CHECK[@]}" field "$WORK/stall.jsonl" 'headers.grpc-timeout' | sort -u) == '"500m"' ]] ||
	fail "stall: grpc-timeout was not sent"
grep -q "failed (Connection timed out); retrying" "$WORK/stall.log" ||
	fail "stall: the call did not time out: $(cat "$WORK/stall.log")"
grep -Eq "spans lost of 10 recorded: .* [1-9][0-9]* not sent before exit" "$WORK/stall.log" ||
	fail "stall: the loss is not counted: $(cat "$WORK/stall.log")"

# garbage: an OK status with a message that does not decode counts as delivered
start_peer garbage otlp_peer.js --garbage
serve garbage "http://127.0.0.1:$GRPC"
requests 3
wait_lines "$WORK/garbage.jsonl" 1
sleep 0.3
stop_serving garbage
stop_peer garbage
no_crash garbage
! grep -q "spans lost" "$WORK/garbage.log" || fail "garbage: spans lost: $(cat "$WORK/garbage.log")"
[[ $(server_spans "$WORK/garbage.jsonl") == 3 ]] || fail "garbage: spans missing"

# huge: a 64 MiB answer is refused at its prefix (RESOURCE_EXHAUSTED, as gRPC libraries say),
# not retried, counted; the connection stays usable for the next batch
dropped() { # spans the shim's log says were dropped for good
	sed -n 's/.*refused a batch for good.*; \([0-9]*\) spans dropped$/\1/p' "$1" | awk '{n += $1} END {print n + 0}'
}
start_peer huge otlp_peer.js --huge
serve huge "http://127.0.0.1:$GRPC"
requests 3
for i in $(seq 200); do [[ $(dropped "$WORK/huge.log") -ge 3 ]] && break; sleep 0.1; done
requests 2 # on the same connection
for i in $(seq 200); do [[ $(dropped "$WORK/huge.log") -ge 5 ]] && break; sleep 0.1; done
stop_serving huge
stop_peer huge
no_crash huge
grep -q "refused a batch for good (grpc-status 8: answer over 4 MiB)" "$WORK/huge.log" ||
	fail "huge: no line: $(cat "$WORK/huge.log")"
grep -Eq "spans lost of 5 recorded: .* 5 export failed" "$WORK/huge.log" ||
	fail "huge: the loss is not counted: $(cat "$WORK/huge.log")"

# killed mid-run: the program keeps serving; what was queued is counted at exit
start_peer killed otlp_peer.js
serve killed "http://127.0.0.1:$GRPC"
requests 5
wait_lines "$WORK/killed.jsonl" 1
kill -9 "$PEER_PID"
wait "$PEER_PID" 2>/dev/null || true
requests 20
stop_serving killed
no_crash killed
grep -q "retrying" "$WORK/killed.log" || fail "killed: no retry after the collector died: $(cat "$WORK/killed.log")"
got=$(server_spans "$WORK/killed.jsonl")
unsent=$(sed -n 's/.*spans lost of 25 recorded: .* \([0-9]*\) not sent before exit.*/\1/p' "$WORK/killed.log")
[[ -n $unsent && $((got + unsent)) -ge 25 && $unsent -ge 20 ]] ||
	fail "killed: $got arrived, loss line: $(cat "$WORK/killed.log")"
echo PASS
