'use strict';
// What both peers share: command-line flags, the JSON-lines output, the hostile modes, an HTTP/1.1
// server that hands decoded bodies to a route table, and a grpc-js server whose calls can see the
// request's raw HTTP/2 headers and the per-message compressed flag (grpc-js strips both).
//
// This file must be required before @grpc/grpc-js: it wraps http2.createServer so that every
// server grpc-js creates reports its streams here first.

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const http2 = require('http2');
const https = require('https');
const zlib = require('zlib');

const MIB = 1024 * 1024;
const BODY_LIMIT = 64 * MIB; // OTLP's suggested server limit; a bigger request gets 413
const HUGE_SIZE = 64 * MIB; // --huge answers this many bytes

let tls = null; // --tls-cert/--tls-key: {cert, key} PEM buffers

// ---- flags ---------------------------------------------------------------------------------------

const USAGE_COMMON = `  --out FILE            append one JSON line per received message (default: stdout)
  --host ADDR           address to listen on (default 127.0.0.1)
  --grpc-port N         gRPC (h2c) port, 0 for a free one (default 0)
  --http-port N         HTTP/1.1 port, 0 for a free one (default 0)
  --tls-cert FILE --tls-key FILE
                        serve both over TLS with this PEM certificate chain and key (gRPC with
                        ALPN h2, HTTP/1.1 as https)
  --tls-client-ca FILE  with --tls-cert: require a client certificate this CA signed (mutual TLS)
hostile modes, one at a time:
  --fail N --status CODE [--retry-after S] [--grpc-code C]
                        the first N requests fail: HTTP CODE (with Retry-After: S), gRPC C (with
                        a google.rpc.RetryInfo of S in grpc-status-details-bin) (by
                        default mapped from CODE: 400 INVALID_ARGUMENT, 429 RESOURCE_EXHAUSTED,
                        503/502/504 UNAVAILABLE, ...); they are still logged, with "rejected":true
  --stall               read every request and never answer it
  --garbage             answer HTTP with random bytes, gRPC with a message that does not decode
  --huge                answer with a 64 MiB body (HTTP) or message (gRPC)`;

function usageExit(usage, msg) {
	if (msg)
		process.stderr.write(`${msg}\n`);
	process.stderr.write(usage);
	process.exit(2);
}

function parseInteger(flag, s, min, max, usage) {
	if (!/^-?\d+$/.test(s || '') || +s < min || +s > max)
		usageExit(usage, `${flag}: expected an integer in ${min}..${max}, got ${JSON.stringify(s)}`);
	return +s;
}

// Parses argv against the common flags plus `extra`: { '--flag': 'value' | 'mode' }, a 'mode'
// being one more hostile mode (a flag without a value).
function parseArgs(argv, usage, extra = {}) {
	const o = {out: null, host: '127.0.0.1', grpcPort: 0, httpPort: 0, fail: 0, status: null,
		retryAfter: null, grpcCode: null, stall: false, garbage: false, huge: false, extra: {}};
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		const val = () => {
			if (i + 1 >= argv.length)
				usageExit(usage, `${a} needs a value`);
			return argv[++i];
		};
		switch (a) {
		case '--out': o.out = val(); break;
		case '--host': o.host = val(); break;
		case '--grpc-port': o.grpcPort = parseInteger(a, val(), 0, 65535, usage); break;
		case '--http-port': o.httpPort = parseInteger(a, val(), 0, 65535, usage); break;
		case '--fail': o.fail = parseInteger(a, val(), 1, 1e9, usage); break;
		case '--status': o.status = parseInteger(a, val(), 100, 599, usage); break;
		case '--retry-after': o.retryAfter = parseInteger(a, val(), 0, 86400, usage); break;
		case '--grpc-code': o.grpcCode = parseInteger(a, val(), 1, 16, usage); break;
		case '--stall': o.stall = true; break;
		case '--garbage': o.garbage = true; break;
		case '--huge': o.huge = true; break;
		case '--tls-cert': o.tlsCert = val(); break;
		case '--tls-key': o.tlsKey = val(); break;
		case '--tls-client-ca': o.tlsClientCa = val(); break;
		case '-h': case '--help': usageExit(usage); break;
		default:
			if (extra[a] === 'mode')
				o.extra[a] = true;
			else if (extra[a] === 'value')
				o.extra[a] = val();
			else
				usageExit(usage, `unknown argument ${a}`);
		}
	}
	const modes = [o.fail > 0, o.stall, o.garbage, o.huge,
		...Object.keys(o.extra).map((k) => extra[k] === 'mode')].filter(Boolean).length;
	if (modes > 1)
		usageExit(usage, 'one hostile mode at a time');
	if (o.fail > 0 && o.status === null)
		usageExit(usage, '--fail needs --status CODE');
	if (!o.tlsCert !== !o.tlsKey)
		usageExit(usage, '--tls-cert and --tls-key go together');
	if (o.tlsClientCa && !o.tlsCert)
		usageExit(usage, '--tls-client-ca needs --tls-cert and --tls-key');
	if (o.tlsCert) {
		try {
			tls = {cert: fs.readFileSync(o.tlsCert), key: fs.readFileSync(o.tlsKey)};
			if (o.tlsClientCa) {
				tls.ca = fs.readFileSync(o.tlsClientCa);
				tls.requestCert = true;
				tls.rejectUnauthorized = true;
			}
		} catch (e) {
			usageExit(usage, `--tls-cert/--tls-key: ${e.message}`);
		}
	}
	if (o.fail === 0 && (o.status !== null || o.retryAfter !== null || o.grpcCode !== null))
		usageExit(usage, '--status, --retry-after and --grpc-code go with --fail N');
	return o;
}

