#!/usr/bin/env bash
# The exporters' test peers (tests/peers/) are only worth what they decode: each is fed messages
# encoded by other projects' encoders (the OpenTelemetry JS SDK's OTLP serializers, the SkyWalking
# Node.js agent's generated classes and grpc-js stubs, curl with JSON written here, kcat as a Kafka
# producer) and must log exactly what was sent, over every transport, gzip included; refuse bad
# OTLP/JSON and SkyWalking JSON with 400; and play each hostile mode as documented.
source "$(dirname "$0")/lib.sh"
need node kcat curl

need_peers
CLIENT=(node "$PEERS/selftest/client.js")
CHECK_PEER=(node "$PEERS/selftest/check.js")


# has JSON WANT WHAT: every key of the JSON object WANT has the same value in the line JSON.
has() {
	"$PYTHON" -c '
import json, sys
got, want = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.exit(0 if all(got.get(k) == v for k, v in want.items()) else 1)' "$1" "$2" ||
		fail "$3: got $1, wanted $2"
}

check() {
	local file=$1
	shift
	"${CHECK_PEER[@]}" "$WORK/$file.jsonl" "$@" || fail "check $file $*"
}

# curl_post URL TYPE FILE [curl flags...]: prints "STATUS BODY".
curl_post() {
	local url=$1 type=$2 file=$3
	shift 3
	curl -sS -o "$WORK/curl.body" -w '%{http_code}' -H "content-type: $type" "$@" \
		--data-binary @"$file" "$url"
	echo " $(head -c 300 "$WORK/curl.body")"
}

otlp_path() {
	case $1 in
	traces) echo /opentelemetry.proto.collector.trace.v1.TraceService/Export ;;
	metrics) echo /opentelemetry.proto.collector.metrics.v1.MetricsService/Export ;;
	logs) echo /opentelemetry.proto.collector.logs.v1.LogsService/Export ;;
	esac
}

# ---- OTLP: what the JS SDK's serializers send, over HTTP (protobuf, JSON) and gRPC ---------------
start_peer otlp otlp_peer.js
for sig in traces metrics logs; do
	has "$("${CLIENT[@]}" otlp-http "http://127.0.0.1:$HTTP" $sig protobuf --header x-test:one)" \
		'{"status":200,"contentType":"application/x-protobuf","size":0,"response":{}}' "$sig http/protobuf"
	has "$("${CLIENT[@]}" otlp-http "http://127.0.0.1:$HTTP" $sig json --gzip)" \
		'{"status":200,"contentType":"application/json","response":{}}' "$sig http/json gzip"
	has "$("${CLIENT[@]}" otlp-grpc "127.0.0.1:$GRPC" $sig --gzip --metadata x-test:two)" \
		'{"code":0,"response":{}}' "$sig grpc gzip"
	check otlp --where transport=http-protobuf --where path=/v1/$sig --where encoding=identity \
		--header x-test=one --header content-type=application/x-protobuf --expect otlp-$sig
	check otlp --where transport=http-json --where path=/v1/$sig --where encoding=gzip \
		--header content-encoding=gzip --expect otlp-$sig
	check otlp --where transport=grpc --where path="$(otlp_path $sig)" --where encoding=gzip \
		--header x-test=two --header te=trailers --header content-type=application/grpc \
		--header grpc-encoding=gzip --header :path="$(otlp_path $sig)" --expect otlp-$sig
done
has "$("${CLIENT[@]}" otlp-grpc "127.0.0.1:$GRPC" traces)" '{"code":0}' "traces grpc identity"
check otlp --where transport=grpc --where encoding=identity --expect otlp-traces
has "$("${CLIENT[@]}" otlp-http "http://127.0.0.1:$HTTP" traces protobuf --gzip)" '{"status":200}' \
	"traces http/protobuf gzip"
check otlp --where transport=http-protobuf --where encoding=gzip --expect otlp-traces

# OTLP/JSON written by hand as the spec's examples are: ids in upper-case hex, int64 as a string
# and as a number, an enum as an integer, a key this module does not know (ignored, and listed).
cat >"$WORK/by-hand.json" <<'EOF'
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"curl-test"}}]},
 "scopeSpans":[{"scope":{"name":"by-hand"},"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C",
 "spanId":"EEE19B7EC3C1B174","parentSpanId":"eee19b7ec3c1b173","name":"a server span","kind":2,
 "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,"flags":768,
 "attributes":[{"key":"n","value":{"intValue":"-3"}},{"key":"d","value":{"doubleValue":1.5}}],
 "status":{"code":1}}]}]}]}
