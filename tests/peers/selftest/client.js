#!/usr/bin/env node
'use strict';
// The independent side of the peers' own tests (tests/integration/t_peers.sh): it encodes fixed
// telemetry with other projects' encoders -- the OpenTelemetry JS SDK's OTLP serializers
// (@opentelemetry/otlp-transformer) and the SkyWalking Node.js agent's generated classes and
// grpc-js stubs (skywalking-backend-js) -- and sends it. What the peers must make of it is written
// out by hand in expect.js, and check.js compares. None of this shares code with the peers.
//
//   client.js otlp-http URL SIGNAL protobuf|json [--gzip] [--header K:V] [--timeout-ms N]
//   client.js otlp-grpc HOST:PORT SIGNAL [--gzip] [--metadata K:V] [--deadline-ms N] [--junk]
//   client.js otlp-payload SIGNAL FILE            the protobuf request, for Kafka
//   client.js sw-grpc HOST:PORT METHOD [--gzip] [--metadata K:V] [--deadline-ms N]
//   client.js sw-payload NAME FILE                segment0|properties|ping|snapshot0, for Kafka
// SIGNAL is traces, metrics or logs. The senders print one JSON line saying what came back.

const fs = require('fs');
const http = require('http');
const path = require('path');
const zlib = require('zlib');
const grpc = require('@grpc/grpc-js');
const transformer = require('@opentelemetry/otlp-transformer');
const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const {DataPointType, AggregationTemporality} = require('@opentelemetry/sdk-metrics');
const {ValueType} = require('@opentelemetry/api');

const SW = path.join(path.dirname(require.resolve('skywalking-backend-js/package.json')), 'lib', 'proto');
const swCommon = require(path.join(SW, 'common/Common_pb.js'));
const swTracing = require(path.join(SW, 'language-agent/Tracing_pb.js'));
const swManagement = require(path.join(SW, 'management/Management_pb.js'));
const swProfile = require(path.join(SW, 'profile/Profile_pb.js'));
const swClients = {
	tracing: require(path.join(SW, 'language-agent/Tracing_grpc_pb.js')).TraceSegmentReportServiceClient,
	management: require(path.join(SW, 'management/Management_grpc_pb.js')).ManagementServiceClient,
	profile: require(path.join(SW, 'profile/Profile_grpc_pb.js')).ProfileTaskClient,
};

// ---- OTLP fixtures: SDK-shaped records in, and the OTLP/JSON the peer must make of them ----------

const {TRACE, ROOT, CHILD, LINK_TRACE, LINK_SPAN} = require('./expect');
const T0 = [1700000000, 123456789]; // 1700000000123456789 ns
const T1 = [1700000000, 124456789];
const T2 = [1700000000, 125456789];
const resource = {attributes: {'service.name': 'peer-test', 'process.pid': 42}};
const scope = {name: 'ringside-peer-test', version: '1.0'};

function span(name, kind, id, parent, start, end, extra) {
	return {name, kind, parentSpanId: parent, startTime: start, endTime: end,
		spanContext: () => ({traceId: TRACE, spanId: id, traceFlags: 1}),
		attributes: {}, links: [], events: [], status: {code: 0}, resource,
		instrumentationLibrary: scope, droppedAttributesCount: 0, droppedEventsCount: 0,
		droppedLinksCount: 0, duration: [0, 1000000], ended: true, ...extra};
}
const spans = [
	span('GET /items/{id}', 1 /* api SERVER */, ROOT, undefined, T0, T2, {
		attributes: {'http.request.method': 'GET', 'http.response.status_code': 200, ratio: 0.5,
			cached: true, tags: ['a', 'b']},
		events: [{name: 'first byte', time: T1, attributes: {n: 1}}],
	}),
	span('GET', 2 /* api CLIENT */, CHILD, ROOT, T1, T2, {
		status: {code: 2, message: 'boom'},
		links: [{context: {traceId: LINK_TRACE, spanId: LINK_SPAN}, attributes: {}}],
	}),
];

