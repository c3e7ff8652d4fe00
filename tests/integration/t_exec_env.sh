#!/usr/bin/env bash
# Children keep the shim and its configuration through exec, posix_spawn and vfork, also when
# the caller passes an environment of its own without them (env -i, a hand-made envp); and what a
# process recorded before exec is written before the image is replaced.
source "$(dirname "$0")/lib.sh"
need curl

make_site
port=$(free_port)
start_python "$port" "$WORK/site" bare
url=http://127.0.0.1:$port/index.html
curl_bin=$(command -v curl)

# 1. env -i clears everything, then execvp()s curl.
traced RINGSIDE_CONN_SPANS=1 env -i "$curl_bin" -sS "$url" -o /dev/null || fail "env -i curl failed"
expect_spans 1 --exe curl --kind client --tcp
# 2. vfork + execve with a hand-made environment.
rm -rf "$OUT"
traced "$PROGS/vfork_exec" "$curl_bin" -sS "$url" -o /dev/null || fail "vfork_exec failed"
expect_spans 1 --exe curl --kind client --tcp
# 3. posix_spawn (Python's os.posix_spawn calls libc's) with an environment lacking the shim.
rm -rf "$OUT"
traced "$PYTHON" -c "
import os, sys
pid = os.posix_spawn('$curl_bin', ['curl', '-sS', '$url', '-o', '/dev/null'], {'PATH': '/usr/bin'})
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))" || fail "posix_spawn curl failed"
expect_spans 1 --exe curl --kind client --tcp
# 4. A caller's own setting wins over the carried one.
rm -rf "$OUT"
traced env -i RINGSIDE_CONN_SPANS=0 "$curl_bin" -sS "$url" -o /dev/null || fail "curl failed"
expect_spans 0 --tcp  # the child's own RINGSIDE_CONN_SPANS=0 held
expect_spans 1 --http --kind client # and the carried settings still traced it
# 5. sh -c 'curl; curl': two processes, two files.
rm -rf "$OUT"
traced sh -c "curl -sS $url -o /dev/null; curl -sS $url -o /dev/null" || fail "sh -c failed"
[[ $("${CHECK[@]}" files "$OUT" | wc -l) == 2 ]] || fail "expected two curl files"
# 6. Spans recorded before an exec are flushed before the image is replaced.
rm -rf "$OUT"
traced "$PYTHON" -c "
import os, socket
s = socket.create_connection(('127.0.0.1', $port))
s.sendall(b'GET / HTTP/1.0\r\n\r\n'); s.recv(100); s.close()
os.execv('/bin/true', ['true'])" || fail "exec after a connection failed"
expect_spans 1 --kind client --tcp --attr server.port="$port"
stop_python
echo PASS
