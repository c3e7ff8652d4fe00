#!/usr/bin/env bash
# CPU profile of a program whose "burner" thread splits its CPU 3:1 between burn_a and burn_b
# while "sleeper" sleeps, read back by the real pprof tool: the split, each thread's share and
# whole stacks down to the thread's start routine agree with the program's own measurement
# within 0.1.
source "$(dirname "$0")/lib.sh"
need go
export HOME=$WORK GOCACHE=$WORK/gocache GOFLAGS= GOTOOLCHAIN=local

traced RINGSIDE_PROFILE=cpu RINGSIDE_PROFILE_HZ=250 "$PROGS/prof_cpu" 20 >"$WORK/truth" 2>"$WORK/err" ||
	fail "prof_cpu failed: $(cat "$WORK/err")"
files=("$OUT"/prof_cpu.*.pb.gz)
[[ -f ${files[0]} ]] || fail "no profile written: $(ls "$OUT")"
[[ ! -s $WORK/err ]] || fail "unexpected stderr: $(cat "$WORK/err")"
go tool pprof -symbolize=none -traces -sample_index=cpu "${files[@]}" >"$WORK/traces" 2>"$WORK/pprof.err" ||
	fail "pprof could not read the profile: $(cat "$WORK/pprof.err")"
"$PYTHON" "$RS_SRC/tests/integration/prof_check.py" cpu "$WORK/traces" "$WORK/truth" ||
	fail "CPU profile check failed; truth: $(cat "$WORK/truth"); traces: $(head -60 "$WORK/traces")"
echo PASS
