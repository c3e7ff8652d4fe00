#!/usr/bin/env bash
# io_uring refused by a seccomp filter, as in a container with Docker's default profile: the
# reporter says so once and uses its poll() fallback; the spans still arrive.
source "$(dirname "$0")/lib.sh"
need curl

make_site
port=$(free_port)
start_python "$port" "$WORK/site" bare
url=http://127.0.0.1:$port/index.html
traced "$PROGS/seccomp_exec" curl -sS "$url" "$url" -o /dev/null -o /dev/null 2>"$WORK/err" ||
	fail "curl under seccomp failed: $(cat "$WORK/err")"
grep -q "io_uring unavailable (Operation not permitted); using the poll() fallback" "$WORK/err" ||
	fail "no fallback notice: $(cat "$WORK/err")"
[[ $(grep -c ringside "$WORK/err") == 1 ]] || fail "expected one line on stderr: $(cat "$WORK/err")"
"${CHECK[@]}" validate "$OUT" || fail "output is not valid OTLP/JSON"
expect_spans 2 --exe curl --kind client --tcp --attr server.port="$port" --attr-gt ringside.net.bytes_received=0

# RINGSIDE_IO=poll chooses the fallback without being refused, and says nothing.
rm -rf "$OUT"
traced RINGSIDE_IO=poll curl -sS "$url" -o /dev/null 2>"$WORK/err" || fail "curl failed"
[[ ! -s $WORK/err ]] || fail "unexpected stderr: $(cat "$WORK/err")"
expect_spans 1 --exe curl --kind client --tcp
stop_python
echo PASS
