#!/usr/bin/env bash
# Programs LD_PRELOAD cannot reach: a setuid copy of curl run by another user (the loader's
# secure-execution mode ignores a preload path with a slash) and a statically linked program.
# Each runs as it would untraced, the shim writes nothing for it, and `scripts/ringside doctor`
# says why. Controls: the same curl without the setuid bit, as the same user, is traced.
source "$(dirname "$0")/lib.sh"

need curl setpriv
[[ $(id -u) == 0 ]] || skip "making a setuid copy and switching users needs root"
make_site
port=$(free_port)
start_python "$port" "$WORK/site" bare
mkdir -m 1777 "$OUT"
cp "$(command -v curl)" "$WORK/suid-curl"
cp "$(command -v curl)" "$WORK/plain-curl"
chmod 4755 "$WORK/suid-curl"
as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" "$@"
}
[[ -r $SHIM_LIB ]] && setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$SHIM_LIB" ||
	skip "the shim at $SHIM is not readable by nobody"

code=$(as_nobody "$WORK/plain-curl" -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")
[[ $code == 200 ]] || fail "plain curl as nobody: $code"
ls "$OUT"/plain-curl.*.traces.jsonl >/dev/null 2>&1 || fail "control: plain curl as nobody was not traced"
code=$(as_nobody "$WORK/suid-curl" -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" 2>"$WORK/err")
[[ $code == 200 ]] || fail "setuid curl as nobody: $code $(cat "$WORK/err")"
[[ ! -s $WORK/err ]] || fail "setuid curl: stderr: $(cat "$WORK/err")"
! ls "$OUT"/suid-curl.* >/dev/null 2>&1 || fail "the shim entered a setuid program run by another user"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$RS_SRC/scripts/ringside" doctor "$WORK/suid-curl" 2>&1 || true)
grep -q 'setuid/setgid: the loader runs it in secure-execution mode and ignores LD_PRELOAD' <<<"$out" ||
	fail "doctor does not say why for the setuid program: $out"
! grep -q 'traced like any program' <<<"$out" || fail "doctor claims nobody would trace it: $out"
# Its owner running it changes no identity: no secure execution, and doctor says so.
out=$("$RS_SRC/scripts/ringside" doctor "$WORK/suid-curl" 2>&1 || true)
grep -q 'but not when run by its owner' <<<"$out" || fail "doctor as the owner: $out"

# A static program: runs, nothing written, doctor explains.
printf '#include <stdio.h>\nint main(void) { puts("static ok"); return 0; }\n' >"$WORK/s.c"
cc -static -o "$WORK/static-prog" "$WORK/s.c" 2>"$WORK/cc.err" ||
	skip "no static C library to build a static program: $(cat "$WORK/cc.err")"
readelf -lW "$WORK/static-prog" | grep -q INTERP && fail "cc -static made a dynamic program"
[[ $(traced "$WORK/static-prog") == "static ok" ]] || fail "the static program did not run"
! ls "$OUT"/static-prog.* >/dev/null 2>&1 || fail "something was written for the static program"
out=$("$RS_SRC/scripts/ringside" doctor "$WORK/static-prog" 2>&1 || true)
grep -q 'statically linked (no program interpreter): preloading cannot reach it' <<<"$out" ||
	fail "doctor does not say why for the static program: $out"
stop_python
echo PASS
