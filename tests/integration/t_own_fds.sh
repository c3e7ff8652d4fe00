#!/usr/bin/env bash
# With io_uring the shim keeps nothing in the program's fd table but one pipe end (its wake-up):
# no ring fd, no output file. The exported symbols are exactly the interposed functions.
source "$(dirname "$0")/lib.sh"
need curl

make_site
port=$(free_port)
start_python "$port" "$WORK/site"
curl -sS "http://127.0.0.1:$port/index.html" -o /dev/null # starts the server's reporter
for i in $(seq 50); do
	[[ -n $(ls "$OUT" 2>/dev/null) ]] && break
	sleep 0.1
done
links=$(for fd in /proc/"$PY_PID"/fd/*; do echo "${fd##*/} $(readlink "$fd")"; done)
echo "$links" | grep -q io_uring && fail "an io_uring fd is in the program's fd table: $links"
echo "$links" | grep -q traces.jsonl && fail "the output file is in the program's fd table: $links"
# The shim moves its descriptors up to min(fd limit, 1024) - 24, away from the numbers programs
# use; the rest here are python's own and what the test harness passed down.
limit=$(ulimit -n)
floor=$(( limit > 64 ? (limit < 1024 ? limit : 1024) - 24 : 3 ))
shim_fds=$(echo "$links" | awk -v f="$floor" '$1 >= f')
[[ $(echo "$shim_fds" | grep -c 'pipe:') == 1 && $(echo "$shim_fds" | wc -l) == 1 ]] ||
	fail "expected one shim descriptor, a pipe end: $shim_fds"
stop_python

# The export list is the hook list: nothing else leaks out of the library.
exported=$(nm -D --defined-only "$SHIM_LIB" | awk '{print $3}' | sort)
expected=$(cc -E -P -x c -I"$RS_SRC/hooks" - <<<'#include "hooklist.h"
#define N(x) x
RS_EXPORTED(N)' | tr ' ' '\n' | grep -v '^$')
# x86_64 also exports both glibc ABIs of the condition waits under their versions (hooks/wait.c).
if [[ $(uname -m) == x86_64 ]]; then
	expected+=$'\nGLIBC_2.2.5\nGLIBC_2.3.2'
	for f in pthread_cond_wait pthread_cond_timedwait; do
		expected+=$'\n'"$f@@GLIBC_2.3.2"$'\n'"$f@GLIBC_2.2.5"
	done
fi
expected=$(sort <<<"$expected")
[[ $exported == "$expected" ]] || fail "exports differ: $(diff <(echo "$expected") <(echo "$exported"))"
echo PASS
