#!/usr/bin/env node
'use strict';
// Checks what a peer logged (its JSON lines) for tests/integration/t_peers.sh.
//   check.js FILE [--count N] [--expect NAME | --expect-file F] [--where KEY=VALUE]... [--header K=V]...
// Selects the lines matching every --where (KEY a dotted path into the line, such as
// msg.traceSegmentId; VALUE read as JSON when it parses, else as a string; a missing key is null)
// and wants exactly N of them (default 1), each carrying the headers given and, with --expect, a
// msg deep-equal to that expectation of expect.js (--expect-file: to the JSON in that file).

const assert = require('assert');
const fs = require('fs');
const {EXPECT} = require('./expect');

function fail(msg) {
	throw new Error(msg);
}

function check(file, rest) {
	let count = 1;
	let expect = null;
	const where = [];
	const headers = [];
	for (let i = 0; i < rest.length; i++) {
		const a = rest[i];
		if (a === '--count')
			count = +rest[++i];
		else if (a === '--expect')
			expect = EXPECT[rest[++i]] || fail(`no expectation ${rest[i]}`);
		else if (a === '--expect-file')
			expect = JSON.parse(fs.readFileSync(rest[++i], 'utf8'));
		else if (a === '--where')
			where.push(rest[++i].split(/=(.*)/s).slice(0, 2));
		else if (a === '--header')
			headers.push(rest[++i].split(/=(.*)/s).slice(0, 2));
		else
			throw new Error(`unknown argument ${a}`);
	}
	const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
	const recs = lines.map((l) => JSON.parse(l));
	const asJson = (v) => {
		try {
			return JSON.parse(v);
		} catch {
			return v;
		}
	};
	const at = (r, k) => k.split('.').reduce((o, x) => (o === null || o === undefined ? o : o[x]), r);
	const hits = recs.filter((r) => where.every(([k, v]) =>
		JSON.stringify(at(r, k) ?? null) === JSON.stringify(asJson(v))));
	const fails = [];
	if (hits.length !== count)
		fails.push(`${hits.length} lines match ${JSON.stringify(where)}, expected ${count}`);
	for (const r of hits) {
		for (const [k, v] of headers)
			if (r.headers[k] !== v)
				fails.push(`header ${k} is ${JSON.stringify(r.headers[k])}, expected ${JSON.stringify(v)}`);
		if (expect !== null) {
			try {
				assert.deepStrictEqual(r.msg, expect);
			} catch (e) {
				fails.push(`msg differs from what was expected:\n${e.message}`);
			}
		}
	}
	if (fails.length) {
		process.stderr.write(`check ${file}: ${fails.join('\n')}\n`);
		process.exit(1);
	}
}

check(process.argv[2], process.argv.slice(3));
