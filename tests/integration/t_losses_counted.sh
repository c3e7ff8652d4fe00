#!/usr/bin/env bash
# Nothing is lost silently: with a ring far too small for a burst of connections, the spans that
# did not fit are counted, and at exit one stderr line says how many were lost and why. Written
# plus lost equals what happened.
source "$(dirname "$0")/lib.sh"

n=2000
traced RINGSIDE_RING_KB=16 RINGSIDE_CONN_SPANS=1 "$PROGS/burst_connect" "$n" 2>"$WORK/err" ||
	fail "burst_connect failed: $(cat "$WORK/err")"
"${CHECK[@]}" validate "$OUT" || fail "invalid output"
# Client spans from connect, server spans from the accepts of the backlog sweeps.
written=$("${CHECK[@]}" count "$OUT" --kind client)
line=$(grep 'spans lost of' "$WORK/err") || fail "no loss line on stderr although the ring was tiny: $(cat "$WORK/err")"
lost=$(sed -E 's/.*: ([0-9]+) spans lost of ([0-9]+) recorded: ([0-9]+) ring full.*/\3/' <<<"$line")
total_written=$("${CHECK[@]}" count "$OUT")
recorded=$(sed -E 's/.*: ([0-9]+) spans lost of ([0-9]+) recorded.*/\2/' <<<"$line")
echo "client spans written $written, all written $total_written, lost $lost, recorded $recorded"
((lost > 0)) || fail "expected losses with a 64-record ring: $line"
((total_written + lost == recorded)) || fail "written $total_written + lost $lost != recorded $recorded"
((written <= n && written > 0)) || fail "client spans written: $written of $n"
# Every connection made a client span or a counted loss; server spans come on top.
((recorded >= n)) || fail "recorded $recorded < $n connections"
[[ $(grep -c ringside "$WORK/err") == 1 ]] || fail "more than one line on stderr: $(cat "$WORK/err")"
echo PASS
