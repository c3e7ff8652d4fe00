'use strict';
// SkyWalking v3 as the SkyWalking Node.js agent's own generated code reads it: the protoc JS
// output (google-protobuf) shipped in npm skywalking-backend-js under lib/proto/. Binary
// messages are decoded by that code's deserializeBinary. For JSON both ways, each field's proto
// declaration is read from the comment protoc writes above its getter in the same generated file
// ("optional string traceSegmentId = 2;"): names, types and labels come from there, values go in
// and out through the generated setters and getters. Nothing here is written from ringside's
// .proto files.

const fs = require('fs');
const path = require('path');
const {BadRequest} = require('./common');

const PROTO = path.join(path.dirname(require.resolve('skywalking-backend-js/package.json')),
	'lib', 'proto');
const FILES = {
	common: 'common/Common_pb.js',
	tracing: 'language-agent/Tracing_pb.js',
	management: 'management/Management_pb.js',
	profile: 'profile/Profile_pb.js',
	meter: 'language-agent/Meter_pb.js',
	logging: 'logging/Logging_pb.js',
};
const pb = {};
for (const [k, f] of Object.entries(FILES))
	pb[k] = require(path.join(PROTO, f));
const services = {
	tracing: require(path.join(PROTO, 'language-agent/Tracing_grpc_pb.js'))
		.TraceSegmentReportServiceService,
	management: require(path.join(PROTO, 'management/Management_grpc_pb.js')).ManagementServiceService,
	profile: require(path.join(PROTO, 'profile/Profile_grpc_pb.js')).ProfileTaskService,
};

// ---- the declarations protoc left in the generated files -----------------------------------------

const SCALARS = new Set(['double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64',
	'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes']);
const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32 = new Set(['int32', 'sint32', 'sfixed32']);
const UINT32 = new Set(['uint32', 'fixed32']);

// Class name (proto.skywalking.v3.X) -> [{label, type, name, number, accessor}]
const declared = new Map();
const DECL = /\/\*\*\n \* (optional|repeated) ([\w.]+) (\w+) = (\d+);\n(?: \*.*\n)*? \*\/\n(proto\.[\w.]+)\.prototype\.get(\w+) = function/g;
for (const f of Object.values(FILES)) {
	const src = fs.readFileSync(path.join(PROTO, f), 'utf8');
	for (const m of src.matchAll(DECL)) {
		const [, label, type, name, number, cls, getter] = m;
		if (!declared.has(cls))
			declared.set(cls, []);
		const repeated = label === 'repeated';
		declared.get(cls).push({repeated, type, name, number: +number,
			accessor: repeated ? getter.replace(/List$/, '') : getter});
	}
}

// protoc's CommonJS output also exports every symbol on the global object (goog.exportSymbol).
function lookup(dotted) {
	return dotted.split('.').reduce((o, k) => (o ? o[k] : undefined), globalThis);
}
const nameOf = new Map();
for (const cls of declared.keys()) {
	if (typeof lookup(cls) !== 'function')
		throw new Error(`${cls} is declared in the generated code but not defined`);
	nameOf.set(lookup(cls), cls);
}

// The schema of a generated class, checked against the class itself: every field toObject lists
// must have been found, and every type must resolve to a scalar, an enum or a generated class.
const schemas = new Map();
function schemaOf(Cls) {
	if (schemas.has(Cls))
		return schemas.get(Cls);
	const clsName = nameOf.get(Cls);
	if (!clsName) { // a message without fields (none in use) has no declarations to find
		const s = {fields: [], byJson: new Map()};
		schemas.set(Cls, s);
		return s;
	}
	const pkg = clsName.split('.').slice(0, -1).join('.');
	const fields = (declared.get(clsName) || []).map((d) => {
		const f = {...d, json: d.name.replace(/_([a-z0-9])/g, (m, c) => c.toUpperCase())};
		if (!SCALARS.has(d.type)) {
			const t = lookup(`${pkg}.${d.type}`) || lookup(`proto.${d.type}`);
			if (typeof t === 'function')
				f.message = t;
			else if (t && typeof t === 'object')
				f.enumValues = t;
			else
				throw new Error(`${clsName}.${d.name}: type ${d.type} not found in the generated code`);
		}
		f.has = typeof Cls.prototype[`has${d.accessor}`] === 'function';
		return f;
	});
	const listed = Object.keys(Cls.toObject(false, new Cls())).length;
	if (listed !== fields.length)
		throw new Error(`${clsName}: ${fields.length} field declarations found, toObject has ${listed}`);
	const s = {fields, byJson: new Map()};
	for (const f of fields) {
		s.byJson.set(f.json, f);
		s.byJson.set(f.name, f); // proto3 JSON parsers accept the declared name too
	}
	schemas.set(Cls, s);
	return s;
}

// ---- messages to plain JSON ----------------------------------------------------------------------

function scalarToJson(f, v) {
	if (INT64.has(f.type))
		return String(v);
	if (f.type === 'bytes')
		return Buffer.from(v instanceof Uint8Array ? v : Buffer.from(v || '', 'base64'))
			.toString('base64');
	if ((f.type === 'double' || f.type === 'float') && !Number.isFinite(v))
		return String(v);
	return v;
}

function isDefault(f, v) {
	return v === 0 || v === '' || v === false || v === null || v === undefined ||
		(f.type === 'bytes' && v.length === 0);
}

