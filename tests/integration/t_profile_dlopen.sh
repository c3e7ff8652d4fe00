#!/usr/bin/env bash
# The profiler's handlers and the loader: libm loaded and unloaded hundreds of times by one thread
# while another burns CPU, with every thread's timer at its fastest. The program runs to its end,
# the shim says nothing, a profile is written, and the handlers' unwinds that needed the table of
# loaded objects were served from it (the info line at exit counts them).
source "$(dirname "$0")/lib.sh"

traced RINGSIDE_PROFILE=cpu,wait RINGSIDE_PROFILE_HZ=1000 RINGSIDE_LOG_LEVEL=info \
	timeout 120 "$PROGS/prof_dlopen" 1500 >"$WORK/stdout" 2>"$WORK/err" ||
	fail "prof_dlopen failed ($?): $(cat "$WORK/err")"
[[ $(cat "$WORK/stdout") == "ok 1500" ]] || fail "unexpected output: $(cat "$WORK/stdout")"
grep -v -e 'writing spans to' -e 'writing a profile of' -e 'profiler: ' "$WORK/err" | grep . &&
	fail "unexpected stderr: $(cat "$WORK/err")"
line=$(grep 'profiler: ' "$WORK/err") || fail "no profiler summary: $(cat "$WORK/err")"
echo "$line"
ls "$OUT"/prof_dlopen.*.pb.gz >/dev/null || fail "no profile written"
echo PASS
