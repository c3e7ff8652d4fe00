#!/usr/bin/env bash
# Programs that are hard on the shim (tests/progs/hostile.c and hostile_dup.c), traced and
# profiled: thousands of short-lived threads ending every way (the ring registry must recycle:
# spans still arrive after more threads than it has rings), the program's own SIGPROF timer, dup2
# over fds 1 and 2 and a connection moved onto fd 1, a connection followed through its duplicates
# (inetd style, a server replying on a dup, every order of closing, a fork child, racing threads,
# HTTP decided through a duplicate while the original is closed, a signal handler reusing a
# duplicate's number), fcntl's arguments, a tiny RLIMIT_NOFILE, and a thread cancelled inside
# connect(). Each program must work as it does untraced, and what the shim records must arrive or
# be counted as lost.
source "$(dirname "$0")/lib.sh"
need curl

make_site
port=$(free_port)
start_python "$port" "$WORK/site" bare
H=$PROGS/hostile
HD=$PROGS/hostile_dup # one connection through several descriptors
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
# Both connections have their span, and the request written through fd 1 (a dup2 copy of the
# socket, whose original was closed) is parsed: its reply was read on fd 1 too.
expect_spans 2 --kind client --tcp --attr server.port="$port"
expect_spans 1 --kind client --http --name "GET /through-stdout" \
	--attr http.response.status_code=404
expect_spans 1 --kind client --http --name "GET /" --attr http.response.status_code=200

# hd NAME ARGS...: hostile_dup's scenario NAME under the shim, which must end by printing ok;
# sets own and sent from the "listener" and "sent" lines it prints, if it does.
hd() {
	rm -rf "$OUT"
	traced "$HD" "$@" >"$WORK/stdout" 2>"$WORK/err" || fail "$* failed: $(cat "$WORK/err")"
	[[ $(tail -1 "$WORK/stdout") == ok ]] || fail "$*: $(cat "$WORK/stdout")"
	own=$(sed -n 's/^listener //p' "$WORK/stdout")
	sent=$(sed -n 's/^sent //p' "$WORK/stdout")
}

# --- inetd style: dup2(s, 0), dup2(s, 1), close(s); the request written on fd 1, the reply read
# on fd 0. One connection, one HTTP exchange, with the bytes of both descriptors.
hd inetd "$port"
expect_spans 1 --kind client --http --name "GET /inetd" --attr http.response.status_code=404
expect_spans 1 --kind client --tcp --attr server.port="$port" --attr-gt ringside.net.bytes_sent=30 \
	--attr-gt ringside.net.bytes_received=100 --lacks ringside.ended_at_exit

# --- a server that reads the request on the accepted descriptor and writes the reply on a
# duplicate (dup, then F_DUPFD_CLOEXEC), closing the original first, then the duplicate first.
rm -rf "$OUT"
traced_bg "$HD" dupserve 2 >"$WORK/stdout" 2>"$WORK/err"
for _ in $(seq 100); do grep -q '^listener ' "$WORK/stdout" && break; sleep 0.05; done
own=$(sed -n 's/^listener //p' "$WORK/stdout")
[[ -n $own ]] || fail "dupserve: no listener: $(cat "$WORK/err")"
for p in /first /second; do
	curl -fsS "http://127.0.0.1:$own$p" >/dev/null || fail "dupserve: GET $p failed"
done
wait "$BG_PID" || fail "dupserve failed: $(cat "$WORK/err")"
[[ $(tail -1 "$WORK/stdout") == ok ]] || fail "dupserve: $(cat "$WORK/stdout")"
expect_spans 1 --kind server --http --name "GET /first" --attr http.response.status_code=201
expect_spans 1 --kind server --http --name "GET /second" --attr http.response.status_code=201
# Each connection ends once, when its last descriptor is closed (not at exit, not as reused).
expect_spans 2 --kind server --tcp --attr server.port="$own" --attr-gt ringside.net.bytes_sent=60 \
	--lacks ringside.ended_at_exit --lacks ringside.closed_unseen

# --- a request written through dup(s), its reply read through s, then the two closed in every
# order: each way the connection's span comes exactly once, with the bytes of both.
for how in orig alias range chain exit; do
	hd closeorder "$port" "$how"
	n=$("${CHECK[@]}" count "$OUT" --kind client --tcp --attr server.port="$port")
	[[ $n == 1 ]] || fail "closeorder $how: $n connection spans, not 1"
	expect_spans 1 --kind client --tcp --attr server.port="$port" \
		--attr-gt ringside.net.bytes_sent=10 --attr-gt ringside.net.bytes_received=100
	expect_spans 1 --kind client --http --name "GET /" --attr http.response.status_code=200
	if [[ $how == exit ]]; then
		expect_spans 1 --kind client --tcp --has ringside.ended_at_exit
	else
		expect_spans 1 --kind client --tcp --lacks ringside.ended_at_exit
	fi
