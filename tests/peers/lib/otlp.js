'use strict';
// OTLP as the OpenTelemetry JS SDK's own generated code reads it: the protobufjs static module
// shipped in @opentelemetry/otlp-transformer (build/src/generated/root.js). Nothing here knows a
// field number; JSON is checked by converting it with that module and comparing what came back.

const root = require('@opentelemetry/otlp-transformer/build/src/generated/root.js');
const {BadRequest} = require('./common');

const C = root.opentelemetry.proto.collector;

// The three signals: HTTP path, gRPC service, request and response types, the partial_success
// that --partial-success answers with, and the OpenTelemetry Collector's default Kafka topic.
const SIGNALS = {
	traces: {path: '/v1/traces', service: 'opentelemetry.proto.collector.trace.v1.TraceService',
		Req: C.trace.v1.ExportTraceServiceRequest, Res: C.trace.v1.ExportTraceServiceResponse,
		partial: {rejectedSpans: 1, errorMessage: 'test'}, topic: 'otlp_spans'},
	metrics: {path: '/v1/metrics',
		service: 'opentelemetry.proto.collector.metrics.v1.MetricsService',
		Req: C.metrics.v1.ExportMetricsServiceRequest, Res: C.metrics.v1.ExportMetricsServiceResponse,
		partial: {rejectedDataPoints: 1, errorMessage: 'test'}, topic: 'otlp_metrics'},
	logs: {path: '/v1/logs', service: 'opentelemetry.proto.collector.logs.v1.LogsService',
		Req: C.logs.v1.ExportLogsServiceRequest, Res: C.logs.v1.ExportLogsServiceResponse,
		partial: {rejectedLogRecords: 1, errorMessage: 'test'}, topic: 'otlp_logs'},
};

// Byte fields that OTLP/JSON writes as hex, wherever they appear (spans, links, log records,
// exemplars), with their length when not empty.
const ID_BYTES = {traceId: 16, spanId: 8, parentSpanId: 8};

function bad(msg) {
	return new BadRequest(400, msg);
}

function isObject(v) {
	return v !== null && typeof v === 'object' && !Array.isArray(v);
}

// proto3 JSON leaves out a field equal to its default, whether or not the sender wrote it on the
// wire, and keeps a set oneof member or optional field even at its default. protobufjs's toObject
// only tells set from unset, so the defaults are taken out here: q is the same message with
// oneofs named (a key q has and p lacks names the member to keep) and int64 as numbers (an int64
// zero is "0" in p and 0 in q, a string "0" is "0" in both).
function dropDefaults(p, q) {
	if (Array.isArray(p)) {
		p.forEach((e, i) => dropDefaults(e, q[i]));
		return;
	}
	if (!isObject(p))
		return;
	const keep = new Set();
	for (const k of Object.keys(q))
		if (!(k in p) && typeof q[k] === 'string')
			keep.add(q[k]);
	for (const k of Object.keys(p)) {
		const v = p[k];
		if (typeof v === 'object' && v !== null)
			dropDefaults(v, q[k]);
		else if (!keep.has(k) && (v === '' || v === 0 || v === false || (v === '0' && q[k] === 0)))
			delete p[k];
	}
}

// The message as plain JSON: protobufjs toObject (int64 as strings, enums as numbers, bytes
// base64), defaults left out as above, and the ids as lowercase hex. Returns {msg} or, when an
// id has the wrong length (the OpenTelemetry Collector refuses those too), {error}.
function toPlain(Type, message) {
	const base = {enums: Number, bytes: String, defaults: false, json: true};
	const o = Type.toObject(message, {...base, longs: String});
	dropDefaults(o, Type.toObject(message, {...base, longs: Number, oneofs: true}));
	let error;
	(function walk(v, path) {
		if (Array.isArray(v)) {
			v.forEach((e, i) => walk(e, `${path}[${i}]`));
		} else if (isObject(v)) {
			for (const k of Object.keys(v)) {
				const p = path ? `${path}.${k}` : k;
				if (ID_BYTES[k] && typeof v[k] === 'string') {
					const b = Buffer.from(v[k], 'base64');
					if (b.length !== ID_BYTES[k])
						error = error || `${p}: ${b.length} bytes, expected ${ID_BYTES[k]}`;
					v[k] = b.toString('hex');
				} else {
					walk(v[k], p);
				}
			}
		}
	})(o, '');
	return error ? {error} : {msg: o};
}

function decodeBinary(Type, body) {
	try {
		return Type.decode(body);
	} catch (e) {
		throw bad(`protobuf does not decode as ${Type.name}: ${e.message}`);
	}
}

