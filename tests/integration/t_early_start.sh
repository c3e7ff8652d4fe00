#!/usr/bin/env bash
# Another preloaded library connects from its constructor, before or after ringside's own
# constructor has run: the hooks resolve the real functions lazily and the program works.
source "$(dirname "$0")/lib.sh"

make_site
port=$(free_port)
start_python "$port" "$WORK/site" bare
early=$PROGS/libearly_preload.so
for order in "$early:$SHIM" "$SHIM:$early"; do
	EARLY_PORT=$port LD_PRELOAD=$order RINGSIDE_OUTPUT_DIR="$OUT" /bin/true 2>"$WORK/err" ||
		fail "/bin/true failed with LD_PRELOAD=$order"
	grep -qx "early: ok" "$WORK/err" || fail "the early connection failed ($order): $(cat "$WORK/err")"
	[[ $(wc -l <"$WORK/err") == 1 ]] || fail "unexpected stderr ($order): $(cat "$WORK/err")"
done
# Whichever constructor ran first, nothing was half-traced: any span written is well-formed.
[[ ! -e $OUT ]] || "${CHECK[@]}" validate "$OUT" || fail "invalid output"
stop_python
echo PASS
