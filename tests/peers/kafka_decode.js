#!/usr/bin/env node
'use strict';
// Reads Kafka records back with kcat and decodes each value with other projects' generated code:
// OTLP with @opentelemetry/otlp-transformer's root.js, SkyWalking with skywalking-backend-js's
// protoc output. Writes one JSON line per record, the peers' contract with transport "kafka".
//
//   kafka_decode.js --brokers HOST:PORT,... --topic NAME [--topic NAME]... [--out FILE]
//       runs `kcat -C -e -o beginning` on each topic in turn and decodes everything in it
//   kcat -C -b BOOT -t TOPIC -e -o beginning -q -f '%t %p %o %K %S\n%k%s' | kafka_decode.js
//       decodes that framing from standard input
// The framing: an ASCII line "topic partition offset keylen valuelen" (-1 for a null key or value),
// then exactly keylen key bytes and valuelen value bytes. Kafka topic names cannot hold a space or
// a newline, and the lengths come before the bytes, so any key or value passes intact.
// Exits 1 when a record did not decode (its line carries "error" and the value in base64).

const {spawn} = require('child_process');
const common = require('./lib/common');
const otlp = require('./lib/otlp');
const sw = require('./lib/skywalking');

const FORMAT = '%t %p %o %K %S\\n%k%s';
const USAGE = `usage: kafka_decode.js [--brokers LIST --topic NAME...] [--out FILE] [--timeout-ms N]
   or: kcat -C -b LIST -t TOPIC -e -o beginning -q -f '${FORMAT}' | kafka_decode.js [--out FILE]
`;

// Topic (the OpenTelemetry Collector's and the SkyWalking OAP's defaults; SkyWalking's may carry
// the OAP's "<namespace>-" prefix) -> peer and decoder for a record's value, given its key.
function decoderFor(topic) {
	for (const sig of Object.values(otlp.SIGNALS)) {
		if (topic === sig.topic)
			return {peer: 'otlp', decode: (key, v) => otlp.toPlain(sig.Req, otlp.decodeBinary(sig.Req, v))};
	}
	const swDecode = (Cls) => (key, v) => ({msg: sw.toPlain(sw.decodeBinary(Cls, v))});
	const SW_TOPICS = {
		'skywalking-segments': swDecode(sw.pb.tracing.SegmentObject),
		// the OAP tells the two apart by the key alone
		'skywalking-managements': (key, v) => swDecode(key !== null && key.startsWith('register-')
			? sw.pb.management.InstanceProperties : sw.pb.management.InstancePingPkg)(key, v),
		'skywalking-profilings': swDecode(sw.pb.profile.ThreadSnapshot),
		'skywalking-meters': swDecode(sw.pb.meter.MeterDataCollection),
		'skywalking-logs': swDecode(sw.pb.logging.LogData),
	};
	for (const [name, decode] of Object.entries(SW_TOPICS))
		if (topic === name || topic.endsWith(`-${name}`))
			return {peer: 'skywalking', decode};
	return null;
}

function parseArgs(argv) {
	const o = {brokers: null, topics: [], out: null, timeoutMs: 20000};
	for (let i = 0; i < argv.length; i++) {
		const v = () => (i + 1 < argv.length ? argv[++i] : common.usageExit(USAGE, `${argv[i]} needs a value`));
		switch (argv[i]) {
		case '--brokers': o.brokers = v(); break;
		case '--topic': o.topics.push(v()); break;
		case '--out': o.out = v(); break;
		case '--timeout-ms': o.timeoutMs = +v(); break;
		default: common.usageExit(USAGE, `unknown argument ${argv[i]}`);
		}
	}
	if ((o.brokers === null) !== (o.topics.length === 0))
		common.usageExit(USAGE, '--brokers and --topic go together');
	return o;
}

// Splits kcat's framed output into records as bytes arrive.
function framer(onRecord) {
	let buf = Buffer.alloc(0);
	return {
		push(chunk) {
			buf = Buffer.concat([buf, chunk]);
			for (;;) {
				const nl = buf.indexOf(0x0a);
				if (nl < 0)
					return;
				const m = /^(\S+) (\d+) (\d+) (-1|\d+) (-1|\d+)$/.exec(buf.subarray(0, nl).toString('latin1'));
				if (!m)
					throw new Error(`kcat framing: bad header ${JSON.stringify(buf.subarray(0, nl).toString())}`);
				const klen = Math.max(+m[4], 0);
				const vlen = Math.max(+m[5], 0);
				if (buf.length < nl + 1 + klen + vlen)
					return;
				const k = buf.subarray(nl + 1, nl + 1 + klen);
				const v = buf.subarray(nl + 1 + klen, nl + 1 + klen + vlen);
				onRecord({topic: m[1], partition: +m[2], offset: +m[3],
					key: +m[4] < 0 ? null : k.toString('utf8'), value: +m[5] < 0 ? null : Buffer.from(v)});
				buf = buf.subarray(nl + 1 + klen + vlen);
			}
		},
		end() {
			if (buf.length)
				throw new Error(`kcat framing: ${buf.length} bytes left over`);
		},
	};
}

const o = parseArgs(process.argv.slice(2));
const out = common.openOut(o.out);
let failed = false;

function onRecord(r) {
	const d = decoderFor(r.topic);
	const fields = {key: r.key, partition: r.partition, offset: r.offset};
	let p;
	if (!d)
		p = {error: `no decoder for topic ${r.topic}`};
	else if (r.value === null)
		p = {error: 'null value'};
	else {
		try {
			p = d.decode(r.key, r.value);
		} catch (e) {
			p = {error: e.message};
		}
	}
	if (p.error) {
		failed = true;
		fields.error = p.error;
		fields.msg = {raw: r.value === null ? null : r.value.toString('base64')};
	} else {
		fields.msg = p.msg;
	}
	out.write(common.record(d ? d.peer : 'unknown', 'kafka', r.topic, {}, 'identity', fields));
}

function consume(stream) {
	return new Promise((resolve, reject) => {
		const f = framer(onRecord);
		stream.on('data', (c) => {
			try {
				f.push(c);
			} catch (e) {
				reject(e);
			}
		});
		stream.on('end', () => {
			try {
				f.end();
				resolve();
			} catch (e) {
				reject(e);
			}
		});
		stream.on('error', reject);
	});
}

function kcat(topic) {
	const args = ['-C', '-b', o.brokers, '-t', topic, '-e', '-o', 'beginning', '-q', '-f', FORMAT,
		'-X', 'fetch.wait.max.ms=10'];
	const child = spawn('kcat', args, {stdio: ['ignore', 'pipe', 'inherit']});
	const timer = setTimeout(() => child.kill('SIGTERM'), o.timeoutMs);
	const exited = new Promise((resolve, reject) => {
		child.on('error', reject);
		child.on('close', (code, sig) => {
			clearTimeout(timer);
			if (code === 0)
				resolve();
			else
				reject(new Error(`kcat on ${topic} ${sig ? `killed (${sig}) after ${o.timeoutMs} ms` : `exited ${code}`}`));
		});
	});
	return Promise.all([consume(child.stdout), exited]);
}

(async () => {
	if (o.brokers === null)
		await consume(process.stdin);
	else
		for (const t of o.topics)
			await kcat(t);
	process.exit(failed ? 1 : 0);
})().catch((e) => {
	process.stderr.write(`kafka_decode: ${e.message}\n`);
	process.exit(1);
});
