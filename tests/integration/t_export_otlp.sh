#!/usr/bin/env bash
# RINGSIDE_EXPORTER=otlp against the OTLP peer (tests/peers/otlp_peer.js, decoding with the
# OpenTelemetry JS SDK's generated code): curl -> python3 -m http.server, both under the shim,
# arrives with its parent links intact over each protocol; the configured headers, compression,
# endpoint path and resource reach the collector.
source "$(dirname "$0")/lib.sh"
need curl
need_peers

make_site
py=$(python_exe)


# --- http/protobuf (the default protocol), general endpoint: /v1/traces appended ---------------
start_peer pb otlp_peer.js
otlp_chain pb OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$HTTP/" OTEL_SERVICE_NAME=chain-pb \
	OTEL_EXPORTER_OTLP_HEADERS="x-tenant=blue%20team, Authorization=Bearer%20t0k"
stop_peer pb
"${PEER_CHECK[@]}" chain "$WORK/pb.jsonl" 3 curl "$py" || fail "http/protobuf: the chain is broken"
[[ $("${PEER_CHECK[@]}" field "$WORK/pb.jsonl" transport | sort -u) == '"http-protobuf"' ]] ||
	fail "http/protobuf: not every export was protobuf"
[[ $("${PEER_CHECK[@]}" field "$WORK/pb.jsonl" path | sort -u | tr "\n" " ") == '"/v1/metrics" "/v1/traces" ' ]] ||
	fail "http/protobuf: wrong path"
[[ $("${PEER_CHECK[@]}" field "$WORK/pb.jsonl" headers.x-tenant | sort -u) == '"blue team"' ]] ||
	fail "http/protobuf: OTEL_EXPORTER_OTLP_HEADERS did not arrive"
[[ $("${PEER_CHECK[@]}" field "$WORK/pb.jsonl" headers.authorization | sort -u) == '"Bearer t0k"' ]] ||
	fail "http/protobuf: the Authorization header did not arrive"
[[ $("${PEER_CHECK[@]}" field "$WORK/pb.jsonl" encoding | sort -u) == '"identity"' ]] ||
	fail "http/protobuf: compressed without being asked"
"${PEER_CHECK[@]}" dump "$WORK/pb.jsonl" | "$PYTHON" -c '
import json, sys
spans = [json.loads(l) for l in sys.stdin]
assert spans, "no spans"
assert {s["service"] for s in spans} == {"chain-pb"}, {s["service"] for s in spans}
http = [s for s in spans if s["http"]]
assert all(s["name"] == "GET /index.html" for s in http), [s["name"] for s in http]
srv = [s for s in http if s["kind"] == 2]
assert all(s["attrs"]["http.response.status_code"] == 200 for s in srv)
assert all(s["attrs"]["url.path"] == "/index.html" for s in srv)
' || fail "http/protobuf: span content"
# The shim's own counters, as OTLP metrics at exit: per process, what it exported is what arrived.
"${PEER_CHECK[@]}" self-metrics "$WORK/pb.jsonl" otlp_http_span_exporter 2 ||
	fail "http/protobuf: self-telemetry metrics"
[[ $("${PEER_CHECK[@]}" field "$WORK/pb.jsonl" transport --path /v1/metrics | sort -u) == '"http-protobuf"' ]] ||
	fail "http/protobuf: metrics in another encoding"

# --- http/json with gzip, a signal-specific endpoint used as it is --------------------------------
start_peer json otlp_peer.js
otlp_chain json OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json OTEL_EXPORTER_OTLP_COMPRESSION=gzip \
	OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$HTTP/v1/traces" \
	OTEL_EXPORTER_OTLP_METRICS_ENDPOINT="http://127.0.0.1:$HTTP/v1/metrics"
stop_peer json
"${PEER_CHECK[@]}" chain "$WORK/json.jsonl" 3 curl "$py" || fail "http/json: the chain is broken"
"${PEER_CHECK[@]}" self-metrics "$WORK/json.jsonl" otlp_http_json_span_exporter 2 ||
	fail "http/json: self-telemetry metrics (sent as http/protobuf)"
[[ $("${PEER_CHECK[@]}" field "$WORK/json.jsonl" transport --path /v1/traces | sort -u) == '"http-json"' ]] ||
	fail "http/json: not every export was JSON"
[[ $("${PEER_CHECK[@]}" field "$WORK/json.jsonl" encoding --path /v1/traces | sort -u) == '"gzip"' ]] ||
	fail "http/json: OTEL_EXPORTER_OTLP_COMPRESSION=gzip was not used"
# Span.flags is newer than otlp-transformer 0.52: listed as ignored, nothing else may be.
"${PEER_CHECK[@]}" field "$WORK/json.jsonl" ignored | "$PYTHON" -c '
import json, re, sys
for l in sys.stdin:
    for k in json.loads(l) or []:
        assert re.fullmatch(r"resourceSpans\[\d+\]\.scopeSpans\[\d+\]\.spans\[\d+\]\.flags", k), k
' || fail "http/json: a key the peer does not know"
echo PASS
