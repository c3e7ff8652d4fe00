#!/usr/bin/env bash
# A trace another SkyWalking agent started: its sw8 trace id is not 32 hex digits (the Java
# agent's are "a1b2c3.42.17..."). A middle service under the shim receives it and calls a
# downstream one, also under the shim: both report segments (to the SkyWalking peer, decoded with
# SkyWalking's own generated code) in the foreign trace, and the sw8 the middle one sends on
# carries the id as it came, so the downstream segment is in that trace too.
source "$(dirname "$0")/lib.sh"
need curl
need_peers

make_site
FOREIGN=a1b2c3d4e5.42.17000000000001
FOREIGN_SEG=f0e1d2c3b4.7.17000000000002
COMMON=(RINGSIDE_EXPORTER=skywalking RINGSIDE_CONN_SPANS=0 OTEL_BSP_SCHEDULE_DELAY=100
	OTEL_PROPAGATORS=sw8 RINGSIDE_FLUSH_TIMEOUT_MS=2000)
start_peer sw skywalking_peer.js
BACKEND=(SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$GRPC")

# downstream: python3 -m http.server
down=$(free_port)
python_server "$down" "$WORK/site" down env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" "${COMMON[@]}" \
	"${BACKEND[@]}" SW_AGENT_NAME=downstream
DOWN_PID=$PY_PID
# middle: each request answered after one of its own to downstream, from the handler's thread
mid=$(free_port)
(exec env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" "${COMMON[@]}" "${BACKEND[@]}" SW_AGENT_NAME=middle \
	"$PYTHON" "$RS_SRC/tests/integration/py_app_server.py" "$mid" "$down") >"$WORK/middle.log" 2>&1 &
MID_PID=$!
RS_PIDS+=("$MID_PID")
wait_listen "$mid"

# The upstream agent's header, as SkyWalking's agents write it (base64 fields).
b64() { printf %s "$1" | base64 -w0; }
SW8="1-$(b64 "$FOREIGN")-$(b64 "$FOREIGN_SEG")-3-$(b64 upstream)-$(b64 upstream-1@host)-$(b64 /checkout)-$(b64 "127.0.0.1:$mid")"
curl -sS -o /dev/null -H "sw8: $SW8" "http://127.0.0.1:$mid/direct" || fail "the request through middle failed"

sigint_wait "$MID_PID" middle
sigint_wait "$DOWN_PID" downstream
for i in $(seq 100); do
	[[ $("${PEER_CHECK[@]}" field "$WORK/sw.jsonl" msg --path /skywalking.v3.TraceSegmentReportService/collect | grep -c .) -ge 2 ]] && break
	sleep 0.1
done
stop_peer sw
! grep -q "ringside" "$WORK/middle.log" "$WORK/down.log" ||
	fail "the shim complained: $(cat "$WORK/middle.log" "$WORK/down.log")"
"${PEER_CHECK[@]}" field "$WORK/sw.jsonl" msg --path /skywalking.v3.TraceSegmentReportService/collect |
	"$PYTHON" -c '
import json, sys
foreign, foreign_seg = sys.argv[1], sys.argv[2]
segs = {g["service"]: g for g in map(json.loads, sys.stdin)}
assert set(segs) == {"middle", "downstream"}, sorted(segs)
mid, down = segs["middle"], segs["downstream"]
for g in (mid, down):
    assert g["traceId"] == foreign, (g["service"], g["traceId"])
entry = [s for s in mid["spans"] if s.get("spanType", 0) == 0 and s.get("refs")]
assert len(entry) == 1, mid["spans"]
ref = entry[0]["refs"][0]
assert ref["traceId"] == foreign and ref["parentTraceSegmentId"] == foreign_seg, ref
assert ref["parentSpanId"] == 3 and ref["parentService"] == "upstream", ref
dref = [s for s in down["spans"] if s.get("refs")][0]["refs"][0]
assert dref["traceId"] == foreign, dref
assert dref["parentTraceSegmentId"] == mid["traceSegmentId"], (dref, mid["traceSegmentId"])
print("ok: middle", mid["traceSegmentId"], "-> downstream", down["traceSegmentId"], "in", foreign)
' "$FOREIGN" "$FOREIGN_SEG" || fail "the segments are not in the foreign trace"
echo PASS