done

# --- a fork child using the parent's duplicates (a request written through one, the reply read
# through another), then closing all three: its own span, ended by its last close; the parent's
# span comes once too, when it has closed its copies.
rm -rf "$OUT"
traced "$PYTHON" - "$port" >"$WORK/stdout" 2>"$WORK/err" <<'PY' || fail "fork: $(cat "$WORK/err")"
import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
d = os.dup(s.fileno())
os.dup2(d, 50)
pid = os.fork()
if pid == 0:
    os.write(d, b"GET /child HTTP/1.0\r\n\r\n")
    while os.read(50, 4096):
        pass
    s.close(); os.close(d); os.close(50)
    sys.exit(0)
os.waitpid(pid, 0)
os.close(d); os.close(50); s.close()
print("ok")
PY
[[ $(cat "$WORK/stdout") == ok ]] || fail "fork: $(cat "$WORK/stdout")"
expect_spans 2 --kind client --tcp --attr server.port="$port" --lacks ringside.ended_at_exit
expect_spans 1 --kind client --tcp --attr server.port="$port" --has ringside.inherited_from_parent \
	--attr-gt ringside.net.bytes_sent=20 --attr-gt ringside.net.bytes_received=100
expect_spans 1 --kind client --http --name "GET /child" --attr http.response.status_code=404

# --- 8 threads making, writing through and closing 300 duplicates each of one connection at once,
# then the original closed under them: one span each side, every byte counted once.
hd duprace 8 300
expect_spans 1 --kind client --tcp --attr server.port="$own" \
	--attr ringside.net.bytes_sent="$sent" --lacks ringside.ended_at_exit
expect_spans 1 --kind server --tcp --attr server.port="$own" \
	--attr ringside.net.bytes_received="$sent"

# --- 4000 fresh connections, each deciding HTTP from a GET written through dup(s) on one thread
# while another closes s (the connection's state moves to the duplicate): each request's HTTP state
# must go with it, never left on the closed slot (the exit line counts states no connection
# holds), and each request must have its span.
rm -rf "$OUT"
traced RINGSIDE_QUEUE_MB=64 OTEL_BSP_MAX_QUEUE_SIZE=100000 "$HD" dupsniff 4000 >"$WORK/stdout" \
	2>"$WORK/err" || fail "dupsniff failed: $(cat "$WORK/err")"
[[ $(tail -1 "$WORK/stdout") == ok ]] || fail "dupsniff: $(cat "$WORK/stdout")"
! grep -q "held by no connection" "$WORK/err" ||
	fail "dupsniff: HTTP state lost: $(cat "$WORK/err")"
n=$("${CHECK[@]}" count "$OUT" --kind client --http --name "GET /dupsniff")
[[ $n == 4000 ]] || grep -q "spans lost of" "$WORK/err" ||
	fail "dupsniff: $n request spans of 4000, none counted as lost: $(cat "$WORK/err")"

# --- a signal handler that closes a duplicate and opens a socket on its number, 10000 times, many
# of them while this thread is changing the duplicates' links: the links stay whole, so the bytes
# written through the other duplicates after the original is closed are counted.
hd dupsignal 10000
expect_spans 1 --kind client --tcp --attr server.port="$own" \
	--attr ringside.net.bytes_sent="$sent" --lacks ringside.ended_at_exit

# --- fcntl and fcntl64 through the hooks, with commands taking no argument, an int and a pointer.
traced "$H" fcntlargs >"$WORK/stdout" 2>"$WORK/err" || fail "fcntlargs failed: $(cat "$WORK/err")"
[[ $(cat "$WORK/stdout") == ok ]] || fail "fcntlargs: $(cat "$WORK/stdout")"

# --- RLIMIT_NOFILE of 16 (hard limit higher): the program works, its limit stays 16 (liburing
# would raise it to fit io_uring's file table), and the shim works too or says why in one line.
rm -rf "$OUT"
HOSTILE_FREE_FDS=100 prlimit --nofile=16:4096 env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" \
	"${PROF[@]}" "$H" nofile "$port" >"$WORK/stdout" 2>"$WORK/err" ||
	fail "nofile 16 failed: $(cat "$WORK/err")"
[[ $(cat "$WORK/stdout") == ok ]] || fail "nofile 16: $(cat "$WORK/stdout")"
[[ $(grep -c . "$WORK/err" || true) -le 1 ]] || fail "nofile 16: more than one stderr line: $(cat "$WORK/err")"
expect_spans 3 --kind client --tcp --attr server.port="$port"
# ... and when the program itself has taken all but three descriptors (or one), after the shim
# opened its output at start: the shim may get no more, but the program must not notice, and what
# the shim could not write is counted.
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
