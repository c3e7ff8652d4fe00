#!/usr/bin/env bash
# curl -> nginx (reverse proxy) -> python3 -m http.server, all three under the shim, each writing
# its own file: one trace; every hop's parent is the previous hop's span; the HTTP attributes of
# OpenTelemetry's semantic conventions. Once with W3C traceparent, once with SkyWalking's sw8 only.
source "$(dirname "$0")/lib.sh"
need nginx curl

make_site
mkdir -p "$WORK/site/items"
echo "item" >"$WORK/site/items/42"
chmod -R a+rX "$WORK/site"
install -d -m 1777 "$OUT"

run_chain() { # propagators
	local props=$1 py_port ng_port
	rm -rf "$OUT"
	install -d -m 1777 "$OUT"
	py_port=$(free_port)
	ng_port=$(free_port)
	python_server "$py_port" "$WORK/site" python env LD_PRELOAD="$SHIM" RINGSIDE_OUTPUT_DIR="$OUT" \
		OTEL_PROPAGATORS="$props"
	nginx_conf "$WORK/nginx/proxy.conf" 1 64 off "listen 127.0.0.1:$ng_port;" \
		"location / { proxy_pass http://127.0.0.1:$py_port; }"
	traced_bg env OTEL_PROPAGATORS="$props" nginx -e "$WORK/nginx/error.log" -c "$WORK/nginx/proxy.conf" -g 'daemon off;'
	local ng_pid=$BG_PID
	wait_listen "$ng_port"
	traced env OTEL_PROPAGATORS="$props" curl -sS -A "chain-test/1" -o "$WORK/body" \
		"http://127.0.0.1:$ng_port/items/42?token=secret" || fail "curl through the proxy failed"
	[[ $(cat "$WORK/body") == item ]] || fail "wrong body through the proxy"
	kill -QUIT "$ng_pid"
	wait "$ng_pid" || true
	stop_python
	"${CHECK[@]}" validate "$OUT" || fail "output is not valid OTLP/JSON ($props)"
	"${CHECK[@]}" dump "$OUT" --http >"$WORK/spans.$props"
	"$PYTHON" - "$WORK/spans.$props" "$ng_port" "$py_port" "$props" "$(python_exe)" <<'PY' || fail "the chain is broken ($props)"
import json, sys
spans = [json.loads(l) for l in open(sys.argv[1])]
ng_port, py_port, props, py = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def one(exe, kind):
    m = [s for s in spans if s["exe"] == exe and s["kind"] == kind]
    assert len(m) == 1, f"{exe} kind {kind}: {len(m)} spans, expected 1: {[s['name'] for s in m]}"
    return m[0]
curl_c, ng_s, ng_c, py_s = one("curl", 3), one("nginx", 2), one("nginx", 3), one(py, 2)
assert len(spans) == 4, f"{len(spans)} HTTP spans, expected 4"
assert len({s["trace"] for s in spans}) == 1, "more than one trace"
assert curl_c["parent"] == "", "curl's span is the root"
assert ng_s["parent"] == curl_c["span"], "nginx's server span is not curl's child"
assert ng_c["parent"] == ng_s["span"], "nginx's upstream request is not its server span's child"
assert py_s["parent"] == ng_c["span"], "python's span is not nginx's client span's child"
for s in (ng_s, py_s):
    assert s["flags"] & 0x300 == 0x300, "a remote parent must be flagged"
for s in spans:
    assert s["name"] == "GET /items/{id}", s["name"]
    a = s["attrs"]
    assert a["http.request.method"] == "GET" and a["http.response.status_code"] == 200
    assert a["network.protocol.name"] == "http" and a["url.scheme"] == "http"
    assert a["network.peer.address"] == "127.0.0.1" and "thread.id" in a
    assert "secret" not in json.dumps(s), "a query value reached the output"
a = curl_c["attrs"]
assert a["url.full"] == f"http://127.0.0.1:{ng_port}/items/42?token=REDACTED", a["url.full"]
assert a["server.address"] == "127.0.0.1" and a["server.port"] == ng_port
assert a["network.peer.port"] == ng_port and a["user_agent.original"] == "chain-test/1"
a = ng_s["attrs"]
assert a["url.path"] == "/items/42" and a["url.query"] == "token=REDACTED", a
assert a["server.port"] == ng_port and a["client.address"] == "127.0.0.1"
assert a["user_agent.original"] == "chain-test/1"
a = ng_c["attrs"]
assert a["server.port"] == py_port and a["network.peer.port"] == py_port
a = py_s["attrs"]
assert a["url.path"] == "/items/42" and a["server.port"] == py_port
assert a["http.response.body.size"] == 5
print(f"{props}: curl {curl_c['span']} -> nginx {ng_s['span']} -> {ng_c['span']} -> python {py_s['span']}")
PY
}
run_chain tracecontext
run_chain sw8
echo PASS
