#!/usr/bin/env bash
# A traced HTTP server under the CPU profiler: the CPU samples taken while a request was being
# served carry that request's span id (and trace id), read back by the real pprof tool, and the
# CPU each request's samples account for agrees with the server's own measurement within 25%.
source "$(dirname "$0")/lib.sh"
need go curl
export HOME=$WORK GOCACHE=$WORK/gocache GOFLAGS= GOTOOLCHAIN=local

port=$(free_port)
traced_bg RINGSIDE_PROFILE=cpu RINGSIDE_PROFILE_HZ=250 RINGSIDE_CONN_SPANS=0 \
	"$PYTHON" "$RS_SRC/tests/integration/burn_server.py" "$port" "$WORK/truth"
PY_PID=$BG_PID
wait_listen "$port"
for q in "first?ms=300" "second?ms=200" "third?ms=300"; do
	curl -sS -o /dev/null "http://127.0.0.1:$port/burn/$q" || fail "request failed"
done
stop_python
files=("$OUT"/*.pb.gz)
[[ -f ${files[0]} ]] || fail "no profile written: $(ls "$OUT")"
go tool pprof -symbolize=none -traces -sample_index=cpu "${files[@]}" >"$WORK/traces" 2>"$WORK/pprof.err" ||
	fail "pprof could not read the profile: $(cat "$WORK/pprof.err")"
"${CHECK[@]}" dump "$OUT" --http --kind server >"$WORK/spans" || fail "no spans"
"$PYTHON" "$RS_SRC/tests/integration/prof_check.py" spans "$WORK/traces" "$WORK/truth" "$WORK/spans" ||
	fail "span labels on CPU samples; traces: $(head -40 "$WORK/traces")"
echo PASS