EOF
cat >"$WORK/by-hand.expect" <<'EOF'
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"curl-test"}}]},
 "scopeSpans":[{"scope":{"name":"by-hand"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",
 "spanId":"eee19b7ec3c1b174","parentSpanId":"eee19b7ec3c1b173","name":"a server span","kind":2,
 "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
 "attributes":[{"key":"n","value":{"intValue":"-3"}},{"key":"d","value":{"doubleValue":1.5}}],
 "status":{"code":1}}]}]}]}
EOF
r=$(curl_post "http://127.0.0.1:$HTTP/v1/traces" application/json "$WORK/by-hand.json")
[[ $r == "200 {}" ]] || fail "hand-written OTLP/JSON: $r"
check otlp --where transport=http-json --where headers.user-agent="curl/$(curl -V | awk 'NR==1{print $2}')" \
	--where 'ignored=["resourceSpans[0].scopeSpans[0].spans[0].flags"]' --expect-file "$WORK/by-hand.expect"

# What OTLP/JSON does not allow is refused with 400, and logged with the reason.
refuse() { # refuse WHAT SED-EXPRESSION REASON-PATTERN
	sed "$2" "$WORK/by-hand.json" >"$WORK/bad.json"
	! cmp -s "$WORK/bad.json" "$WORK/by-hand.json" || fail "refuse $1: the edit changed nothing"
	r=$(curl_post "http://127.0.0.1:$HTTP/v1/traces" application/json "$WORK/bad.json")
	[[ $r == 400* ]] || fail "$1 was not refused: $r"
	[[ $r =~ $3 ]] || fail "$1 refused for another reason: $r"
	grep -q "\"error\":.*$3" "$WORK/otlp.jsonl" || fail "$1: no error line for it"
}
refuse "a 31-digit trace id" 's/"5B8EFFF798038103D269B633813FC60C"/"5B8EFFF798038103D269B633813FC60"/' \
	'traceId: .* is not 32 hex digits'
refuse "a non-hex span id" 's/"EEE19B7EC3C1B174"/"EEE19B7EC3C1B17G"/' 'spanId: .* is not 16 hex digits'
refuse "a base64 trace id" 's/"5B8EFFF798038103D269B633813FC60C"/"W47+95gDgQPSabYzgT+GDA=="/' \
	'traceId: .* is not 32 hex digits'
refuse "an enum by name" 's/"kind":2/"kind":"SPAN_KIND_SERVER"/' 'OTLP/JSON enums are integers'
refuse "a snake_case key" 's/"startTimeUnixNano"/"start_time_unix_nano"/' 'lowerCamelCase'
refuse "a number as a name" 's/"a server span"/42/' 'name: 42 does not convert'
refuse "a malformed int64" 's/"-3"/"-3x"/' 'intValue: .*does not convert'
refuse "broken JSON" 's/}]}]}]}$/}]}]}/' 'not JSON'
printf '\x0a\x07garbage' >"$WORK/bad.pb"
r=$(curl_post "http://127.0.0.1:$HTTP/v1/traces" application/x-protobuf "$WORK/bad.pb")
[[ $r == "400 protobuf does not decode"* ]] || fail "bad protobuf: $r"
r=$(curl_post "http://127.0.0.1:$HTTP/v1/traces" text/plain "$WORK/by-hand.json")
[[ $r == 415* ]] || fail "text/plain: $r"
check otlp --where transport=http-json --count 8 --where msg=null
r=$(curl -sS -o /dev/null -w '%{http_code}' -H 'content-type: application/json' -d '{}' \
	"http://127.0.0.1:$HTTP/v1/trace")
[[ $r == 404 ]] || fail "a wrong path: $r"
check otlp --where path=/v1/trace --where 'error="no route /v1/trace"'
has "$("${CLIENT[@]}" otlp-grpc "127.0.0.1:$GRPC" traces --junk)" '{"code":3}' "junk over gRPC"
check otlp --where transport=grpc --where msg=null --where encoding=identity
stop_peer otlp