// ---- output --------------------------------------------------------------------------------------

// One write(2) per line on an O_APPEND descriptor: a reader polling the file never sees half a
// line, and nothing waits in a buffer when the peer is killed. (Standard output, a pipe perhaps,
// may take a line in pieces; the loop finishes it.)
function openOut(path) {
	const fd = path === null || path === '-' ? 1 : fs.openSync(path, 'a');
	return {
		write(rec) {
			const b = Buffer.from(`${JSON.stringify(rec)}\n`);
			for (let off = 0; off < b.length;) {
				try {
					off += fs.writeSync(fd, b, off);
				} catch (e) {
					if (e.code !== 'EAGAIN')
						throw e;
				}
			}
		},
	};
}

// The record of one received message, keys in the documented order.
function record(peer, transport, path, headers, encoding, fields) {
	const r = {peer, transport, path, headers, encoding};
	for (const k of ['key', 'partition', 'offset', 'rejected', 'error', 'ignored'])
		if (fields[k] !== undefined)
			r[k] = fields[k];
	r.msg = fields.msg === undefined ? null : fields.msg;
	return r;
}

// ---- hostile modes -------------------------------------------------------------------------------

// gRPC codes for an HTTP status given with --status (grpc's http-grpc-status-mapping, except
// that 400 and 429 keep their meaning: a bad request and throttling).
const GRPC_FOR_HTTP = {400: 3, 401: 16, 403: 7, 404: 12, 408: 4, 409: 10, 413: 8, 429: 8, 499: 1,
	500: 13, 501: 12, 502: 14, 503: 14, 504: 14};

// Decides, per request in arrival order, what the peer does with it.
function makePolicy(o, extraMode) {
	let seen = 0;
	return {
		next() {
			seen++;
			if (o.fail > 0)
				return seen <= o.fail
					? {kind: 'fail', status: o.status, retryAfter: o.retryAfter,
						grpcCode: o.grpcCode || GRPC_FOR_HTTP[o.status] || 2,
						message: `ringside test peer: request ${seen} fails (--fail ${o.fail})`}
					: {kind: 'ok'};
			if (o.stall)
				return {kind: 'stall'};
			if (o.garbage)
				return {kind: 'garbage'};
			if (o.huge)
				return {kind: 'huge'};
			if (extraMode)
				return {kind: extraMode};
			return {kind: 'ok'};
		},
	};
}

// Bytes that decode as neither protobuf nor JSON: 0x07 is a tag with field number 0 and wire type
// 7 (both invalid) and a control character JSON does not allow.
function garbageBytes() {
	const b = crypto.randomBytes(64 + crypto.randomInt(960));
	b[0] = 0x07;
	return b;
}

// Builds a body of exactly `size` bytes from make(n), whose length grows by one with n (a string
// of n characters inside a message or a JSON text).
function sized(size, make) {
	let n = size;
	for (let i = 0; i < 4; i++) {
		const b = make(n);
		if (b.length === size)
			return b;
		n += size - b.length;
	}
	throw new Error('could not size the huge body');
}

