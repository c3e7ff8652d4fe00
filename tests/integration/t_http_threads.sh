#!/usr/bin/env bash
# A thread-per-request server (Python's ThreadingHTTPServer calling a backend with urllib): the
# backend call's CLIENT span is the child of the SERVER span its thread serves, and of it too when
# the handler starts a thread to make the call (pthread_create hands the context over).
source "$(dirname "$0")/lib.sh"
need curl

make_site
backend=$(free_port)
app=$(free_port)
start_python "$backend" "$WORK/site"
traced_bg "$PYTHON" "$RS_SRC/tests/integration/py_app_server.py" "$app" "$backend"
app_pid=$BG_PID
wait_listen "$app"
for path in /direct /worker; do
	traced curl -sS "http://127.0.0.1:$app$path" -o "$WORK/body" || fail "curl $path failed"
	cmp -s "$WORK/body" "$WORK/site/index.html" || fail "wrong body for $path"
done
kill -INT "$app_pid"
wait "$app_pid" || true
stop_python
"${CHECK[@]}" validate "$OUT" || fail "invalid output"
"${CHECK[@]}" dump "$OUT" --http >"$WORK/spans"
"$PYTHON" - "$WORK/spans" "$app" "$backend" <<'PY' || fail "the thread-per-request chain is broken"
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
app, backend = int(sys.argv[2]), int(sys.argv[3])
by_id = {s["span"]: s for s in spans}
for path in ("/direct", "/worker"):
    curl = [s for s in spans if s["exe"] == "curl" and s["attrs"]["url.full"].endswith(path)]
    assert len(curl) == 1, f"{path}: {len(curl)} curl spans"
    curl = curl[0]
    app_srv = [s for s in spans if s["kind"] == 2 and s["parent"] == curl["span"]]
    assert len(app_srv) == 1, f"{path}: the app's server span is not curl's child"
    app_srv = app_srv[0]
    assert app_srv["attrs"]["server.port"] == app
    call = [s for s in spans if s["kind"] == 3 and s["parent"] == app_srv["span"]]
    assert len(call) == 1, f"{path}: the backend call is not the app span's child: {[(s['name'], s['parent']) for s in spans if s['kind'] == 3]}"
    call = call[0]
    assert call["attrs"]["server.port"] == backend and call["pid"] == app_srv["pid"]
    if path == "/worker":
        assert call["attrs"]["thread.id"] != app_srv["attrs"]["thread.id"], "the call ran on the handler thread"
    back = [s for s in spans if s["kind"] == 2 and s["parent"] == call["span"]]
    assert len(back) == 1 and back[0]["attrs"]["server.port"] == backend, f"{path}: backend span"
    assert len({curl["trace"], app_srv["trace"], call["trace"], back[0]["trace"]}) == 1
print("both chains linked: curl -> app -> (thread) -> backend")
PY
echo PASS