# ---- OTLP hostile modes ------------------------------------------------------------------------
start_peer fail otlp_peer.js --fail 2 --status 503 --retry-after 3
has "$("${CLIENT[@]}" otlp-http "http://127.0.0.1:$HTTP" traces protobuf)" \
	'{"status":503,"retryAfter":"3"}' "--fail 2: first request"
has "$("${CLIENT[@]}" otlp-grpc "127.0.0.1:$GRPC" traces)" '{"code":14}' "--fail 2: gRPC UNAVAILABLE"
has "$("${CLIENT[@]}" otlp-http "http://127.0.0.1:$HTTP" traces json)" '{"status":200,"response":{}}' \
	"--fail 2: third request"
check fail --where rejected=true --count 2 --expect otlp-traces
check fail --where transport=http-json --where rejected=null --expect otlp-traces
stop_peer fail

start_peer fail429 otlp_peer.js --fail 1 --status 429
has "$("${CLIENT[@]}" otlp-grpc "127.0.0.1:$GRPC" traces)" '{"code":8}' "429: gRPC RESOURCE_EXHAUSTED"
has "$("${CLIENT[@]}" otlp-grpc "127.0.0.1:$GRPC" traces)" '{"code":0}' "429: second call"
check fail429 --where rejected=true --where transport=grpc --expect otlp-traces
stop_peer fail429

start_peer fail400 otlp_peer.js --fail 1 --status 400
has "$("${CLIENT[@]}" otlp-grpc "127.0.0.1:$GRPC" logs)" '{"code":3}' "400: gRPC INVALID_ARGUMENT"
stop_peer fail400

start_peer stall otlp_peer.js --stall
has "$("${CLIENT[@]}" otlp-http "http://127.0.0.1:$HTTP" traces protobuf --timeout-ms 1000)" \
	'{"timeout":true}' "--stall over HTTP"
# The peer drops grpc-timeout in this mode, so the deadline is the client's own.
has "$("${CLIENT[@]}" otlp-grpc "127.0.0.1:$GRPC" traces --deadline-ms 1000)" '{"code":4}' \
	"--stall over gRPC"
check stall --where transport=http-protobuf --expect otlp-traces
check stall --where transport=grpc --expect otlp-traces
stop_peer stall

start_peer garbage otlp_peer.js --garbage
has "$("${CLIENT[@]}" otlp-http "http://127.0.0.1:$HTTP" traces protobuf)" \
	'{"status":200,"decodeError":"invalid wire type 7 at offset 1"}' "--garbage protobuf"
r=$("${CLIENT[@]}" otlp-http "http://127.0.0.1:$HTTP" metrics json)
[[ $r == *'"status":200'*'"decodeError":'* ]] || fail "--garbage JSON: $r"
r=$("${CLIENT[@]}" otlp-grpc "127.0.0.1:$GRPC" logs)
[[ $r == '{"code":13,"details":"Response message parsing error'* ]] || fail "--garbage gRPC: $r"
check garbage --count 3
stop_peer garbage

start_peer partial otlp_peer.js --partial-success
has "$("${CLIENT[@]}" otlp-http "http://127.0.0.1:$HTTP" traces protobuf)" \
	'{"status":200,"response":{"partialSuccess":{"rejectedSpans":"1","errorMessage":"test"}}}' \
	"--partial-success protobuf"
has "$("${CLIENT[@]}" otlp-http "http://127.0.0.1:$HTTP" metrics json)" \
	'{"status":200,"response":{"partialSuccess":{"rejectedDataPoints":"1","errorMessage":"test"}}}' \
	"--partial-success JSON"
has "$("${CLIENT[@]}" otlp-grpc "127.0.0.1:$GRPC" logs)" \
	'{"code":0,"response":{"partialSuccess":{"rejectedLogRecords":"1","errorMessage":"test"}}}' \
	"--partial-success gRPC"
stop_peer partial

start_peer huge otlp_peer.js --huge
has "$("${CLIENT[@]}" otlp-http "http://127.0.0.1:$HTTP" traces protobuf)" '{"status":200,"size":67108864}' \
	"--huge protobuf"
has "$("${CLIENT[@]}" otlp-http "http://127.0.0.1:$HTTP" traces json)" '{"status":200,"size":67108864}' \
	"--huge JSON"
has "$("${CLIENT[@]}" otlp-grpc "127.0.0.1:$GRPC" traces)" \
	'{"code":8,"details":"Received message larger than max (67108864 vs 4194304)"}' "--huge gRPC"
stop_peer huge

