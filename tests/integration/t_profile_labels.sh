#!/usr/bin/env bash
# The labels a sample carries (thread.id, thread.name, wait.kind, trace_id, span_id) come through
# the real pprof tool as written: a profile from the encoder's unit test, read with go tool pprof.
source "$(dirname "$0")/lib.sh"
need go
export HOME=$WORK GOCACHE=$WORK/gocache GOFLAGS= GOTOOLCHAIN=local

"$RS_BUILD/tests/test_pprof" "$WORK/fixture.pb" || fail "the encoder's unit test failed"
go tool pprof -symbolize=none -traces -sample_index=cpu "$WORK/fixture.pb" >"$WORK/traces" 2>"$WORK/err" ||
	fail "pprof could not read the profile: $(cat "$WORK/err")"
for want in 'span_id:  1112131415161718' 'trace_id:  0102030405060708090a0b0c0d0e0f10' \
	'thread.name:  worker' 'thread.id:  42' 'wait.kind:  mutex'; do
	grep -qF "$want" "$WORK/traces" || fail "no '$want' in: $(cat "$WORK/traces")"
done
grep -q 'leaf_fn' "$WORK/traces" || fail "function names lost: $(cat "$WORK/traces")"
echo PASS
