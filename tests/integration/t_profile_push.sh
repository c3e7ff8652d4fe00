#!/usr/bin/env bash
# RINGSIDE_PROFILE_ENDPOINT: each profile is also pushed to a Pyroscope-style POST /ingest, with
# the query Pyroscope reads (name with labels, from, until, format=pprof), the configured headers,
# and as body the very bytes of the profile file, which the real pprof tool reads. A 503 is
# retried. An https:// server (Python's ssl) gets the same push, verified against a test CA; with
# another CA nothing is sent, one line says why, and the file is still written.
source "$(dirname "$0")/lib.sh"
need go
export HOME=$WORK GOCACHE=$WORK/gocache GOFLAGS= GOTOOLCHAIN=local

port=$(free_port)
mkdir -p "$WORK/ingest"
"$PYTHON" "$RS_SRC/tests/integration/ingest_server.py" "$port" "$WORK/ingest" 1 &
RS_PIDS+=($!)
wait_listen "$port"
traced RINGSIDE_PROFILE=cpu RINGSIDE_PROFILE_HZ=250 OTEL_SERVICE_NAME=prof-app \
	RINGSIDE_PROFILE_ENDPOINT="http://127.0.0.1:$port/pyro/" \
	RINGSIDE_PROFILE_HEADERS="X-Scope-OrgID=tenant%201" RINGSIDE_FLUSH_TIMEOUT_MS=10000 \
	"$PROGS/prof_cpu" 10 >"$WORK/truth" 2>"$WORK/err" || fail "prof_cpu failed: $(cat "$WORK/err")"
# Only the refused first push and its recovery are said.
[[ $(sed 's/^ringside\[[0-9]*\]: //' "$WORK/err") == "profile push to http://127.0.0.1:$port/pyro/ingest failed (HTTP 503); retrying with backoff
profile push to http://127.0.0.1:$port/pyro/ingest works again" ]] || fail "unexpected stderr: $(cat "$WORK/err")"
files=("$OUT"/prof_cpu.*.pb.gz)
[[ ${#files[@]} == 1 && -f ${files[0]} ]] || fail "expected one profile file: $(ls "$OUT")"
"$PYTHON" - "$WORK/ingest/requests.jsonl" "$(basename "${files[0]}" | cut -d. -f2)" <<'PY' || fail "the push requests"
import json, sys, time, urllib.parse
reqs = [json.loads(l) for l in open(sys.argv[1])]
pid = sys.argv[2]
assert [r["status"] for r in reqs] == [503, 200], [r["status"] for r in reqs]
for r in reqs:
    u = urllib.parse.urlsplit(r["path"])
    assert u.path == "/pyro/ingest", u.path
    q = urllib.parse.parse_qs(u.query, strict_parsing=True)
    assert q["format"] == ["pprof"], q
    name = q["name"][0]
    assert name.startswith("prof-app{host=") and f",pid={pid}," in name and name.endswith("}"), name
    frm, until = int(q["from"][0]), int(q["until"][0])
    assert 0 < until - frm <= 60 and abs(time.time() - until) < 600, (frm, until)
    assert r["headers"]["x-scope-orgid"] == "tenant 1", r["headers"]
    assert r["headers"]["content-type"] == "application/octet-stream"
PY
cmp "$WORK/ingest/body.2" "${files[0]}" || fail "the pushed profile differs from the file"
go tool pprof -symbolize=none -top -sample_index=cpu "$WORK/ingest/body.2" >"$WORK/top" 2>&1 ||
	fail "pprof cannot read the pushed body: $(cat "$WORK/top")"
grep -q burn_a "$WORK/top" || fail "the pushed profile lacks burn_a: $(cat "$WORK/top")"
# A push refused for good (400): its samples are said dropped, by name, and counted at exit.
port=$(free_port)
mkdir -p "$WORK/refused"
"$PYTHON" "$RS_SRC/tests/integration/ingest_server.py" "$port" "$WORK/refused" 1:400 &
RS_PIDS+=($!)
wait_listen "$port"
rm -rf "$OUT"
traced RINGSIDE_PROFILE=cpu RINGSIDE_PROFILE_HZ=250 RINGSIDE_PROFILE_ENDPOINT="http://127.0.0.1:$port/" \
	RINGSIDE_FLUSH_TIMEOUT_MS=10000 "$PROGS/prof_cpu" 4 >/dev/null 2>"$WORK/refused.err" ||
	fail "refused: prof_cpu failed: $(cat "$WORK/refused.err")"
dropped=$(sed -n 's/.*ingest refused a batch for good (HTTP 400[^;]*); \([0-9]*\) samples dropped$/\1/p' "$WORK/refused.err")
[[ $dropped =~ ^[1-9][0-9]*$ ]] || fail "refused: no line naming the samples dropped: $(cat "$WORK/refused.err")"
grep -q "^ringside\[[0-9]*\]: $dropped profile samples not pushed to RINGSIDE_PROFILE_ENDPOINT: $dropped refused" \
	"$WORK/refused.err" || fail "refused: the exit line does not count the $dropped samples: $(cat "$WORK/refused.err")"
# --- https:// -----------------------------------------------------------------------------------
make_test_certs
# push NAME CA: prof_cpu pushing to a TLS ingest server of its own, trusting CA.
push() {
	local port
	port=$(free_port)
	mkdir -p "$WORK/$1"
	"$PYTHON" "$RS_SRC/tests/integration/ingest_server.py" "$port" "$WORK/$1" 0 "$C/server.pem" "$C/server.key" &
	RS_PIDS+=($!)
	wait_listen "$port"
	rm -rf "$OUT"
	traced RINGSIDE_PROFILE=cpu RINGSIDE_PROFILE_HZ=250 RINGSIDE_PROFILE_ENDPOINT="https://127.0.0.1:$port/" \
		RINGSIDE_PROFILE_CERTIFICATE="$2" RINGSIDE_FLUSH_TIMEOUT_MS=10000 \
		"$PROGS/prof_cpu" 4 >/dev/null 2>"$WORK/$1.err" || fail "$1: prof_cpu failed: $(cat "$WORK/$1.err")"
	files=("$OUT"/prof_cpu.*.pb.gz)
	[[ ${#files[@]} == 1 && -s ${files[0]} ]] || fail "$1: expected one profile file: $(ls "$OUT")"
}
push tls "$C/ca.pem"
[[ ! -s $WORK/tls.err ]] || fail "tls: stderr: $(cat "$WORK/tls.err")"
[[ $(wc -l <"$WORK/tls/requests.jsonl") == 1 ]] || fail "tls: $(cat "$WORK/tls/requests.jsonl")"
cmp "$WORK/tls/body.1" "${files[0]}" || fail "tls: the pushed profile differs from the file"
push wrongca "$C/other.pem"
[[ ! -e $WORK/wrongca/requests.jsonl ]] || fail "wrongca: something was pushed"
grep -q "profile push to https://127.0.0.1:[0-9]*/ingest: TLS with 127.0.0.1: certificate verify failed: unable to get local issuer certificate" \
	"$WORK/wrongca.err" || fail "wrongca: no verification line: $(cat "$WORK/wrongca.err")"
echo PASS
