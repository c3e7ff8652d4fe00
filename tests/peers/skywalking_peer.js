#!/usr/bin/env node
'use strict';
// A SkyWalking OAP stand-in for the exporters' tests. It decodes with the generated protocol code
// shipped in npm skywalking-backend-js (the SkyWalking Node.js agent), never with ringside's
// .proto files, serves the v3 gRPC services with grpc-js and the OAP's JSON receivers with node's
// http, and writes one JSON line per received message. See README.md in this folder.

const common = require('./lib/common');
const sw = require('./lib/skywalking');

const USAGE = `usage: skywalking_peer.js [flags]
${common.USAGE_COMMON}
  --profile-task JSON   the first getProfileTaskCommands call is answered with a ProfileTaskQuery
                        command carrying these arguments (an object of strings; see README.md)
`;

const o = common.parseArgs(process.argv.slice(2), USAGE, {'--profile-task': 'value'});
const out = common.openOut(o.out);
const policy = common.makePolicy(o, null);

// ---- the profile task, answered once ---------------------------------------------------------------

// Argument order as the OAP's ProfileTaskCommand serializes it, SerialNumber first.
const TASK_ARGS = ['SerialNumber', 'TaskId', 'EndpointName', 'Duration', 'MinDurationThreshold',
	'DumpPeriod', 'MaxSamplingCount', 'StartTime', 'CreateTime'];
let profileTask = null;
if (o.extra['--profile-task'] !== undefined) {
	let given;
	try {
		given = JSON.parse(o.extra['--profile-task']);
	} catch (e) {
		common.usageExit(USAGE, `--profile-task: not JSON: ${e.message}`);
	}
	if (given === null || typeof given !== 'object' || Array.isArray(given))
		common.usageExit(USAGE, '--profile-task: a JSON object expected');
	const now = String(Date.now());
	const args = {SerialNumber: `peer-${process.pid}-1`, TaskId: 'peer-task-1', EndpointName: '/',
		Duration: '1', MinDurationThreshold: '0', DumpPeriod: '10', MaxSamplingCount: '5',
		StartTime: now, CreateTime: now, ...given};
	const order = [...TASK_ARGS, ...Object.keys(given).filter((k) => !TASK_ARGS.includes(k))];
	profileTask = {command: 'ProfileTaskQuery', args: order.map((k) => [k, String(args[k])])};
}

// ---- answers ---------------------------------------------------------------------------------------

// --huge: Commands of exactly 64 MiB, one command whose name is that long.
const huge = {};
function hugeBody(json) {
	if (!huge[json]) {
		huge[json] = common.sized(common.HUGE_SIZE, (n) => {
			const c = sw.commands([{command: 'x'.repeat(n), args: []}]);
			return json ? Buffer.from(JSON.stringify(sw.toPlain(c))) : Buffer.from(c.serializeBinary());
		});
	}
	return huge[json];
}

function answer(kind, method) {
	if (kind === 'huge')
		return hugeBody(false);
	if (method === 'getProfileTaskCommands' && profileTask) {
		const c = sw.commands([profileTask]);
		profileTask = null;
		return c;
	}
	return sw.commands([]);
}

// ---- gRPC ------------------------------------------------------------------------------------------

const grpcSrv = common.grpcServer(o);
for (const service of Object.values(sw.services)) {
	const methods = {};
	for (const [name, def] of Object.entries(service)) {
		methods[name] = {
			def,
			toPlain: (m) => ({msg: sw.toPlain(m)}),
			answer: (kind) => answer(kind, name),
		};
	}
	const {def, impl} = common.grpcService('skywalking', methods, policy, out);
	grpcSrv.addService(def, impl);
}

// ---- HTTP: the OAP's JSON receivers ----------------------------------------------------------------

function jsonRoute(Cls, array) {
	return {
		transport: () => 'http-json',
		decode(type, body) {
			if (type !== 'application/json')
				throw new common.BadRequest(415, `Content-Type ${type || '(none)'}: application/json`);
			const {messages, ignored} = sw.fromJson(Cls, body, array);
			return {transport: 'http-json', msgs: messages.map(sw.toPlain), ignored};
		},
		answer(type, kind) {
			const body = kind === 'huge' ? hugeBody(true) : JSON.stringify(sw.toPlain(sw.commands([])));
			return {type: 'application/json', body};
		},
	};
}

const routes = {
	'/v3/segments': jsonRoute(sw.pb.tracing.SegmentObject, true),
	'/v3/segment': jsonRoute(sw.pb.tracing.SegmentObject, false),
	'/v3/management/reportProperties': jsonRoute(sw.pb.management.InstanceProperties, false),
	'/v3/management/keepAlive': jsonRoute(sw.pb.management.InstancePingPkg, false),
	'/v3/logs': jsonRoute(sw.pb.logging.LogData, true),
};
const httpSrv = common.httpServer('skywalking', routes, policy, out);
common.listen(o, grpcSrv, httpSrv).catch((e) => {
	process.stderr.write(`skywalking_peer: ${e.message}\n`);
	process.exit(1);
});
