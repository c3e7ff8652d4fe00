#!/usr/bin/env bash
# `ringside run -- sh -c 'curl A; curl B'` is one trace: the launcher's root span is the parent of
# both curl processes' spans, handed down through TRACEPARENT by sh, which is traced too.
source "$(dirname "$0")/lib.sh"
need curl

make_site
port=$(free_port)
start_python "$port" "$WORK/site" bare
url=http://127.0.0.1:$port/index.html
RINGSIDE_BUILD_DIR=$RS_BUILD "$RS_SRC/scripts/ringside" run -o "$OUT" -- \
	sh -c "curl -sS $url -o /dev/null; curl -sS $url -o /dev/null" 2>"$WORK/err" ||
	fail "ringside run failed: $(cat "$WORK/err")"
grep -q "spans from" "$WORK/err" || fail "no summary: $(cat "$WORK/err")"
"${CHECK[@]}" validate "$OUT" || fail "invalid output"
"${CHECK[@]}" dump "$OUT" >"$WORK/spans"
"$PYTHON" - "$WORK/spans" <<'PY' || fail "the run is not one trace"
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
root = [s for s in spans if s["exe"] == "ringside"]
assert len(root) == 1 and root[0]["parent"] == "", "one root span from the launcher"
root = root[0]
assert {s["trace"] for s in spans} == {root["trace"]}, "more than one trace"
curls = [s for s in spans if s["exe"] == "curl" and "http.request.method" in s["attrs"]]
assert len(curls) == 2 and len({s["pid"] for s in curls}) == 2, "two curl processes"
assert all(s["parent"] == root["span"] for s in curls), "curl's spans hang off the root"
print(f"one trace {root['trace']}: root and {len(spans) - 1} spans below it")
PY
echo PASS