// OTLP/JSON ids: hex (either case) of the exact length, or empty; anything else is refused.
function idsToBase64(v, path) {
	if (Array.isArray(v))
		return v.map((e, i) => idsToBase64(e, `${path}[${i}]`));
	if (!isObject(v))
		return v;
	const o = {};
	for (const k of Object.keys(v)) {
		const p = path ? `${path}.${k}` : k;
		if (ID_BYTES[k] && typeof v[k] === 'string') {
			const want = ID_BYTES[k] * 2;
			if (v[k] !== '' && !(v[k].length === want && /^[0-9a-fA-F]+$/.test(v[k])))
				throw bad(`${p}: ${JSON.stringify(v[k])} is not ${want} hex digits`);
			o[k] = Buffer.from(v[k], 'hex').toString('base64');
		} else {
			o[k] = idsToBase64(v[k], p);
		}
	}
	return o;
}

// Compares what was sent (x) with what the generated code made of it. A holds the message with
// every field (int64 as strings, bytes base64, enums as numbers), B the same with int64 as
// numbers, bytes as arrays and enums as names: the pair tells each field's kind without a schema.
function sameValue(x, a, b, p, ignored) {
	if (isObject(a)) {
		if (!isObject(x))
			throw bad(`${p}: object expected`);
		compareObject(x, a, b, p, ignored);
		return;
	}
	if (a === null)
		throw bad(`${p}: not converted`);
	let ok;
	if (typeof a === 'string' && Array.isArray(b)) { // bytes
		ok = typeof x === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(x) &&
			Buffer.from(x, 'base64').equals(Buffer.from(a, 'base64'));
	} else if (typeof a === 'string' && typeof b === 'number') { // 64-bit integer
		ok = ((typeof x === 'string' && /^-?\d+$/.test(x)) || Number.isInteger(x)) &&
			BigInt(x) === BigInt(a);
	} else if (typeof a === 'string') {
		ok = x === a;
	} else if (typeof a === 'number' && typeof b === 'string') { // enum: OTLP/JSON wants numbers
		if (typeof x !== 'number')
			throw bad(`${p}: ${JSON.stringify(x)}: OTLP/JSON enums are integers`);
		ok = x === a;
	} else if (typeof a === 'number') {
		const n = typeof x === 'string' && x.trim() !== '' ? Number(x) : x;
		ok = typeof n === 'number' && (n === a || (Number.isNaN(n) && Number.isNaN(a)));
	} else {
		ok = x === a;
	}
	if (!ok)
		throw bad(`${p}: ${JSON.stringify(x)} does not convert (got ${JSON.stringify(a)})`);
}

function compareObject(x, a, b, path, ignored) {
	for (const k of Object.keys(x)) {
		const p = path ? `${path}.${k}` : k;
		if (x[k] === null)
			continue; // proto3 JSON: null is the default
		if (!(k in a)) {
			const camel = k.replace(/_([a-z0-9])/g, (m, c) => c.toUpperCase());
			if (camel !== k)
				throw bad(`${p}: OTLP/JSON keys are lowerCamelCase (${camel})`);
			ignored.push(p); // receivers ignore unknown keys (newer fields than this module)
			continue;
		}
		if (Array.isArray(a[k])) {
			if (!Array.isArray(x[k]) || x[k].length !== a[k].length)
				throw bad(`${p}: array expected`);
			x[k].forEach((e, i) => sameValue(e, a[k][i], b[k][i], `${p}[${i}]`, ignored));
		} else {
			sameValue(x[k], a[k], b[k], p, ignored);
		}
	}
}

// OTLP/JSON text to a message of Type. Throws BadRequest when it is not JSON, when an id is not
// hex of the right length, or when a value does not convert to its field (a string enum, a
// number in a string field, a malformed int64); keys unknown to this module are ignored, as
// receivers must, and listed in `ignored`.
function fromJson(Type, text) {
	let obj;
	try {
		obj = JSON.parse(text);
	} catch (e) {
		throw bad(`not JSON: ${e.message}`);
	}
	if (!isObject(obj))
		throw bad('a JSON object expected');
	const pre = idsToBase64(obj, '');
	let message;
	try {
		message = Type.fromObject(pre);
	} catch (e) {
		throw bad(`does not convert to ${Type.name}: ${e.message}`);
	}
	const err = Type.verify(message);
	if (err)
		throw bad(`${Type.name}: ${err}`);
	const A = Type.toObject(message, {defaults: true, arrays: true, longs: String, bytes: String,
		enums: Number});
	const B = Type.toObject(message, {defaults: true, arrays: true, longs: Number, bytes: Array,
		enums: String});
	const ignored = [];
	compareObject(pre, A, B, '', ignored);
	return {message, ignored};
}

module.exports = {SIGNALS, decodeBinary, fromJson, root, toPlain};