// ---- HTTP ----------------------------------------------------------------------------------------

class BadRequest extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

function readBody(req) {
	return new Promise((resolve, reject) => {
		const parts = [];
		let n = 0;
		req.on('data', (c) => {
			n += c.length;
			if (n <= BODY_LIMIT)
				parts.push(c);
		});
		// Read to the end even when too big, so that the 413 reaches the client.
		req.on('end', () => (n > BODY_LIMIT
			? reject(new BadRequest(413, `body of ${n} bytes, over ${BODY_LIMIT}`))
			: resolve(Buffer.concat(parts))));
		req.on('error', reject);
	});
}

function contentEncoding(headers) {
	const e = (headers['content-encoding'] || 'identity').trim().toLowerCase();
	if (e !== 'identity' && e !== 'gzip')
		throw new BadRequest(415, `unsupported Content-Encoding ${e}`);
	return e;
}

function gunzipLimited(body) {
	try {
		return zlib.gunzipSync(body, {maxOutputLength: BODY_LIMIT});
	} catch (e) {
		throw new BadRequest(400, `gzip body does not inflate: ${e.message}`);
	}
}

function mediaType(headers) {
	return (headers['content-type'] || '').split(';')[0].trim().toLowerCase();
}

// Serves `routes`: { '/path': route } where route.transport(mediaType) names the transport,
// route.decode(mediaType, body) returns { transport, msgs: [plain objects], ignored: [keys] } or
// throws BadRequest, and route.answer(mediaType, kind) returns { type, body } for kind 'ok',
// 'partial' or 'huge'.
function httpServer(peer, routes, policy, out) {
	const create = tls ? (h) => https.createServer(tls, h) : (h) => http.createServer(h);
	const server = create((req, res) => {
		serve(req, res).catch((e) => {
			// A bug of the peer's own: say so loudly rather than answer as if all were well.
			process.stderr.write(`peer error on ${req.url}: ${e.stack}\n`);
			out.write(record(peer, 'http', req.url, {...req.headers}, 'identity',
				{error: `peer error: ${e.message}`}));
			if (!res.headersSent)
				res.writeHead(500, {'content-type': 'text/plain'}).end('peer error\n');
		});
	});
	// Answers that never come (--stall) must not be cut by node's own request timeouts.
	server.requestTimeout = 0;
	server.headersTimeout = 0;
	server.keepAliveTimeout = 60000;
	return server;

	async function serve(req, res) {
		const path = req.url.split('?')[0];
		const route = routes[path];
		const headers = {...req.headers};
		if (!route || req.method !== 'POST') {
			// Logged too: an exporter posting to the wrong place should be easy to see.
			const error = route ? `method ${req.method}: POST only` : `no route ${path}`;
			out.write(record(peer, 'http', path, headers, 'identity', {error}));
			res.writeHead(route ? 405 : 404, {'content-type': 'text/plain', allow: 'POST'})
				.end(`${error}\n`);
			req.resume();
			return;
		}
		const type = mediaType(headers);
		let encoding = 'identity';
		let transport = route.transport(type);
		let action = null;
		try {
			let body = await readBody(req);
			action = policy.next();
			encoding = contentEncoding(headers);
			if (encoding === 'gzip')
				body = gunzipLimited(body);
			const d = route.decode(type, body);
			transport = d.transport;
			const rejected = action.kind === 'fail' ? true : undefined;
			const ignored = d.ignored && d.ignored.length ? d.ignored : undefined;
			for (const msg of d.msgs)
				out.write(record(peer, transport, path, headers, encoding, {rejected, ignored, msg}));
		} catch (e) {
			if (!(e instanceof BadRequest))
				throw e;
			out.write(record(peer, transport, path, headers, encoding, {
				rejected: action && action.kind === 'fail' ? true : undefined, error: e.message}));
			if (!action || action.kind === 'ok' || action.kind === 'partial') {
				res.writeHead(e.status, {'content-type': 'text/plain'}).end(`${e.message}\n`);
				return;
			}
		}
		switch (action.kind) {
		case 'fail': {
			const h = {'content-type': 'text/plain'};
			if (action.retryAfter !== null)
				h['retry-after'] = String(action.retryAfter);
			res.writeHead(action.status, h).end(`${action.message}\n`);
			break;
		}
		case 'stall':
			break; // the connection stays open, unanswered, until the client or the peer goes
		case 'garbage':
			res.writeHead(200, {'content-type': type || 'application/octet-stream'})
				.end(garbageBytes());
			break;
		default: {
			const a = route.answer(type, action.kind);
			res.writeHead(200, {'content-type': a.type}).end(a.body);
		}
		}
	}
}

