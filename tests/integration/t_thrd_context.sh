#!/usr/bin/env bash
# A C11 thread (thrd_create, which glibc starts past the pthread_create hook) continues the
# context of the thread that created it: its CLIENT span's trace and parent are TRACEPARENT's.
source "$(dirname "$0")/lib.sh"

make_site
port=$(free_port)
start_python "$port" "$WORK/site" bare
tp=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01
traced TRACEPARENT=$tp RINGSIDE_CONN_SPANS=0 "$PROGS/thrd_connect" "$port" || fail "thrd_connect failed"
stop_python
"${CHECK[@]}" validate "$OUT" || fail "invalid output"
"${CHECK[@]}" dump "$OUT" --http --kind client >"$WORK/spans" || fail "no client span"
"$PYTHON" - "$WORK/spans" <<'PY' || fail "the C11 thread did not continue the context"
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
assert len(spans) == 1, f"{len(spans)} client spans"
s = spans[0]
assert s["trace"] == "0af7651916cd43dd8448eb211c80319c", s["trace"]
assert s["parent"] == "b7ad6b7169203331", s["parent"]
print("the thrd_create thread's span continues TRACEPARENT")
PY
echo PASS
