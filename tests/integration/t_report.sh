#!/usr/bin/env bash
# The report of a recorded curl -> nginx -> python3 -m http.server run (the server profiled), opened
# in headless Chromium: the endpoint table's counts, the waterfall of an endpoint's slowest trace
# (the three services nested in order), the CPU flame graph's frames; screenshots are kept in
# the build directory. Also: `ringside run` ends with the endpoint summary and the report's path,
# and damaged input files are skipped and counted.
source "$(dirname "$0")/lib.sh"
need nginx curl node chromium go
need_peers
[[ -d $PEERS/node_modules/playwright-core ]] || fail "no playwright-core in $PEERS/node_modules: scripts/deps test installs it"
ART=$RS_BUILD/test-artifacts
mkdir -p "$ART"

make_site
mkdir -p "$WORK/site/items"
echo item >"$WORK/site/items/42"
head -c 4000000 /dev/zero >"$WORK/site/big.bin" # some CPU for the profiler to see
chmod -R a+rX "$WORK/site"
install -d -m 1777 "$OUT"
py_port=$(free_port)
ng_port=$(free_port)
python_server "$py_port" "$WORK/site" python env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" \
	RINGSIDE_PROFILE=cpu,wait RINGSIDE_PROFILE_HZ=1000
nginx_conf "$WORK/nginx/proxy.conf" 1 64 off "listen 127.0.0.1:$ng_port;" \
	"location / { proxy_pass http://127.0.0.1:$py_port; }"
traced_bg nginx -e "$WORK/nginx/error.log" -c "$WORK/nginx/proxy.conf" -g 'daemon off;'
ng_pid=$BG_PID
wait_listen "$ng_port"
base=http://127.0.0.1:$ng_port
for i in 1 2 3 4; do
	traced curl -sS -o /dev/null "$base/items/42" || fail "request $i failed"
done
for i in 1 2; do
	traced curl -sS -o /dev/null "$base/big.bin" || fail "big request $i failed"
	[[ $(traced curl -sS -o /dev/null -w '%{http_code}' "$base/missing") == 404 ]] || fail "no 404"
done
# `ringside run`: its own output directory, a summary on stderr at the end (a page of its own,
# so that the endpoints above keep their counts).
RINGSIDE_BUILD_DIR=$RS_BUILD "$RS_SRC/scripts/ringside" run -o "$WORK/run" -- curl -sS -o /dev/null "$base/index.html" \
	2>"$WORK/run.err" || fail "ringside run failed: $(cat "$WORK/run.err")"
kill -QUIT "$ng_pid"
wait "$ng_pid" || true
stop_python
grep -q '^curl client GET /index.html *1 *0 ' "$WORK/run.err" || fail "no endpoint line in run's summary: $(cat "$WORK/run.err")"
grep -qx "report: $WORK/run/report.html" "$WORK/run.err" || fail "run's summary does not say where the report is"
[[ -s $WORK/run/report.html ]] || fail "ringside run made no report"

# The report: a path printed, a page that fetches nothing.
report=$(RINGSIDE_BUILD_DIR=$RS_BUILD "$RS_SRC/scripts/ringside" report "$OUT" -o "$WORK/report.html") ||
	fail "ringside report failed"
[[ $report == "$WORK/report.html" && -s $report ]] || fail "report printed '$report'"
! grep -qiE '<(script|link|img|iframe)[^>]+(src|href)=' "$report" || fail "the report refers to other files"
py=$(python_exe)
node "$RS_SRC/tests/integration/report_browser.js" "$PEERS" "$report" "$ART/t_report" \
	--endpoint "$py|server|GET /items/{id}" >"$WORK/seen.json" 2>"$WORK/browser.err" ||
	fail "the browser could not show the report: $(cat "$WORK/browser.err")"
echo "screenshots: $ART/t_report-first.png $ART/t_report-endpoint.png $ART/t_report-flame.png"
"$PYTHON" - "$WORK/seen.json" "$py" <<'PY' || fail "the report does not show the run"
import json, sys
o, py = json.load(open(sys.argv[1])), sys.argv[2]
assert not o["pageErrors"], o["pageErrors"]
assert not o["networkRequests"], o["networkRequests"]
eps = {(r[0], r[1], r[2]): (int(r[3]), int(r[4])) for r in o["endpoints"]}
want = {("curl", "client", "GET /items/{id}"): (4, 0), ("nginx", "server", "GET /items/{id}"): (4, 0),
        ("nginx", "client", "GET /items/{id}"): (4, 0), (py, "server", "GET /items/{id}"): (4, 0),
        ("curl", "client", "GET /missing"): (2, 2), ("nginx", "server", "GET /missing"): (2, 0),
        ("nginx", "client", "GET /missing"): (2, 2), (py, "server", "GET /missing"): (2, 0),
        ("curl", "client", "GET /big.bin"): (2, 0), (py, "server", "GET /big.bin"): (2, 0)}
for k, v in want.items():
    assert eps.get(k) == v, f"endpoint {k}: (count, errors) {eps.get(k)}, expected {v}; table: {o['endpoints']}"
# The first view opens the slowest request, not a trace of a TCP connection alone.
assert o["firstView"]["waterfallRows"] >= 3, f"first view: {o['firstView']}"
assert o["clicked"] >= 0, "no endpoint row to click"
assert o["listedTraces"] == 4, f"{o['listedTraces']} traces listed for the endpoint, expected its 4"
http = [(r["svc"].rsplit(" ", 1)[0], r["kind"], r["depth"], r["barLeft"]) for r in o["waterfall"]
        if r["name"] == "GET /items/{id}"]