const metrics = [{resource, scopeMetrics: [{scope, metrics: [
	{descriptor: {name: 'requests', description: 'served', unit: '1', type: 'COUNTER',
		valueType: ValueType.INT}, aggregationTemporality: AggregationTemporality.CUMULATIVE,
	dataPointType: DataPointType.SUM, isMonotonic: true,
	dataPoints: [{startTime: T0, endTime: T2, attributes: {route: '/items'}, value: 7}]},
	{descriptor: {name: 'load', description: '', unit: '', type: 'OBSERVABLE_GAUGE',
		valueType: ValueType.DOUBLE}, aggregationTemporality: AggregationTemporality.CUMULATIVE,
	dataPointType: DataPointType.GAUGE, dataPoints: [{startTime: T0, endTime: T1, attributes: {},
		value: 0.25}]},
]}]}];

const logs = [{hrTime: T1, hrTimeObserved: T2, severityNumber: 13, severityText: 'WARN',
	body: 'disk almost full', attributes: {disk: '/dev/sda'}, droppedAttributesCount: 0,
	spanContext: {traceId: TRACE, spanId: CHILD, traceFlags: 1}, resource,
	instrumentationScope: scope}];

const SIGNALS = {
	traces: {records: spans, pb: transformer.ProtobufTraceSerializer,
		json: transformer.JsonTraceSerializer, path: '/v1/traces',
		grpc: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
		Res: root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse},
	metrics: {records: metrics, pb: transformer.ProtobufMetricsSerializer,
		json: transformer.JsonMetricsSerializer, path: '/v1/metrics',
		grpc: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
		Res: root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse},
	logs: {records: logs, pb: transformer.ProtobufLogsSerializer,
		json: transformer.JsonLogsSerializer, path: '/v1/logs',
		grpc: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
		Res: root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse},
};

// ---- SkyWalking fixtures, built with the agent's generated classes ----------------------------------

function kv(Cls, k, v) {
	const p = new Cls();
	p.setKey(k);
	p.setValue(v);
	return p;
}

function segment(i) {
	const s = new swTracing.SegmentObject();
	s.setTraceid('trace-1');
	s.setTracesegmentid(`seg-${i}`);
	s.setService('peer-test');
	s.setServiceinstance('inst-1');
	const entry = new swTracing.SpanObject();
	entry.setSpanid(0);
	entry.setParentspanid(-1);
	entry.setStarttime(1700000000123);
	entry.setEndtime(1700000000125);
	entry.setOperationname('/items/{id}');
	entry.setSpantype(swTracing.SpanType.ENTRY);
	entry.setSpanlayer(swTracing.SpanLayer.HTTP);
	entry.setComponentid(49);
	entry.addTags(kv(swCommon.KeyStringValuePair, 'http.method', 'GET'));
	const ref = new swTracing.SegmentReference();
	ref.setReftype(swTracing.RefType.CROSSPROCESS);
	ref.setTraceid('trace-1');
	ref.setParenttracesegmentid('seg-up');
	ref.setParentspanid(3);
	ref.setParentservice('up');
	ref.setParentserviceinstance('up-1');
	ref.setParentendpoint('/x');
	ref.setNetworkaddressusedatpeer('127.0.0.1:8080');
	entry.addRefs(ref);
	const exit = new swTracing.SpanObject();
	exit.setSpanid(1);
	exit.setParentspanid(0);
	exit.setStarttime(1700000000124);
	exit.setEndtime(1700000000125);
	exit.setOperationname('GET /db');
	exit.setPeer('127.0.0.1:5432');
	exit.setSpantype(swTracing.SpanType.EXIT);
	exit.setSpanlayer(swTracing.SpanLayer.HTTP);
	exit.setComponentid(2);
	exit.setIserror(true);
	exit.addTags(kv(swCommon.KeyStringValuePair, 'http.status_code', '500'));
	s.addSpans(entry);
	s.addSpans(exit);
	return s;
}

