#!/usr/bin/env bash
# nginx serving a file under the shim, with worker processes that (as root) drop privileges to
# www-data after fork: every connection a worker accepted is a SERVER span in that worker's own
# file, and nginx answers exactly as it does without the shim.
source "$(dirname "$0")/lib.sh"
need nginx curl

make_site
port=$(free_port)
# As `ringside run` does: workers that drop privileges must be able to create their files.
install -d -m 1777 "$OUT"
nginx_conf "$WORK/nginx/nginx.conf" 2 64 off "listen 127.0.0.1:$port; root $WORK/site;"
traced_bg nginx -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" -g 'daemon off;'
nginx_pid=$BG_PID
wait_listen "$port"

url=http://127.0.0.1:$port/index.html
for i in 1 2 3 4 5; do
	curl -sS "$url" -o "$WORK/body.$i" || fail "request $i failed"
	cmp -s "$WORK/body.$i" "$WORK/site/index.html" || fail "request $i: wrong body"
done
# One keep-alive connection carrying five requests: one more span, not five.
curl -sS "$url" "$url" "$url" "$url" "$url" -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
	-o /dev/null || fail "keep-alive requests failed"
curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/missing" >"$WORK/code404"
[[ $(cat "$WORK/code404") == 404 ]] || fail "nginx did not answer 404 for a missing file"

kill -QUIT "$nginx_pid"
wait "$nginx_pid" || true

"${CHECK[@]}" validate "$OUT" || fail "output is not valid OTLP/JSON"
expect_spans 7 --exe nginx --kind server --name "accept :$port" --attr server.port="$port" \
	--attr client.address=127.0.0.1 --attr-gt ringside.net.bytes_received=40 \
	--attr-gt ringside.net.bytes_sent=100
expect_spans 7 --exe nginx --tcp
# The keep-alive connection carried five requests and five replies.
big=$("${CHECK[@]}" count "$OUT" --exe nginx --tcp --attr-gt ringside.net.bytes_received=400)
[[ $big == 1 ]] || fail "expected one connection with five requests, found $big"

# Only workers accepted connections: their files, not the master's.
master_files=$(find "$OUT" -name "nginx.$nginx_pid.*" | wc -l)
[[ $master_files == 0 ]] || fail "the master process wrote spans"
if [[ -n $NGINX_USER ]]; then
	owners=$(stat -c %U "$OUT"/nginx.*.traces.jsonl | sort -u)
	[[ $owners == www-data ]] || fail "worker files should belong to www-data, not: $owners"
	[[ $(stat -c %a "$OUT") == 1777 ]] || fail "the output directory should be 1777"
fi

# RINGSIDE_ENABLED=0: nginx answers the same, and nothing is written.
rm -rf "$OUT"
port2=$(free_port)
sed -i "s/127.0.0.1:$port;/127.0.0.1:$port2;/" "$WORK/nginx/nginx.conf"
traced_bg RINGSIDE_ENABLED=0 nginx -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" -g 'daemon off;'
nginx_pid=$BG_PID
wait_listen "$port2"
curl -sS -D "$WORK/headers.off" "http://127.0.0.1:$port2/index.html" -o "$WORK/body.off" || fail "request failed"
cmp -s "$WORK/body.off" "$WORK/site/index.html" || fail "wrong body with RINGSIDE_ENABLED=0"
grep -q "^HTTP/1.1 200" "$WORK/headers.off" || fail "no 200 with RINGSIDE_ENABLED=0"
kill -QUIT "$nginx_pid"
wait "$nginx_pid" || true
[[ ! -e $OUT ]] || fail "RINGSIDE_ENABLED=0 wrote $(ls "$OUT")"
echo PASS
