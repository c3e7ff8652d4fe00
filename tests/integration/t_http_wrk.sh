#!/usr/bin/env bash
# wrk with keep-alive against a traced nginx: one SERVER span per request. Four wrk processes run
# at once, one connection each, each stopping after exactly N responses (wrk_stop_after.lua; wrk
# itself still waits out its -d), so
# no request is in flight when they stop and their counts are exact: the spans must equal them.
# Then a timed run with many connections: spans must equal nginx's own access log.
source "$(dirname "$0")/lib.sh"
need nginx wrk

make_site
port=$(free_port)
install -d -m 1777 "$OUT"
nginx_conf "$WORK/nginx/nginx.conf" 2 256 "$WORK/nginx/access.log" "listen 127.0.0.1:$port; root $WORK/site;"
touch "$WORK/nginx/access.log"
chmod 666 "$WORK/nginx/access.log"

start_nginx() {
	traced_bg nginx -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" -g 'daemon off;'
	NGINX_PID=$BG_PID
	wait_listen "$port"
}
stop_nginx() {
	kill -QUIT "$NGINX_PID"
	wait "$NGINX_PID" || true
}

start_nginx
per=2000
pids=()
for w in 1 2 3 4; do
	WRK_REQUESTS=$per wrk -t1 -c1 -d5s -s "$RS_SRC/tests/integration/wrk_stop_after.lua" \
		"http://127.0.0.1:$port/index.html" >"$WORK/wrk.$w" &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "wrk failed"; done
stop_nginx
total=0
for w in 1 2 3 4; do
	n=$(awk '/requests in/ {print $1}' "$WORK/wrk.$w")
	[[ $n == "$per" ]] || fail "wrk $w made $n requests, not $per: $(cat "$WORK/wrk.$w")"
	total=$((total + n))
done
"${CHECK[@]}" validate "$OUT" || fail "invalid output"
expect_spans "$total" --exe nginx --http --kind server --name "GET /index.html" \
	--attr http.response.status_code=200
! grep -q "spans lost" "$WORK/nginx/error.log" || fail "spans were lost: $(grep ringside "$WORK/nginx/error.log")"
echo "wrk: $total requests, $total server spans"

# Many connections for a while: the spans equal what nginx itself logged.
rm -rf "$OUT"
install -d -m 1777 "$OUT"
: >"$WORK/nginx/access.log"
start_nginx
wrk -t2 -c32 -d1s "http://127.0.0.1:$port/index.html" >"$WORK/wrk.timed" || fail "wrk failed"
stop_nginx
logged=$(wc -l <"$WORK/nginx/access.log")
spans=$("${CHECK[@]}" count "$OUT" --quick --exe nginx --http --kind server)
echo "timed: wrk $(awk '/requests in/ {print $1}' "$WORK/wrk.timed"), nginx logged $logged, spans $spans"
((logged > 1000)) || fail "too few requests to mean anything: $logged"
[[ $spans == "$logged" ]] || fail "$spans spans for $logged requests: $(grep ringside "$WORK/nginx/error.log")"
echo PASS
