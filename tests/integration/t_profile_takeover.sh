#!/usr/bin/env bash
# The program wins the profiler's signal: when it installs its own handler for SIGRTMAX-3, every
# timer of ours goes, its handler never sees one of our signals, it sees SIG_DFL as the previous
# disposition, one stderr line says profiling stopped, and what was sampled before is written.
source "$(dirname "$0")/lib.sh"

traced RINGSIDE_PROFILE=cpu RINGSIDE_PROFILE_HZ=1000 "$PROGS/prof_takeover" >"$WORK/stdout" 2>"$WORK/err" ||
	fail "prof_takeover failed: $(cat "$WORK/err")"
[[ $(cat "$WORK/stdout") == ok ]] || fail "unexpected output: $(cat "$WORK/stdout")"
[[ $(grep -c 'CPU profiling and stack snapshots of this process stop' "$WORK/err") == 1 ]] ||
	fail "expected one line saying profiling stopped: $(cat "$WORK/err")"
[[ $(grep -c . "$WORK/err") == 1 ]] || fail "more than one line on stderr: $(cat "$WORK/err")"
ls "$OUT"/prof_takeover.*.pb.gz >/dev/null || fail "the samples taken before were not written"
echo PASS
