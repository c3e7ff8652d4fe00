#!/usr/bin/env node
'use strict';
// An OTLP collector stand-in for the exporters' tests. It decodes with the OpenTelemetry JS SDK's
// generated code (@opentelemetry/otlp-transformer's root.js), never with ringside's .proto files,
// serves OTLP/gRPC with grpc-js and OTLP/HTTP (protobuf and JSON) with node's http, and writes
// one JSON line per received message. See README.md in this folder for the contract.

const common = require('./lib/common');
const otlp = require('./lib/otlp');

const USAGE = `usage: otlp_peer.js [flags]
${common.USAGE_COMMON}
  --partial-success     answer every export with partial_success (rejected 1, message "test")
`;

const o = common.parseArgs(process.argv.slice(2), USAGE, {'--partial-success': 'mode'});
const out = common.openOut(o.out);
const policy = common.makePolicy(o, o.extra['--partial-success'] ? 'partial' : null);

// The answer to an export: empty on success, partial_success when asked.
function response(sig, kind) {
	return kind === 'partial' ? sig.Res.fromObject({partialSuccess: sig.partial}) : sig.Res.create();
}

// --huge: a response of exactly 64 MiB, a partial_success whose message is that long.
const huge = {};
function hugeBody(sig, json) {
	const k = `${sig.path} ${json}`;
	if (!huge[k]) {
		huge[k] = common.sized(common.HUGE_SIZE, (n) => {
			const obj = {partialSuccess: {errorMessage: 'x'.repeat(n)}};
			return json ? Buffer.from(JSON.stringify(obj)) : Buffer.from(sig.Res.encode(obj).finish());
		});
	}
	return huge[k];
}

const routes = {};
const grpcMethods = {};
for (const sig of Object.values(otlp.SIGNALS)) {
	routes[sig.path] = {
		transport: (type) => ({'application/json': 'http-json',
			'application/x-protobuf': 'http-protobuf'}[type] || 'http'),
		decode(type, body) {
			let message;
			let ignored;
			if (type === 'application/x-protobuf') {
				message = otlp.decodeBinary(sig.Req, body);
			} else if (type === 'application/json') {
				({message, ignored} = otlp.fromJson(sig.Req, body.toString('utf8')));
			} else {
				throw new common.BadRequest(415,
					`Content-Type ${type || '(none)'}: application/x-protobuf or application/json`);
			}
			const p = otlp.toPlain(sig.Req, message);
			if (p.error)
				throw new common.BadRequest(400, p.error);
			return {transport: this.transport(type), msgs: [p.msg], ignored};
		},
		answer(type, kind) {
			const json = type === 'application/json';
			if (kind === 'huge')
				return {type: json ? type : 'application/x-protobuf', body: hugeBody(sig, json)};
			const res = response(sig, kind);
			if (json) {
				const obj = sig.Res.toObject(res, {longs: String, enums: Number, json: true});
				return {type, body: JSON.stringify(obj)};
			}
			return {type: 'application/x-protobuf', body: Buffer.from(sig.Res.encode(res).finish())};
		},
	};
	grpcMethods[sig.path] = {
		sig,
		def: {
			path: `/${sig.service}/Export`,
			requestStream: false,
			responseStream: false,
			requestSerialize: (m) => Buffer.from(sig.Req.encode(m).finish()),
			requestDeserialize: (b) => sig.Req.decode(b),
			responseSerialize: (m) => Buffer.from(sig.Res.encode(m).finish()),
			responseDeserialize: (b) => sig.Res.decode(b),
		},
		toPlain: (m) => otlp.toPlain(sig.Req, m),
		answer: (kind) => (kind === 'huge' ? hugeBody(sig, false) : response(sig, kind)),
	};
}

const grpcSrv = common.grpcServer(o);
for (const m of Object.values(grpcMethods)) {
	const {def, impl} = common.grpcService('otlp', {Export: m}, policy, out);
	grpcSrv.addService(def, impl);
}
const httpSrv = common.httpServer('otlp', routes, policy, out);
common.listen(o, grpcSrv, httpSrv).catch((e) => {
	process.stderr.write(`otlp_peer: ${e.message}\n`);
	process.exit(1);
});