// proto3 JSON of a generated message: lowerCamelCase names, int64 as strings, enums as numbers,
// bytes base64, fields equal to their default left out unless the field tracks presence.
function toPlain(message) {
	const Cls = message.constructor;
	const o = {};
	for (const f of schemaOf(Cls).fields) {
		if (f.repeated) {
			const list = message[`get${f.accessor}List`]();
			if (list.length)
				o[f.json] = list.map((v) => (f.message ? toPlain(v) : scalarToJson(f, v)));
			continue;
		}
		if (f.message) {
			if (message[`has${f.accessor}`]())
				o[f.json] = toPlain(message[`get${f.accessor}`]());
			continue;
		}
		const v = message[`get${f.accessor}`]();
		if (f.has ? message[`has${f.accessor}`]() : !isDefault(f, v))
			o[f.json] = scalarToJson(f, v);
	}
	return o;
}

// ---- JSON to messages ----------------------------------------------------------------------------

function bad(msg) {
	return new BadRequest(400, msg);
}

function isObject(v) {
	return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function integer(x, p) {
	if (typeof x === 'number' && Number.isInteger(x))
		return x;
	if (typeof x === 'string' && /^-?\d+$/.test(x))
		return Number(x);
	throw bad(`${p}: ${JSON.stringify(x)} is not an integer`);
}

function scalarFromJson(f, x, p) {
	if (f.enumValues) {
		if (typeof x === 'string') {
			// protoc's JS output upper-cases the value names (Entry -> ENTRY)
			const key = Object.keys(f.enumValues).find((k) => k === x.toUpperCase());
			if (key === undefined)
				throw bad(`${p}: ${JSON.stringify(x)} is not a ${f.type} value`);
			return f.enumValues[key];
		}
		const n = integer(x, p);
		if (!Object.values(f.enumValues).includes(n))
			throw bad(`${p}: ${n} is not a ${f.type} value`);
		return n;
	}
	switch (f.type) {
	case 'string':
		if (typeof x !== 'string')
			throw bad(`${p}: string expected, got ${JSON.stringify(x)}`);
		return x;
	case 'bool':
		if (typeof x !== 'boolean')
			throw bad(`${p}: true or false expected, got ${JSON.stringify(x)}`);
		return x;
	case 'bytes':
		if (typeof x !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(x))
			throw bad(`${p}: base64 expected`);
		return new Uint8Array(Buffer.from(x, 'base64'));
	case 'double':
	case 'float': {
		const n = typeof x === 'string' && x.trim() !== '' ? Number(x) : x;
		if (typeof n !== 'number' || (Number.isNaN(n) && x !== 'NaN'))
			throw bad(`${p}: number expected, got ${JSON.stringify(x)}`);
		return n;
	}
	}
	const n = integer(x, p);
	if (INT32.has(f.type) && (n < -(2 ** 31) || n >= 2 ** 31))
		throw bad(`${p}: ${n} out of int32 range`);
	if (UINT32.has(f.type) && (n < 0 || n >= 2 ** 32))
		throw bad(`${p}: ${n} out of uint32 range`);
	if (INT64.has(f.type) && !Number.isSafeInteger(n))
		throw bad(`${p}: ${x} beyond 2^53 (google-protobuf keeps int64 as a double)`);
	if (f.type.startsWith('u') || f.type === 'fixed64' || f.type === 'fixed32')
		if (n < 0)
			throw bad(`${p}: ${n} is negative`);
	return n;
}

// proto3 JSON to a generated message of Cls. Throws BadRequest on a value that does not fit its
// field; unknown keys are ignored, as the OAP's parser does, and listed in `ignored`.
function fromObject(Cls, obj, p, ignored) {
	if (!isObject(obj))
		throw bad(`${p || 'body'}: object expected`);
	const message = new Cls();
	const seen = new Set();
	for (const k of Object.keys(obj)) {
		const q = p ? `${p}.${k}` : k;
		const f = schemaOf(Cls).byJson.get(k);
		if (!f) {
			ignored.push(q);
			continue;
		}
		if (seen.has(f))
			throw bad(`${q}: field ${f.name} given twice`);
		seen.add(f);
		const x = obj[k];
		if (x === null)
			continue;
		const one = (v, vp) => (f.message ? fromObject(f.message, v, vp, ignored)
			: scalarFromJson(f, v, vp));
		if (f.repeated) {
			if (!Array.isArray(x))
				throw bad(`${q}: array expected`);
			x.forEach((v, i) => message[`add${f.accessor}`](one(v, `${q}[${i}]`)));
		} else {
			message[`set${f.accessor}`](one(x, q));
		}
	}
	return message;
}

function parseJson(body) {
	try {
		return JSON.parse(body.toString('utf8'));
	} catch (e) {
		throw bad(`not JSON: ${e.message}`);
	}
}

// The JSON text of one message (array: false) or of an array of them (array: true), checked by a
// round trip through the generated binary encoder and decoder. Returns {messages, ignored}.
function fromJson(Cls, body, array) {
	const obj = parseJson(body);
	if (array && !Array.isArray(obj))
		throw bad('a JSON array expected');
	const ignored = [];
	const list = array ? obj : [obj];
	const messages = list.map((o, i) => {
		const m = fromObject(Cls, o, array ? `[${i}]` : '', ignored);
		return Cls.deserializeBinary(m.serializeBinary());
	});
	return {messages, ignored};
}

function decodeBinary(Cls, body) {
	try {
		return Cls.deserializeBinary(new Uint8Array(body));
	} catch (e) {
		throw bad(`protobuf does not decode as ${nameOf.get(Cls)}: ${e.message}`);
	}
}

// Commands holding one Command with string arguments, in order.
function commands(list) {
	const cmds = new pb.common.Commands();
	for (const {command, args} of list) {
		const c = cmds.addCommands();
		c.setCommand(command);
		for (const [k, v] of args) {
			const a = c.addArgs();
			a.setKey(k);
			a.setValue(String(v));
		}
	}
	return cmds;
}

module.exports = {pb, services, toPlain, fromJson, decodeBinary, commands, schemaOf};
