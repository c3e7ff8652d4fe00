#!/usr/bin/env bash
# SkyWalking's trace profiling round trip against the grpc-js peer (SkyWalking's own generated
# code): the peer hands out a profile task for one endpoint; the threads serving that endpoint's
# requests are sampled every DumpPeriod once MinDurationThreshold has passed, at most
# MaxSamplingCount spans at once; the ThreadSnapshots name the segment of the span they sampled
# and show the function the request spins in; another endpoint is left alone; the task is
# reported finished when its Duration is up, and nothing is sampled after that.
source "$(dirname "$0")/lib.sh"
need curl
need_peers

# The task started 56 s before now and lasts 1 minute (its unit): it ends about 4 s from now.
start_ms=$(($(date +%s%3N) - 56000))
task=$(printf '{"TaskId":"t1","EndpointName":"GET /slow/{id}","Duration":"1","MinDurationThreshold":"200","DumpPeriod":"40","MaxSamplingCount":"2","StartTime":"%s","CreateTime":"%s"}' "$start_ms" "$start_ms")
start_peer sw skywalking_peer.js --profile-task "$task"

port=$(free_port)
traced_bg RINGSIDE_EXPORTER=skywalking SW_AGENT_COLLECTOR_BACKEND_SERVICES="127.0.0.1:$GRPC" \
	SW_AGENT_NAME=slowsvc SW_AGENT_INSTANCE_NAME=slow-1 SW_AGENT_AUTHENTICATION=tok3n \
	SW_AGENT_COLLECTOR_GET_PROFILE_TASK_INTERVAL=1 RINGSIDE_CONN_SPANS=0 OTEL_BSP_SCHEDULE_DELAY=100 \
	"$PROGS/slow_server" "$port"
SRV=$BG_PID
wait_listen "$port"
# The reporter starts with the first record: one request of another path, then the first poll
# brings the task; give the reporter a tick to start it.
curl -sS -o /dev/null "http://127.0.0.1:$port/hello" || fail "a request failed"
for i in $(seq 100); do
	grep -q getProfileTaskCommands "$WORK/sw.jsonl" 2>/dev/null && break
	sleep 0.05
done
grep -q getProfileTaskCommands "$WORK/sw.jsonl" || fail "no getProfileTaskCommands call"
sleep 0.3

# Four requests of the profiled endpoint at once (two may be sampled), one of another.
pids=()
for i in 1 2 3 4; do
	curl -sS -o /dev/null "http://127.0.0.1:$port/slow/700" & pids+=($!)
done
curl -sS -o /dev/null "http://127.0.0.1:$port/busy/700" & pids+=($!)
for p in "${pids[@]}"; do wait "$p" || fail "a request failed"; done

# The task ends about 4 s after the test began; then it is reported finished.
for i in $(seq 200); do
	grep -q reportTaskFinish "$WORK/sw.jsonl" 2>/dev/null && break
	sleep 0.05
done
grep -q reportTaskFinish "$WORK/sw.jsonl" || fail "no reportTaskFinish within 10 s"
# After the end: nothing more is sampled.
curl -sS -o /dev/null "http://127.0.0.1:$port/slow/400" || fail "a request failed"
sleep 0.5
kill -TERM "$SRV"
wait "$SRV" 2>/dev/null || true
stop_peer sw

"$PYTHON" - "$WORK/sw.jsonl" <<'PY' || fail "profile task round trip: see above"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
def of(path):
    return [l for l in lines if l["path"].endswith(path)]
bad = [l for l in lines if l.get("error")]
assert not bad, f"the peer could not decode: {bad[:2]}"
polls = of("/getProfileTaskCommands")
assert len(polls) >= 2, f"{len(polls)} polls"
for p in polls:
    m = p["msg"]
    assert m["service"] == "slowsvc" and m["serviceInstance"] == "slow-1", m
    assert p["headers"].get("authentication") == "tok3n", p["headers"]
assert polls[-1]["msg"].get("lastCommandTime") not in (None, "0"), "lastCommandTime not kept"
entries = {}  # segment id -> (start ms, end ms, operation name)
for l in of("/collect"):
    seg = l["msg"]
    for s in seg["spans"]:
        if s.get("spanType", 0) == 0 and s.get("spanId", 0) == 0:
            entries[seg["traceSegmentId"]] = (int(s["startTime"]), int(s["endTime"]), s["operationName"])
slow = {k: v for k, v in entries.items() if v[2] == "GET /slow/{id}"}
busy = {k: v for k, v in entries.items() if v[2] == "GET /busy/{id}"}
assert len(slow) == 5 and len(busy) == 1 and len(entries) == 7, f"segments: {sorted(v[2] for v in entries.values())}"
snaps = [l["msg"] for l in of("/collectSnapshot")]
assert snaps, "no ThreadSnapshot arrived"
by_seg = {}
for s in snaps:
    assert s["taskId"] == "t1", s
    by_seg.setdefault(s["traceSegmentId"], []).append(s)
unknown = set(by_seg) - set(slow)
assert not unknown, f"snapshots of segments that are not the profiled endpoint's: {unknown} (busy: {set(busy)})"
assert len(by_seg) == 2, f"MaxSamplingCount 2, but {len(by_seg)} spans were sampled"
last_start = max(v[0] for v in slow.values())
for seg, ss in by_seg.items():
    start, end, _ = slow[seg]
    assert end - start >= 690, (start, end)
    assert start != last_start, "the request after the task's end was sampled"
    seqs = sorted(s.get("sequence", 0) for s in ss)
    assert seqs == list(range(len(ss))), f"sequences {seqs}"
    # 700 ms, the first dump after 200 ms, then every 40 ms: about 12; the handler and the
    # reporter share two cores with everything else here, so ask for half.
    assert len(ss) >= 6, f"only {len(ss)} snapshots of a 700 ms span"
    for s in ss:
        t = int(s["time"])
        assert start + 190 <= t <= end + 5, f"snapshot at {t - start} ms of a span of {end - start} ms"
    sigs = [s["stack"]["codeSignatures"] for s in ss]
    with_fn = [c for c in sigs if any(x.startswith("spin_in_handler(") for x in c)]
    assert len(with_fn) >= 0.8 * len(sigs), f"spin_in_handler in {len(with_fn)} of {len(sigs)}: {sigs[0]}"
    # Outermost frame first: the thread's start, the handler below it.
    c = with_fn[0]
    i = next(k for k, x in enumerate(c) if x.startswith("spin_in_handler("))
    assert any(x.startswith("serve(") for x in c[:i]), f"no serve() above spin_in_handler: {c}"
fin = of("/reportTaskFinish")
assert len(fin) == 1, f"{len(fin)} finish reports"
assert fin[0]["msg"] == {"service": "slowsvc", "serviceInstance": "slow-1", "taskId": "t1"}, fin[0]["msg"]
print(f"{len(polls)} polls, {len(snaps)} snapshots of {len(by_seg)} spans "
      f"({', '.join(str(len(v)) for v in by_seg.values())}), finish reported")
PY
echo PASS
