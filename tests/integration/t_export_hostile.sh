#!/usr/bin/env bash
# The OTLP exporter against collectors that misbehave (tests/peers/otlp_peer.js hostile modes):
# down then up, failing with retryable and permanent statuses, partial success, stalling, garbage,
# huge answers, killed mid-run. The traced program serves every request, exits promptly, and what
# is lost is counted in its one-line summary.
source "$(dirname "$0")/lib.sh"
need curl
need_peers

make_site
py=$(python_exe)
# Self-telemetry off: the peers count requests across paths, and these checks count span batches.
COMMON=(RINGSIDE_EXPORTER=otlp OTEL_BSP_SCHEDULE_DELAY=50 RINGSIDE_CONN_SPANS=0 RINGSIDE_LOG_LEVEL=info
	RINGSIDE_SELF_METRICS=0)

serve() { # serve NAME ENDPOINT [VAR=value...]: python3 -m http.server under the shim
	local name=$1 ep=$2
	shift 2
	serve_site "$name" "${COMMON[@]}" OTEL_EXPORTER_OTLP_ENDPOINT="$ep" "$@"
}


# stop_serving NAME: SIGINT, and the exit must come within the flush bound (plus start-up slack).
stop_serving() { # stop_serving NAME: python under the shim, through its exit flush
	sigint_wait "$PY_PID" "$1: python"
}

server_spans() { # server_spans FILE: HTTP server spans that arrived (not in rejected requests)
	"${PEER_CHECK[@]}" dump "$1" | "$PYTHON" -c 'import json,sys; print(sum(1 for l in sys.stdin if json.loads(l)["http"] and json.loads(l)["kind"] == 2))'
}

# --- down, then up: spans recorded meanwhile arrive, with retries counted ----------------------
port=$(free_port)
serve down "http://127.0.0.1:$port"
requests 4
sleep 0.3 # the first export fails (connection refused): the batch waits for its retry
start_peer down otlp_peer.js --http-port "$port"
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

# --- 503 with Retry-After twice, then accepted: nothing lost ---------------------------------
start_peer retry otlp_peer.js --fail 2 --status 503 --retry-after 1
serve retry "http://127.0.0.1:$HTTP"
requests 3
wait_lines "$WORK/retry.jsonl" 3 30
stop_serving retry
stop_peer retry
[[ $("${PEER_CHECK[@]}" lines "$WORK/retry.jsonl" --rejected) == 2 ]] || fail "503: expected two refused requests"
[[ $(server_spans "$WORK/retry.jsonl") == 3 ]] || fail "503: the retried batch did not arrive whole"
! grep -q "spans lost" "$WORK/retry.log" || fail "503: spans were lost: $(cat "$WORK/retry.log")"

# --- 400: refused for good, not retried, counted ------------------------------------------------
start_peer bad otlp_peer.js --fail 1 --status 400
serve bad "http://127.0.0.1:$HTTP" OTEL_BSP_SCHEDULE_DELAY=60000 # one batch, at exit
requests 2
stop_serving bad
stop_peer bad
[[ $("${PEER_CHECK[@]}" lines "$WORK/bad.jsonl") == 1 ]] || fail "400: the refused batch was sent again"
grep -q "refused a batch for good (HTTP 400" "$WORK/bad.log" || fail "400: no line: $(cat "$WORK/bad.log")"
grep -Eq "spans lost of [0-9]+ recorded: .* 2 export failed" "$WORK/bad.log" ||
	fail "400: the loss is not counted: $(cat "$WORK/bad.log")"

# --- partial success: accepted, not retried, the rejected span counted ----------------------------
start_peer partial otlp_peer.js --partial-success
serve partial "http://127.0.0.1:$HTTP" OTEL_BSP_SCHEDULE_DELAY=60000 # one batch, at exit
requests 2
stop_serving partial
stop_peer partial
[[ $("${PEER_CHECK[@]}" lines "$WORK/partial.jsonl") == 1 ]] || fail "partial success: expected one batch"
grep -q "accepted a batch but rejected 1 spans: partial success: test" "$WORK/partial.log" ||
	fail "partial success: no line: $(cat "$WORK/partial.log")"
grep -Eq "spans lost of 2 recorded: .* 1 rejected by the collector" "$WORK/partial.log" ||
	fail "partial success: loss line: $(cat "$WORK/partial.log")"
! grep -q retrying "$WORK/partial.log" || fail "partial success was retried"

# --- a stalled collector: requests are served at once, exit within the flush bound ------------------
start_peer stall otlp_peer.js --stall
serve stall "http://127.0.0.1:$HTTP" OTEL_EXPORTER_OTLP_TIMEOUT=500
requests 5
sleep 0.3
requests 5
stop_serving stall
stop_peer stall
grep -q "failed (Connection timed out); retrying" "$WORK/stall.log" ||
	fail "stall: the export did not time out: $(cat "$WORK/stall.log")"
grep -Eq "spans lost of 10 recorded: .* [1-9][0-9]* not sent before exit" "$WORK/stall.log" ||
	fail "stall: the loss is not counted: $(cat "$WORK/stall.log")"

# --- garbage and huge answers: no crash, the batch counts as delivered (status 200) ---------------
for mode in garbage huge; do
	start_peer "$mode" otlp_peer.js "--$mode"
	# The peer may take a while to build a 64 MiB answer on a busy machine: a longer exit flush,
	# so that a slow answer is not mistaken for a lost one (stop_serving still bounds the exit).
	serve "$mode" "http://127.0.0.1:$HTTP" RINGSIDE_FLUSH_TIMEOUT_MS=4000
	requests 3
	wait_lines "$WORK/$mode.jsonl" 1
	stop_serving "$mode"
	stop_peer "$mode"
	! grep -q "spans lost" "$WORK/$mode.log" || fail "$mode: spans lost: $(cat "$WORK/$mode.log")"
	[[ $(server_spans "$WORK/$mode.jsonl") == 3 ]] || fail "$mode: spans missing"
done

# --- killed mid-run: the program keeps serving; what was queued is counted at exit -----------------
start_peer killed otlp_peer.js
serve killed "http://127.0.0.1:$HTTP"
requests 5
wait_lines "$WORK/killed.jsonl" 1
kill -9 "$PEER_PID"
wait "$PEER_PID" 2>/dev/null || true
requests 20
stop_serving killed
grep -q "retrying" "$WORK/killed.log" || fail "killed: no retry after the collector died: $(cat "$WORK/killed.log")"
# Every span either reached the collector or is counted as not sent (a batch the collector read
# just before it died may be both).
got=$(server_spans "$WORK/killed.jsonl")
unsent=$(sed -n 's/.*spans lost of 25 recorded: .* \([0-9]*\) not sent before exit.*/\1/p' "$WORK/killed.log")
[[ -n $unsent && $((got + unsent)) -ge 25 && $unsent -ge 20 ]] ||
	fail "killed: $got arrived, loss line: $(cat "$WORK/killed.log")"
echo PASS