function properties() {
	const p = new swManagement.InstanceProperties();
	p.setService('peer-test');
	p.setServiceinstance('inst-1');
	p.addProperties(kv(swCommon.KeyStringValuePair, 'language', 'c'));
	p.addProperties(kv(swCommon.KeyStringValuePair, 'ipv4', '127.0.0.1'));
	return p;
}

function ping() {
	const p = new swManagement.InstancePingPkg();
	p.setService('peer-test');
	p.setServiceinstance('inst-1');
	return p;
}

function snapshot(i) {
	const s = new swProfile.ThreadSnapshot();
	s.setTaskid('task-1');
	s.setTracesegmentid('seg-0');
	s.setTime(1700000000200 + i);
	s.setSequence(i);
	const st = new swProfile.ThreadStack();
	st.addCodesignatures('main');
	st.addCodesignatures(`handler_${i}`);
	s.setStack(st);
	return s;
}

function query() {
	const q = new swProfile.ProfileTaskCommandQuery();
	q.setService('peer-test');
	q.setServiceinstance('inst-1');
	q.setLastcommandtime(0);
	return q;
}

function finish() {
	const f = new swProfile.ProfileTaskFinishReport();
	f.setService('peer-test');
	f.setServiceinstance('inst-1');
	f.setTaskid('task-1');
	return f;
}

// ---- senders ---------------------------------------------------------------------------------------

function opts(args) {
	const o = {gzip: false, headers: {}, metadata: [], timeoutMs: 5000, deadlineMs: 5000};
	for (let i = 0; i < args.length; i++) {
		const a = args[i];
		if (a === '--gzip')
			o.gzip = true;
		else if (a === '--header')
			o.headers[args[++i].split(':')[0]] = args[i].split(':').slice(1).join(':');
		else if (a === '--metadata')
			o.metadata.push(args[++i].split(':'));
		else if (a === '--timeout-ms')
			o.timeoutMs = +args[++i];
		else if (a === '--deadline-ms')
			o.deadlineMs = +args[++i];
		else if (a === '--junk')
			o[a] = true;
		else
			throw new Error(`unknown argument ${a}`);
	}
	return o;
}

function print(o) {
	process.stdout.write(`${JSON.stringify(o)}\n`);
}

function otlpHttp(url, signal, format, rest) {
	const sig = SIGNALS[signal];
	const o = opts(rest);
	let body = Buffer.from((format === 'json' ? sig.json : sig.pb).serializeRequest(sig.records));
	const type = format === 'json' ? 'application/json' : 'application/x-protobuf';
	const headers = {'content-type': type, ...o.headers};
	if (o.gzip) {
		body = zlib.gzipSync(body);
		headers['content-encoding'] = 'gzip';
	}
	const req = http.request(`${url}${sig.path}`, {method: 'POST', headers, agent: false});
	req.setTimeout(o.timeoutMs, () => {
		print({timeout: true});
		process.exit(0);
	});
	req.on('response', (res) => {
		const parts = [];
		res.on('data', (c) => parts.push(c));
		res.on('end', () => {
			const b = Buffer.concat(parts);
			const r = {status: res.statusCode, contentType: res.headers['content-type'],
				retryAfter: res.headers['retry-after'], size: b.length};
			try {
				if (res.statusCode === 200 && b.length < 1024 * 1024) {
					r.response = format === 'json' ? JSON.parse(b.toString())
						: sig.Res.toObject(sig.Res.decode(b), {longs: String});
				}
			} catch (e) {
				r.decodeError = e.message;
			}
			print(r);
		});
	});
	req.on('error', (e) => print({error: e.message}));
	req.end(body);
}

// grpc-js compresses every message with gzip (its compression algorithm 2) when asked.
function channelOptions(o) {
	return o.gzip ? {'grpc.default_compression_algorithm': 2} : {};
}

