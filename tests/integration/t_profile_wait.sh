#!/usr/bin/env bash
# Wait profile of a program whose "waiter" thread keeps taking a mutex that "holder" keeps for
# 40 ms at a time: read back by the real pprof tool, the wait samples sit at the contended lock's
# call site (take_contended -> pthread_mutex_lock), none at the uncontended one, and the time
# waited agrees with what the program measured around its own calls within 20%.
source "$(dirname "$0")/lib.sh"
need go
export HOME=$WORK GOCACHE=$WORK/gocache GOFLAGS= GOTOOLCHAIN=local

traced RINGSIDE_PROFILE=wait "$PROGS/prof_mutex" 15 >"$WORK/truth" 2>"$WORK/err" ||
	fail "prof_mutex failed: $(cat "$WORK/err")"
files=("$OUT"/prof_mutex.*.pb.gz)
[[ -f ${files[0]} ]] || fail "no profile written: $(ls "$OUT")"
go tool pprof -symbolize=none -traces -sample_index=wait "${files[@]}" >"$WORK/traces" 2>"$WORK/pprof.err" ||
	fail "pprof could not read the profile: $(cat "$WORK/pprof.err")"
"$PYTHON" "$RS_SRC/tests/integration/prof_check.py" wait "$WORK/traces" "$WORK/truth" ||
	fail "wait profile check failed; truth: $(cat "$WORK/truth"); traces: $(head -60 "$WORK/traces")"
echo PASS
