#!/usr/bin/env bash
# Programs that are hard on the shim (tests/progs/hostile.c), traced and profiled: thousands of
# short-lived threads ending every way (the ring registry must recycle: spans still arrive after
# more threads than it has rings), the program's own SIGPROF timer, dup2 over fds 1 and 2 and a
# connection moved onto fd 1, a tiny RLIMIT_NOFILE, and a thread cancelled inside connect(). Each
# program must work as it does untraced, and what the shim records must arrive or be counted as
# lost.
source "$(dirname "$0")/lib.sh"

make_site
port=$(free_port)
start_python "$port" "$WORK/site" bare
H=$PROGS/hostile
PROF=(RINGSIDE_PROFILE=cpu,wait RINGSIDE_WAIT_THRESHOLD_US=100)

# --- 5000 threads (return, pthread_exit, cancelled inside the read hook), more than the 4096
# rings: one connection span per thread, plus the last thread's, and the final GET.
rm -rf "$OUT"
traced "${PROF[@]}" "$H" threads "$port" 5000 rec >"$WORK/stdout" 2>"$WORK/err" ||
	fail "threads failed: $(cat "$WORK/err")"
[[ $(tail -1 "$WORK/stdout") == ok ]] || fail "threads: $(cat "$WORK/stdout")"
own=$(sed -n 's/^listener //p' "$WORK/stdout")
"${CHECK[@]}" validate "$OUT" --quick || fail "threads: output is not valid OTLP/JSON"
lost=$(sed -n 's/.*ringside\[[0-9]*\]: \([0-9]*\) spans lost of.*/\1/p' "$WORK/err")
got=$("${CHECK[@]}" count "$OUT" --kind client --tcp --attr server.port="$own")
# Every span is written or counted as lost (the summary counts all kinds of span; none is lost
# without a count, and a loss is rare enough to leave almost all of them here).
[[ $((got + ${lost:-0})) -ge 5001 && $got -ge 4900 ]] ||
	fail "threads: $got of 5001 connection spans, ${lost:-0} counted as lost: $(cat "$WORK/err")"
expect_spans 1 --kind client --tcp --attr server.port="$port"
ls "$OUT"/hostile.*.pb.gz >/dev/null || fail "threads: no profile written"

# --- the program's own SIGPROF handler and ITIMER_PROF timer, next to the CPU profiler.
rm -rf "$OUT"
traced "${PROF[@]}" RINGSIDE_PROFILE_HZ=1000 "$H" sigprof "$port" >"$WORK/stdout" 2>"$WORK/err" ||
	fail "sigprof failed: $(cat "$WORK/err")"
[[ $(cat "$WORK/stdout") == ok ]] || fail "sigprof: $(cat "$WORK/stdout")"
[[ ! -s $WORK/err ]] || fail "sigprof: stderr: $(cat "$WORK/err")"
expect_spans 3 --kind client --tcp --attr server.port="$port"
ls "$OUT"/hostile.*.pb.gz >/dev/null || fail "sigprof: no profile written"

# --- a file over fds 1 and 2, then a connection over fd 1 carrying a request.
rm -rf "$OUT"
traced "${PROF[@]}" "$H" dup2 "$port" "$WORK/dupfile" >"$WORK/stdout" 2>"$WORK/err" ||
	fail "dup2 failed: $(cat "$WORK/err")"
[[ $(cat "$WORK/stdout") == ok ]] || fail "dup2: $(cat "$WORK/stdout")"
printf 'to the file through fd 1\nto the file through fd 2\n' | cmp -s - "$WORK/dupfile" ||
	fail "dup2: the file holds more or less than the program wrote: $(cat "$WORK/dupfile")"
# Both connections have their span (traffic through a duplicate of a followed socket is not
# followed: the span ends when the original descriptor is closed; README, Limits).
expect_spans 2 --kind client --tcp --attr server.port="$port"
expect_spans 1 --kind client --http --name "GET /"

# --- RLIMIT_NOFILE of 16 (hard limit higher): the program works, its limit stays 16 (liburing
# would raise it to fit io_uring's file table), and the shim works too or says why in one line.
rm -rf "$OUT"
HOSTILE_FREE_FDS=100 prlimit --nofile=16:4096 env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" \
	"${PROF[@]}" "$H" nofile "$port" >"$WORK/stdout" 2>"$WORK/err" ||
	fail "nofile 16 failed: $(cat "$WORK/err")"
[[ $(cat "$WORK/stdout") == ok ]] || fail "nofile 16: $(cat "$WORK/stdout")"
[[ $(grep -c . "$WORK/err" || true) -le 1 ]] || fail "nofile 16: more than one stderr line: $(cat "$WORK/err")"
expect_spans 3 --kind client --tcp --attr server.port="$port"
# ... and when the program itself has taken all but three descriptors: the shim may get none,
# but the program must not notice, and what the shim could not write is counted.
for free in 1 3; do
	rm -rf "$OUT"
	HOSTILE_FREE_FDS=$free prlimit --nofile=16:4096 env LD_PRELOAD="$SHIM" \
		RINGSIDE_OUTPUT_DIR="$OUT" "${PROF[@]}" "$H" nofile "$port" >"$WORK/stdout" 2>"$WORK/err" ||
		fail "nofile, $free free: $(cat "$WORK/err")"
	[[ $(cat "$WORK/stdout") == ok ]] || fail "nofile, $free free: $(cat "$WORK/stdout")"
	n=$( [[ -d $OUT ]] && "${CHECK[@]}" count "$OUT" --kind client --tcp --attr server.port="$port" || echo 0)
	[[ $n == 3 ]] || grep -q "spans lost of" "$WORK/err" ||
		fail "nofile, $free free: $n of 3 spans and no loss reported: $(cat "$WORK/err")"
done

# --- a thread cancelled while blocked in connect(): the connection it left being made has its
# span (ended when the thread's cleanup handler closed it), like its two neighbours'.
rm -rf "$OUT"
traced "${PROF[@]}" "$H" connectcancel >"$WORK/stdout" 2>"$WORK/err" ||
	fail "connectcancel failed: $(cat "$WORK/err")"
[[ $(tail -1 "$WORK/stdout") == ok ]] || fail "connectcancel: $(cat "$WORK/stdout")"
[[ ! -s $WORK/err ]] || fail "connectcancel: stderr: $(cat "$WORK/err")"
own=$(sed -n 's/^listener //p' "$WORK/stdout")
expect_spans 3 --kind client --tcp --attr server.port="$own"

stop_python
echo PASS
