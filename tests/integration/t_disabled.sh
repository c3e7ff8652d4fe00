#!/usr/bin/env bash
# RINGSIDE_ENABLED=0 (and OTEL_SDK_DISABLED=true): nothing is written, nothing is printed, and the
# programs behave as without the shim: same output, same exit codes, same system calls.
source "$(dirname "$0")/lib.sh"
need curl strace

make_site
port=$(free_port)
start_python "$port" "$WORK/site" bare
url=http://127.0.0.1:$port/index.html

for off in RINGSIDE_ENABLED=0 OTEL_SDK_DISABLED=true; do
	traced "$off" curl -sS "$url" >"$WORK/with" 2>"$WORK/with.err" || fail "curl failed ($off)"
	curl -sS "$url" >"$WORK/without" 2>"$WORK/without.err" || fail "bare curl failed"
	cmp -s "$WORK/with" "$WORK/without" || fail "output differs with $off"
	[[ ! -s $WORK/with.err ]] || fail "stderr not empty with $off: $(cat "$WORK/with.err")"
	set +e
	traced "$off" curl -sS "http://127.0.0.1:1/" 2>/dev/null
	rc_with=$?
	curl -sS "http://127.0.0.1:1/" 2>/dev/null
	rc_without=$?
	set -e
	[[ $rc_with == "$rc_without" ]] || fail "exit code $rc_with with $off, $rc_without without"
	# A bad value of another setting is not even mentioned when the shim is off.
	traced "$off" RINGSIDE_FLUSH_TIMEOUT_MS=bogus curl -sS "$url" >/dev/null 2>"$WORK/err2"
	[[ ! -s $WORK/err2 ]] || fail "the disabled shim complained: $(cat "$WORK/err2")"
done

# Same system calls on every thread (by name and count, timing-dependent ones aside) as bare.
syscalls() {
	strace -f -qq -o "$WORK/st" "$@" >/dev/null 2>&1
	sed -E 's/^[0-9]+ +//; s/\(.*//' "$WORK/st" | grep -vE '^(<\.\.\.|poll|rt_sigaction|recvfrom|\+\+\+|---)' |
		sort | uniq -c
}
syscalls env curl -sS "$url" "$url" >"$WORK/sys.bare"
syscalls env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" RINGSIDE_ENABLED=0 curl -sS "$url" "$url" >"$WORK/sys.off"
# The loader opens and maps the preloaded library itself; nothing beyond that.
diff "$WORK/sys.bare" "$WORK/sys.off" >"$WORK/sys.diff" || true
extra=$(grep -E '^>' "$WORK/sys.diff" | grep -vE ' (openat|mmap|mprotect|newfstatat|close|read|pread64|munmap|execve)$' || true)
[[ -z $extra ]] || fail "the disabled shim made system calls: $extra"

[[ ! -e $OUT ]] || fail "the disabled shim wrote $(ls "$OUT")"
stop_python
echo PASS
