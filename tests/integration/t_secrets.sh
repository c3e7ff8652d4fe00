#!/usr/bin/env bash
# No secret an application moves reaches any output of the shim: curl sends request bodies,
# Authorization and Cookie headers and a query value, the server answers with Set-Cookie, an
# Authorization header and a body, each carrying a marker; both are traced and profiled, once
# into the file exporter (spans and pprof files) and once to the OTLP peer. The markers must be
# absent from every output while the spans are there. Credentials curl takes on its command line
# (-H, -b, -u, -uUSER:PASS, a URL's userinfo) must not reach process.command_args either.
source "$(dirname "$0")/lib.sh"

need curl
need_peers
M=s3cr3tMARK
port=$(free_port)
(exec env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" RINGSIDE_PROFILE=cpu,wait SECRET_MARK=$M \
	"$PYTHON" "$RS_SRC/tests/integration/secret_server.py" "$port") 2>"$WORK/server.err" &
SRV=$!
RS_PIDS+=("$SRV")
wait_listen "$port"
printf 'the request body is %sB4' "$M" >"$WORK/body"

# One curl per way a secret travels; each also on the command line, as users do.
requests() {
	local url=http://127.0.0.1:$port
	"$@" curl -sS -o /dev/null -H "Authorization: Bearer ${M}A1" "$url/a?token=${M}Q2&x=1" &&
		"$@" curl -sS -o /dev/null -H "Cookie: session=${M}C3" --data-binary @"$WORK/body" "$url/b" &&
		"$@" curl -sS -o /dev/null -b "session=${M}C5" -X PUT --data-binary @"$WORK/body" "$url/c" &&
		"$@" curl -sS -o /dev/null -u "user:${M}U6" "$url/d" &&
		"$@" curl -sS -o /dev/null "-uuser:${M}U7" "$url/e" &&
		"$@" curl -sS -o /dev/null "http://user:${M}U8@127.0.0.1:$port/f"
}

# Markers: neutral suffixes (a word like COOKIE in a value would itself trigger redaction).
# Every file under the given directories, pprof files decompressed, searched for the marker.
leaks() {
	local f
	for f in $(find "$@" -type f); do
		if [[ $f == *.gz ]]; then
			gzip -dc "$f"
		else
			cat "$f"
		fi | grep -a -o "${M}[A-Z0-9]*" | sed "s|^|$f: |" || true
	done
}

requests env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" RINGSIDE_PROFILE=cpu,wait \
	2>"$WORK/curl.err" || fail "curl failed: $(cat "$WORK/curl.err")"

start_peer otlp otlp_peer.js
requests env LD_PRELOAD="$SHIM" RINGSIDE_EXPORTER=otlp RINGSIDE_PROFILE=cpu,wait \
	OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$HTTP" 2>>"$WORK/curl.err" ||
	fail "curl (OTLP) failed: $(cat "$WORK/curl.err")"
kill -INT "$SRV"
wait "$SRV" 2>/dev/null || true
wait_lines "$WORK/otlp.jsonl" 6
stop_peer otlp

# The spans are there: six client requests in the files and six at the peer; the server, traced
# into the files throughout, served twelve.
expect_spans 6 --exe curl --kind client --http
expect_spans 12 --kind server --http --attr http.response.status_code=200
ls "$OUT"/curl.*.pb.gz >/dev/null 2>&1 || ls "$OUT"/*.pb.gz >/dev/null || fail "no profile written"
n=$("${PEER_CHECK[@]}" dump "$WORK/otlp.jsonl" | grep -c '"http": *true' || true)
[[ $n -ge 6 ]] || fail "the OTLP peer got $n HTTP spans, expected 6"
# ... and the command lines too, with what could be redacted redacted.
grep -q 'process.command_args' "$OUT"/curl.*.traces.jsonl || fail "no process.command_args"

found=$(leaks "$OUT" "$WORK/otlp.jsonl")
[[ -z $found ]] || fail "secrets reached the output:
$found"
echo PASS