# ---- SkyWalking: the agent's stubs over gRPC, JSON by hand over HTTP -----------------------------
start_peer sw skywalking_peer.js --profile-task '{"TaskId":"task-9","EndpointName":"GET /items/{id}","Duration":"2"}'
sw() {
	"${CLIENT[@]}" sw-grpc "127.0.0.1:$GRPC" "$@" --metadata authentication:secret
}
has "$(sw collect --gzip)" '{"code":0,"response":{"commands":[]}}' collect
has "$(sw reportInstanceProperties)" '{"code":0,"response":{"commands":[]}}' reportInstanceProperties
has "$(sw keepAlive)" '{"code":0,"response":{"commands":[]}}' keepAlive
r=$(sw getProfileTaskCommands)
"$PYTHON" -c '
import json, sys
c = json.loads(sys.argv[1])["response"]["commands"]
assert len(c) == 1 and c[0]["command"] == "ProfileTaskQuery", c
args = c[0]["args"]
names = [k for k, v in args]
assert names == ["SerialNumber", "TaskId", "EndpointName", "Duration", "MinDurationThreshold",
                 "DumpPeriod", "MaxSamplingCount", "StartTime", "CreateTime"], names
a = dict(args)
assert a["TaskId"] == "task-9" and a["EndpointName"] == "GET /items/{id}" and a["Duration"] == "2", a
assert a["SerialNumber"] and a["StartTime"].isdigit() and a["CreateTime"].isdigit(), a
' "$r" || fail "getProfileTaskCommands did not carry the task: $r"
has "$(sw getProfileTaskCommands)" '{"code":0,"response":{"commands":[]}}' "the task is given once"
has "$(sw collectSnapshot --gzip)" '{"code":0,"response":{"commands":[]}}' collectSnapshot
has "$(sw reportTaskFinish)" '{"code":0,"response":{"commands":[]}}' reportTaskFinish
S=/skywalking.v3
check sw --where path=$S.TraceSegmentReportService/collect --count 2
check sw --where path=$S.TraceSegmentReportService/collect --where msg.traceSegmentId=seg-0 \
	--where encoding=gzip --header authentication=secret --header te=trailers --expect sw-segment0
check sw --where path=$S.TraceSegmentReportService/collect --where msg.traceSegmentId=seg-1 \
	--where encoding=gzip --expect sw-segment1
check sw --where path=$S.ManagementService/reportInstanceProperties --where encoding=identity \
	--expect sw-properties
check sw --where path=$S.ManagementService/keepAlive --expect sw-ping
check sw --where path=$S.ProfileTask/getProfileTaskCommands --count 2 --expect sw-query
check sw --where path=$S.ProfileTask/collectSnapshot --where msg.time='"1700000000200"' \
	--where encoding=gzip --expect sw-snapshot0
check sw --where path=$S.ProfileTask/collectSnapshot --where msg.time='"1700000000201"' \
	--expect sw-snapshot1
check sw --where path=$S.ProfileTask/reportTaskFinish --expect sw-finish

# The OAP's JSON: enums by name or number, int64 as numbers or strings (wire-formats 2.11).
cat >"$WORK/segment.json" <<'EOF'
{"traceId":"trace-1","traceSegmentId":"seg-0","service":"peer-test","serviceInstance":"inst-1",
 "spans":[{"spanId":0,"parentSpanId":-1,"startTime":1700000000123,"endTime":"1700000000125",
  "operationName":"/items/{id}","spanType":"Entry","spanLayer":"Http","componentId":49,"isError":false,
  "tags":[{"key":"http.method","value":"GET"}],
  "refs":[{"refType":"CrossProcess","traceId":"trace-1","parentTraceSegmentId":"seg-up","parentSpanId":3,
   "parentService":"up","parentServiceInstance":"up-1","parentEndpoint":"/x",
   "networkAddressUsedAtPeer":"127.0.0.1:8080"}]},
  {"spanId":1,"parentSpanId":0,"startTime":1700000000124,"endTime":1700000000125,"operationName":"GET /db",
   "peer":"127.0.0.1:5432","spanType":1,"spanLayer":3,"componentId":2,"isError":true,
   "tags":[{"key":"http.status_code","value":"500"}]}]}
EOF
{ printf '['; cat "$WORK/segment.json"; printf ','; sed 's/seg-0/seg-1/' "$WORK/segment.json"; printf ']'; } \
	>"$WORK/segments.json"