function metadata(o) {
	const md = new grpc.Metadata();
	for (const [k, v] of o.metadata)
		md.add(k, v);
	return md;
}

function grpcDone(err, value, toPlain) {
	if (err)
		print({code: err.code, details: err.details});
	else
		print({code: 0, response: toPlain(value)});
}

function otlpGrpc(target, signal, rest) {
	const sig = SIGNALS[signal];
	const o = opts(rest);
	const c = new grpc.Client(target, grpc.credentials.createInsecure(), channelOptions(o));
	// --junk: bytes that are no protobuf message (a length running past the end)
	const body = o['--junk'] ? Buffer.from('0a07ff', 'hex') : Buffer.from(sig.pb.serializeRequest(sig.records));
	c.makeUnaryRequest(sig.grpc, (b) => b, (b) => sig.Res.decode(b), body, metadata(o),
		{deadline: Date.now() + o.deadlineMs}, (err, value) => {
			grpcDone(err, value, (v) => sig.Res.toObject(v, {longs: String}));
			c.close();
		});
}

// Commands as the agent sees them, with each command's arguments in order.
function commandsPlain(c) {
	return {commands: c.getCommandsList().map((x) => ({command: x.getCommand(),
		args: x.getArgsList().map((a) => [a.getKey(), a.getValue()])}))};
}

function swGrpc(target, method, rest) {
	const o = opts(rest);
	const options = channelOptions(o);
	const creds = grpc.credentials.createInsecure();
	const call = {deadline: Date.now() + o.deadlineMs};
	const md = metadata(o);
	const done = (c) => (err, value) => {
		grpcDone(err, value, commandsPlain);
		c.close();
	};
	let c;
	switch (method) {
	case 'collect': {
		c = new swClients.tracing(target, creds, options);
		const s = c.collect(md, call, done(c));
		s.write(segment(0));
		s.write(segment(1));
		s.end();
		break;
	}
	case 'reportInstanceProperties':
		c = new swClients.management(target, creds, options);
		c.reportInstanceProperties(properties(), md, call, done(c));
		break;
	case 'keepAlive':
		c = new swClients.management(target, creds, options);
		c.keepAlive(ping(), md, call, done(c));
		break;
	case 'getProfileTaskCommands':
		c = new swClients.profile(target, creds, options);
		c.getProfileTaskCommands(query(), md, call, done(c));
		break;
	case 'collectSnapshot': {
		c = new swClients.profile(target, creds, options);
		const s = c.collectSnapshot(md, call, done(c));
		s.write(snapshot(0));
		s.write(snapshot(1));
		s.end();
		break;
	}
	case 'reportTaskFinish':
		c = new swClients.profile(target, creds, options);
		c.reportTaskFinish(finish(), md, call, done(c));
		break;
	default:
		throw new Error(`unknown method ${method}`);
	}
}

function otlpPayload(signal, file) {
	const sig = SIGNALS[signal];
	fs.writeFileSync(file, Buffer.from(sig.pb.serializeRequest(sig.records)));
}

function swPayload(name, file) {
	const m = {segment0: () => segment(0), properties, ping, snapshot0: () => snapshot(0)}[name];
	if (!m)
		throw new Error(`unknown payload ${name}`);
	fs.writeFileSync(file, Buffer.from(m().serializeBinary()));
}

const [cmd, ...args] = process.argv.slice(2);
switch (cmd) {
case 'otlp-http': otlpHttp(args[0], args[1], args[2], args.slice(3)); break;
case 'otlp-grpc': otlpGrpc(args[0], args[1], args.slice(2)); break;
case 'otlp-payload': otlpPayload(args[0], args[1]); break;
case 'sw-grpc': swGrpc(args[0], args[1], args.slice(2)); break;
case 'sw-payload': swPayload(args[0], args[1]); break;
default:
	process.stderr.write('usage: see the comment at the top of client.js\n');
	process.exit(2);
}