shape = [h[:3] for h in http]
assert shape == [("curl", 3, 0), ("nginx", 2, 1), ("nginx", 3, 2), (py, 2, 3)], f"waterfall: {o['waterfall']}"
# (Bars are placed at the spans' own start times; across processes those may be out of order by
# the microseconds between a write returning and the peer's read, so no order is asserted.)
assert all(0 <= h[3] <= 100 for h in http), f"bars outside the trace: {o['waterfall']}"
sel = [r for r in o["waterfall"] if r["selected"]]
assert len(sel) == 1 and sel[0]["svc"].startswith(py + " ") and sel[0]["kind"] == 2, f"selected: {sel}"
assert "http.response.status_code200" in o["detail"], o["detail"][:300]
f = o["flame"]
assert f["cpuRects"] > 3, f"CPU flame graph has {f['cpuRects']} frames"
assert f["cpu"][0] == "all" and any(t.startswith(py + " ") for t in f["cpu"]), f["cpu"][:5]
assert "_PyEval_EvalFrameDefault" in f["cpuTitles"], f"no Python interpreter frame: {f['cpuTitles'][:40]}"
print(f"endpoints {len(eps)}, waterfall {shape}, CPU flame frames {f['cpuRects']}, wait {f['waitRects']}")
PY

# The report's pprof reader against the pprof tool's: the same stacks with the same CPU time.
export HOME=$WORK GOCACHE=$WORK/gocache GOFLAGS= GOTOOLCHAIN=local
profiles=("$OUT"/*.pb.gz)
[[ -f ${profiles[0]} ]] || fail "the profiled server wrote no profile"
for p in "${profiles[@]}"; do
	go tool pprof -symbolize=none -traces -sample_index=cpu "$p" >"$WORK/pprof.traces" 2>"$WORK/pprof.err" ||
		fail "pprof could not read $p: $(cat "$WORK/pprof.err")"
	"$PYTHON" - "$RS_SRC" "$p" "$WORK/pprof.traces" <<'PY' || fail "the report reads $p differently from pprof"
import collections, re, sys
sys.path[:0] = [sys.argv[1] + "/scripts", sys.argv[1] + "/tests/integration"]
import prof_check, report_pprof
theirs, ours = collections.Counter(), collections.Counter()
for smp in prof_check.parse(sys.argv[3]):
    if smp["value"]:
        theirs[tuple(smp["frames"])] += round(smp["value"])
for stack, vals, labels in report_pprof.read(sys.argv[2])[1]:
    if vals.get("cpu"):  # ours root first, "obj+0xADDR" where pprof says "[obj]"
        ours[tuple(re.sub(r"^(.*)\+0x[0-9a-f]+$", r"[\1]", f) for f in reversed(stack))] += vals["cpu"]
assert ours and ours == theirs, f"ours {sorted(ours.items())[:3]}... theirs {sorted(theirs.items())[:3]}..."
print(f"{len(ours)} stacks, {sum(ours.values()) / 1e6:.0f} ms of CPU, as pprof reads them")
PY
done

# Damaged input: a line cut short and a profile that is not one are skipped and counted.
mkdir -p "$WORK/damaged"
cp "$OUT"/* "$WORK/damaged/"
rm -f "$WORK/damaged/report.html"
jsonl=("$WORK/damaged/"*.traces.jsonl)
f=${jsonl[0]}
# A line of the wrong types (kept: its span has ids), then a line cut short (skipped, counted).
cat >>"$f" <<'JSON'
{"resourceSpans":[{"resource":{"attributes":[{"key":"process.pid","value":{"arrayValue":{}}}]},"scopeSpans":[{"spans":[{"traceId":"t","spanId":"s","parentSpanId":["x"],"events":5,"kind":"x","status":"y","startTimeUnixNano":"1e400","name":{"a":1},"attributes":[{"key":"n","value":{"doubleValue":NaN}},{"key":"client.port","value":{"stringValue":[1]}}]},7]}]}]}
JSON
printf '{"resourceSpans":[{"resource":' >>"$f"
head -c 300 "${profiles[0]}" >"$WORK/damaged/python3.99.1.0.pb.gz"
head -c 100000 /dev/urandom >"$WORK/damaged/x.2.0.pb.gz"
"$PYTHON" "$RS_SRC/scripts/report.py" "$WORK/damaged" >"$WORK/damaged.out" 2>"$WORK/damaged.err" ||
	fail "damaged input stopped the report: $(cat "$WORK/damaged.err")"
grep -q "1 bad lines skipped" "$WORK/damaged.err" || fail "the cut line was not counted: $(cat "$WORK/damaged.err")"
grep -q "1 bad spans skipped" "$WORK/damaged.err" || fail "the span without ids was not counted: $(cat "$WORK/damaged.err")"
[[ $(grep -c "skipped profile" "$WORK/damaged.err") == 2 ]] || fail "bad profiles not reported: $(cat "$WORK/damaged.err")"
grep -q "2 bad profiles skipped" "$WORK/damaged.err" || fail "bad profiles not counted"
[[ -s $WORK/damaged/report.html ]] || fail "no report from damaged input"
node "$RS_SRC/tests/integration/report_browser.js" "$PEERS" "$WORK/damaged/report.html" "$WORK/damaged" \
	>"$WORK/damaged.json" 2>"$WORK/browser.err" || fail "the browser could not show the damaged run: $(cat "$WORK/browser.err")"
"$PYTHON" -c 'import json, sys; o = json.load(open(sys.argv[1])); assert not o["pageErrors"], o["pageErrors"]' \
	"$WORK/damaged.json" || fail "the damaged run's page has script errors"
echo PASS