// ---- gRPC ----------------------------------------------------------------------------------------

// grpc-js hides the headers it consumes (grpc-encoding, te, content-type, the pseudo-headers) and
// never says whether a message arrived compressed. A 'stream' listener that runs before grpc-js's
// own keeps both for each call, under an id passed to the handler as a metadata entry.
const CALL_TAG = 'x-ringside-peer-call';
const calls = new Map();
let callSeq = 0;
let stripTimeout = false; // --stall: a call never ends, not even at its grpc-timeout

function tapFlags(stream, flags) {
	// gRPC framing only (1-byte flag, 4-byte length): the messages themselves are grpc-js's.
	let hdr = Buffer.alloc(0);
	let skip = 0;
	const push = stream.push;
	stream.push = function (chunk, enc) {
		if (chunk && chunk.length) {
			let off = 0;
			while (off < chunk.length) {
				if (skip > 0) {
					const n = Math.min(skip, chunk.length - off);
					skip -= n;
					off += n;
					continue;
				}
				const need = 5 - hdr.length;
				hdr = Buffer.concat([hdr, chunk.subarray(off, off + need)]);
				off += Math.min(need, chunk.length - off);
				if (hdr.length === 5) {
					flags.push(hdr[0] & 1);
					skip = hdr.readUInt32BE(1);
					hdr = Buffer.alloc(0);
				}
			}
		}
		return push.call(this, chunk, enc);
	};
}

// (grpc-js calls createSecureServer for TLS credentials: the same tap.)
function tapServer(server) {
	server.prependListener('stream', (stream, headers) => {
		const id = String(++callSeq);
		const raw = {};
		for (const k of Object.keys(headers))
			raw[k] = Array.isArray(headers[k]) ? headers[k].join(', ') : String(headers[k]);
		const info = {headers: raw, flags: [], next: 0};
		calls.set(id, info);
		headers[CALL_TAG] = id;
		if (stripTimeout)
			delete headers['grpc-timeout'];
		tapFlags(stream, info.flags);
		stream.once('close', () => setImmediate(() => calls.delete(id)));
	});
	return server;
}
for (const name of ['createServer', 'createSecureServer']) {
	const create = http2[name];
	http2[name] = function (...args) {
		return tapServer(create.apply(this, args));
	};
}

const grpc = require('@grpc/grpc-js');
const protobuf = require('protobufjs');

