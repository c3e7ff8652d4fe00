#!/usr/bin/env bash
# The application's own threads make no telemetry system calls: under strace -f, the system calls
# on curl's main thread for 40 requests minus those for 5 are the same number with and without
# the shim (what the shim does once per process cancels out; anything per request would not).
# poll, rt_sigaction and recvfrom are left out: curl itself makes a timing-dependent number of
# them (a reply already waiting or not), and the shim never calls them. futex too: curl's
# resolver threads and the shim's exit flush (once per process) wait a timing-dependent number
# of times.
source "$(dirname "$0")/lib.sh"
need curl strace

make_site
port=$(free_port)
start_python "$port" "$WORK/site" bare

main_thread_calls() { # N [shim]
	local urls=() i
	for i in $(seq "$1"); do urls+=("http://127.0.0.1:$port/index.html"); done
	if [[ ${2:-} == shim ]]; then
		env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" strace -f -qq -o "$WORK/st" curl -sS "${urls[@]}" >/dev/null
	else
		strace -f -qq -o "$WORK/st" curl -sS "${urls[@]}" >/dev/null
	fi
	local main
	main=$(head -1 "$WORK/st" | awk '{print $1}')
	awk -v m="$main" '$1 == m' "$WORK/st" | grep -v ' <\.\.\. ' | sed -E 's/^[0-9]+ +//; s/\(.*//' |
		grep -vE '^(poll|rt_sigaction|recvfrom|futex|\+\+\+)' | sort | uniq -c | tee "$WORK/calls.$1.${2:-bare}" |
		awk '{n += $1} END {print n}'
}
bare=$(($(main_thread_calls 40) - $(main_thread_calls 5)))
shim=$(($(main_thread_calls 40 shim) - $(main_thread_calls 5 shim)))
echo "per 35 requests on curl's main thread: bare $bare, with the shim $shim"
if [[ $bare != "$shim" ]]; then
	diff <(join -1 2 -2 2 <(sort -k2 "$WORK/calls.40.bare") <(sort -k2 "$WORK/calls.5.bare")) \
		<(join -1 2 -2 2 <(sort -k2 "$WORK/calls.40.shim") <(sort -k2 "$WORK/calls.5.shim")) >&2 || true
	fail "the shim changed the per-request system calls of the application's thread"
fi
# And the shim did trace them: 40 + 5 connections (python answers HTTP/1.0, one per request).
expect_spans 45 --exe curl --kind client --tcp
stop_python
echo PASS