r=$(curl_post "http://127.0.0.1:$HTTP/v3/segments" application/json "$WORK/segments.json")
[[ $r == "200 {}" ]] || fail "/v3/segments: $r"
check sw --where path=/v3/segments --where transport=http-json --count 2
check sw --where path=/v3/segments --where msg.traceSegmentId=seg-0 --expect sw-segment0
check sw --where path=/v3/segments --where msg.traceSegmentId=seg-1 --expect sw-segment1
gzip -c "$WORK/segment.json" >"$WORK/segment.json.gz"
r=$(curl_post "http://127.0.0.1:$HTTP/v3/segment" application/json "$WORK/segment.json.gz" \
	-H 'content-encoding: gzip')
[[ $r == "200 {}" ]] || fail "/v3/segment gzip: $r"
check sw --where path=/v3/segment --where encoding=gzip --expect sw-segment0
echo '{"service":"peer-test","serviceInstance":"inst-1","properties":[{"key":"language","value":"c"},{"key":"ipv4","value":"127.0.0.1"}]}' >"$WORK/props.json"
r=$(curl_post "http://127.0.0.1:$HTTP/v3/management/reportProperties" application/json "$WORK/props.json")
[[ $r == "200 {}" ]] || fail "reportProperties: $r"
check sw --where path=/v3/management/reportProperties --expect sw-properties
echo '{"service":"peer-test","serviceInstance":"inst-1","instance":"typo"}' >"$WORK/ping.json"
r=$(curl_post "http://127.0.0.1:$HTTP/v3/management/keepAlive" application/json "$WORK/ping.json")
[[ $r == "200 {}" ]] || fail "keepAlive: $r"
check sw --where path=/v3/management/keepAlive --where 'ignored=["instance"]' --expect sw-ping
for bad in 's/"Entry"/"Entrance"/|spanType: "Entrance" is not a SpanType value' \
	's/"parentSpanId":-1/"parentSpanId":"minus one"/|parentSpanId: "minus one" is not an integer' \
	's/"componentId":49/"componentId":4294967296/|componentId: 4294967296 out of int32 range' \
	's/"isError":false/"isError":"no"/|isError: true or false expected'; do
	sed "${bad%%|*}" "$WORK/segment.json" >"$WORK/bad.json"
	r=$(curl_post "http://127.0.0.1:$HTTP/v3/segment" application/json "$WORK/bad.json")
	[[ $r == "400 spans[0].${bad#*|}"* ]] || fail "SkyWalking JSON ${bad%%|*}: $r"
done
r=$(curl_post "http://127.0.0.1:$HTTP/v3/segments" application/json "$WORK/segment.json")
[[ $r == "400 a JSON array expected"* ]] || fail "/v3/segments without an array: $r"
check sw --where transport=http-json --where msg=null --count 5
stop_peer sw

# ---- SkyWalking hostile modes ------------------------------------------------------------------
start_peer swfail skywalking_peer.js --fail 2 --status 503 --retry-after 2
r=$(curl -sS -D - -o /dev/null -H 'content-type: application/json' --data-binary @"$WORK/ping.json" \
	"http://127.0.0.1:$HTTP/v3/management/keepAlive" | tr -d '\r')
[[ $r == "HTTP/1.1 503"* && $r == *$'\nretry-after: 2\n'* ]] || fail "SkyWalking --fail over HTTP: $r"
has "$("${CLIENT[@]}" sw-grpc "127.0.0.1:$GRPC" collect)" '{"code":14}' "SkyWalking --fail over gRPC"
has "$("${CLIENT[@]}" sw-grpc "127.0.0.1:$GRPC" keepAlive)" '{"code":0}' "SkyWalking after --fail"
check swfail --where rejected=true --count 3
check swfail --where rejected=true --where msg.traceSegmentId=seg-1 --expect sw-segment1
stop_peer swfail

start_peer swgarbage skywalking_peer.js --garbage
r=$("${CLIENT[@]}" sw-grpc "127.0.0.1:$GRPC" keepAlive)
[[ $r == '{"code":13,'* ]] || fail "SkyWalking --garbage over gRPC: $r"
stop_peer swgarbage

start_peer swstall skywalking_peer.js --stall
has "$("${CLIENT[@]}" sw-grpc "127.0.0.1:$GRPC" collect --deadline-ms 1000)" '{"code":4}' \
	"SkyWalking --stall over gRPC"
