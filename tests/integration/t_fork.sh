#!/usr/bin/env bash
# fork without exec: parent and five children each connect; every process writes its own file
# with its own pid, and no child hangs although another thread is inside the hooks at each fork.
# Once plain, once under the CPU profiler (which gives the forking thread a ring before it forks,
# so the child's reporter must start without a first claim), and once with every wait sampled
# (forks while the other thread unwinds inside a wait hook).
source "$(dirname "$0")/lib.sh"

make_site
port=$(free_port)
start_python "$port" "$WORK/site" bare
for mode in plain profiled waits; do
rm -rf "$OUT"
# The exit flush gets 10 s, not the default second: on a busy machine or under ASan a child's
# reporter may need longer to start and write, and the file count below must not depend on that.
export RINGSIDE_FLUSH_TIMEOUT_MS=10000
if [[ $mode == plain ]]; then
	traced "$PROGS/fork_connect" "$port" 5 >"$WORK/fork.out" ||
		fail "fork_connect failed (a child hung or a request failed)"
elif [[ $mode == profiled ]]; then
	traced RINGSIDE_PROFILE=cpu "$PROGS/fork_connect" "$port" 5 >"$WORK/fork.out" ||
		fail "fork_connect under the profiler failed (a child hung or a request failed)"
else
	# Every blocking read, connect and contended lock is a wait sample unwound in the hook, so
	# forks come while the other thread is unwinding inside one.
	traced RINGSIDE_PROFILE=cpu,wait RINGSIDE_WAIT_THRESHOLD_US=1 "$PROGS/fork_connect" "$port" 5 \
		>"$WORK/fork.out" ||
		fail "fork_connect under the wait profiler failed (a child hung or a request failed)"
fi

"${CHECK[@]}" validate "$OUT" || fail "output is not valid OTLP/JSON"
files=$("${CHECK[@]}" files "$OUT")
[[ $(echo "$files" | wc -l) == 6 ]] || fail "$mode: expected 6 files (parent and 5 children): $files"
while read -r exe pid path; do
	# Each file holds its own process's spans; the checker already verified process.pid.
	n=$("${CHECK[@]}" count "$OUT" --pid "$pid" --kind client --tcp --attr server.port="$port")
	[[ $n -ge 1 ]] || fail "process $pid wrote no client span"
done <<<"$files"
# The children connected once each; the parent's spans are not repeated in a child's file.
parent=$(sed -n 's/^parent //p' "$WORK/fork.out")
[[ -n $parent ]] && grep -q " $parent " <<<"$files" || fail "$mode: no file of the parent $parent: $files"
for pid in $(echo "$files" | awk '{print $2}'); do
	[[ $pid == "$parent" ]] && continue
	n=$("${CHECK[@]}" count "$OUT" --pid "$pid" --tcp)
	[[ $n == 1 ]] || fail "$mode: child $pid reported $n spans, expected exactly its own one"
done
echo "$mode: 6 processes, each with its own spans"
done
stop_python
echo PASS