// --retry-after S over gRPC: a google.rpc.Status whose details hold a google.rpc.RetryInfo of S
// seconds, sent as grpc-status-details-bin. Encoded by protobufjs from googleapis' field numbers
// (google/rpc/status.proto, error_details.proto; google/protobuf/any.proto, duration.proto).
const RPC = protobuf.Root.fromJSON({nested: {google: {nested: {
	rpc: {nested: {
		Status: {fields: {code: {type: 'int32', id: 1}, message: {type: 'string', id: 2},
			details: {rule: 'repeated', type: 'google.protobuf.Any', id: 3}}},
		RetryInfo: {fields: {retryDelay: {type: 'google.protobuf.Duration', id: 1}}},
	}},
	protobuf: {nested: {
		Any: {fields: {typeUrl: {type: 'string', id: 1}, value: {type: 'bytes', id: 2}}},
		Duration: {fields: {seconds: {type: 'int64', id: 1}, nanos: {type: 'int32', id: 2}}},
	}},
}}}});
function retryInfoStatus(code, message, seconds) {
	const Status = RPC.lookupType('google.rpc.Status');
	const RetryInfo = RPC.lookupType('google.rpc.RetryInfo');
	const info = RetryInfo.encode({retryDelay: {seconds, nanos: 0}}).finish();
	return Buffer.from(Status.encode({code, message,
		details: [{typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', value: info}]}).finish());
}

function callInfo(metadata) {
	const id = metadata.get(CALL_TAG)[0];
	return calls.get(id) || {headers: {}, flags: [], next: 0};
}

// The encoding of the call's next message: its compressed flag says whether grpc-encoding applied.
function nextEncoding(info) {
	const flag = info.flags[info.next++];
	return flag ? (info.headers['grpc-encoding'] || 'unknown') : 'identity';
}

// Wraps a generated method definition: decoding failures reach the handler as {error} instead of
// an INTERNAL status grpc-js would send on its own, and a Buffer answer goes out as it is
// (--garbage, --huge).
function wrapMethod(def) {
	return {
		...def,
		requestDeserialize(buf) {
			try {
				return {value: def.requestDeserialize(buf)};
			} catch (e) {
				return {error: `message does not decode: ${e.message}`};
			}
		},
		responseSerialize(v) {
			return Buffer.isBuffer(v) ? v : def.responseSerialize(v);
		},
	};
}

// Builds grpc-js handlers from simple ones. `methods` maps a method name to
// { def, toPlain(value) -> {msg} | {error}, answer(kind, msgs) -> response value or Buffer }.
// Unary and client-streaming calls are handled alike: every message is logged as it arrives,
// then the policy decides the one answer.
function grpcService(peer, methods, policy, out) {
	const def = {};
	const impl = {};
	for (const [name, m] of Object.entries(methods)) {
		def[name] = wrapMethod(m.def);
		const path = m.def.path;
		impl[name] = (call, callback) => {
			const info = callInfo(call.metadata);
			const action = policy.next();
			const rejected = action.kind === 'fail' ? true : undefined;
			const msgs = [];
			let bad = null;
			const take = (v) => {
				const enc = nextEncoding(info);
				const p = v.error ? {error: v.error} : m.toPlain(v.value);
				if (p.error)
					bad = bad || p.error;
				else
					msgs.push(v.value);
				out.write(record(peer, 'grpc', path, info.headers, enc,
					{rejected, error: p.error, msg: p.msg}));
			};
			const finish = () => {
				switch (action.kind) {
				case 'fail': {
					const err = {code: action.grpcCode, details: action.message};
					if (action.retryAfter !== null) {
						err.metadata = new grpc.Metadata();
						err.metadata.set('grpc-status-details-bin',
							retryInfoStatus(action.grpcCode, action.message, action.retryAfter));
					}
					callback(err);
					return;
				}
				case 'stall':
					return;
				case 'garbage':
					callback(null, garbageBytes());
					return;
				}
				if (bad) {
					callback({code: grpc.status.INVALID_ARGUMENT, details: bad});
					return;
				}
				callback(null, m.answer(action.kind, msgs));
			};
			if (m.def.requestStream) {
				call.on('data', take);
				call.on('end', finish);
				call.on('error', () => {});
			} else {
				take(call.request);
				finish();
			}
		};
	}
	return {def, impl};
}

function grpcServer(o) {
	stripTimeout = o.stall;
	return new grpc.Server({
		'grpc.max_receive_message_length': BODY_LIMIT,
		'grpc.max_send_message_length': -1,
	});
}

// Starts both servers and prints the one line callers wait for.
async function listen(o, grpcSrv, httpSrv) {
	const gport = await new Promise((resolve, reject) => {
		const host = o.host.includes(':') ? `[${o.host}]` : o.host;
		const creds = tls
			? grpc.ServerCredentials.createSsl(tls.ca || null,
				[{cert_chain: tls.cert, private_key: tls.key}], !!tls.ca)
			: grpc.ServerCredentials.createInsecure();
		grpcSrv.bindAsync(`${host}:${o.grpcPort}`, creds,
			(err, port) => (err ? reject(err) : resolve(port)));
	});
	const hport = await new Promise((resolve, reject) => {
		httpSrv.once('error', reject);
		httpSrv.listen(o.httpPort, o.host, () => resolve(httpSrv.address().port));
	});
	process.stdout.write(`listening grpc=${gport} http=${hport}\n`);
	for (const sig of ['SIGTERM', 'SIGINT'])
		process.on(sig, () => process.exit(0));
}

module.exports = {BadRequest, HUGE_SIZE, USAGE_COMMON, grpc, grpcServer, grpcService,
	httpServer, listen, makePolicy, openOut, parseArgs, record, sized, usageExit};
