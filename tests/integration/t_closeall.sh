#!/usr/bin/env bash
# A program that closes every descriptor from 3 up (close_range through libc and a close() sweep;
# then the raw close_range system call, which no hook sees) keeps being traced.
source "$(dirname "$0")/lib.sh"

make_site
port=$(free_port)
start_python "$port" "$WORK/site" bare
for mode in libc raw; do
	rm -rf "$OUT"
	for io in auto poll; do
		traced RINGSIDE_IO=$io "$PROGS/closeall" "$port" "$mode" 2>"$WORK/err" ||
			fail "closeall $mode ($io) failed: $(cat "$WORK/err")"
		grep -v "poll() fallback\|rebuilding" "$WORK/err" >&2 || true
	done
	"${CHECK[@]}" validate "$OUT" || fail "output is not valid OTLP/JSON ($mode)"
	expect_spans 6 --exe closeall --kind client --tcp --attr server.port="$port"
done
stop_python
echo PASS