check swstall --count 2
stop_peer swstall

# ---- Kafka: librdkafka's mock cluster, kcat as the producer, kafka_decode.js reading back ---------
"$PROGS/kafka_mock" --topic otlp_spans --topic otlp_logs --topic skywalking-segments \
	--topic skywalking-managements --topic skywalking-profilings >"$WORK/kafka.out" 2>"$WORK/kafka.err" &
KAFKA_PID=$!
RS_PIDS+=("$KAFKA_PID")
for i in $(seq 200); do
	grep -q '^bootstrap=' "$WORK/kafka.out" && break
	kill -0 "$KAFKA_PID" 2>/dev/null || fail "kafka_mock exited: $(cat "$WORK/kafka.err")"
	sleep 0.05
done
BOOT=$(sed -n 's/^bootstrap=//p' "$WORK/kafka.out")
[[ $BOOT =~ ^127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+$ ]] || fail "kafka_mock said: $BOOT"
"${CLIENT[@]}" otlp-payload traces "$WORK/traces.bin"
"${CLIENT[@]}" otlp-payload logs "$WORK/logs.bin"
for p in segment0 properties ping snapshot0; do
	"${CLIENT[@]}" sw-payload $p "$WORK/$p.bin"
done
produce() { # produce TOPIC KEY FILE: one record holding the whole file (kcat -P FILE)
	kcat -P -b "$BOOT" -t "$1" ${2:+-k "$2"} "$3" || fail "kcat -P to $1"
}
produce otlp_spans "" "$WORK/traces.bin"
produce otlp_logs a1b2c3d4e5f60718293a4b5c6d7e8f90 "$WORK/logs.bin"
produce skywalking-segments seg-0 "$WORK/segment0.bin"
produce skywalking-managements register-inst-1 "$WORK/properties.bin"
produce skywalking-managements inst-1 "$WORK/ping.bin"
produce skywalking-profilings task-10 "$WORK/snapshot0.bin"
# Broker 1 down and up again: the cluster serves on.
kill -USR1 "$KAFKA_PID"
kill -USR2 "$KAFKA_PID"
for i in $(seq 100); do
	grep -q '^broker 1 up' "$WORK/kafka.out" && break
	sleep 0.05
done
[[ $(sed -n 2,3p "$WORK/kafka.out" | tr '\n' ,) == "broker 1 down,broker 1 up," ]] ||
	fail "kafka_mock on SIGUSR1/SIGUSR2: $(cat "$WORK/kafka.out")"
node "$PEERS/kafka_decode.js" --brokers "$BOOT" --topic otlp_spans --topic otlp_logs \
	--topic skywalking-segments --topic skywalking-managements --topic skywalking-profilings \
	--out "$WORK/kafka.jsonl" || fail "kafka_decode.js failed"
check kafka --count 6 --where transport=kafka
check kafka --where path=otlp_spans --where peer=otlp --where key=null --expect otlp-traces
check kafka --where path=otlp_logs --where key=a1b2c3d4e5f60718293a4b5c6d7e8f90 --expect otlp-logs
check kafka --where path=skywalking-segments --where key=seg-0 --expect sw-segment0
check kafka --where path=skywalking-managements --where key=register-inst-1 --expect sw-properties
check kafka --where path=skywalking-managements --where key=inst-1 --expect sw-ping
check kafka --where path=skywalking-profilings --where key=task-10 --expect sw-snapshot0
# A value that is not a SegmentObject is reported, and the run fails.
printf '\x0a\x07junk' >"$WORK/junk.bin"
produce skywalking-segments junk "$WORK/junk.bin"
kcat -C -b "$BOOT" -t skywalking-segments -e -o beginning -q -X fetch.wait.max.ms=10 \
	-f '%t %p %o %K %S\n%k%s' >"$WORK/framed" || fail "kcat -C"
if node "$PEERS/kafka_decode.js" --out "$WORK/junk.jsonl" <"$WORK/framed"; then
	fail "kafka_decode.js accepted a junk value"
fi
check junk --where key=junk --where 'msg={"raw":"CgdqdW5r"}'
check junk --where key=seg-0 --expect sw-segment0
kill "$KAFKA_PID"
wait "$KAFKA_PID" || fail "kafka_mock did not exit cleanly on SIGTERM"
echo PASS
