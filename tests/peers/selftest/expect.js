'use strict';
// What the peers must log for the telemetry selftest/client.js sends: each msg written out by
// hand, in the peers' documented form (proto3 JSON: lowerCamelCase, int64 as strings, enums as
// numbers, defaults left out, OTLP ids in lowercase hex).

const TRACE = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const ROOT = '0102030405060708';
const CHILD = '1112131415161718';
const LINK_TRACE = 'ffeeddccbbaa99887766554433221100';
const LINK_SPAN = 'aabbccddeeff0011';
const EXPECT = {};
const resourceAttrs = [{key: 'service.name', value: {stringValue: 'peer-test'}},
	{key: 'process.pid', value: {intValue: '42'}}];
EXPECT['otlp-traces'] = {resourceSpans: [{
	resource: {attributes: resourceAttrs},
	scopeSpans: [{scope: {name: 'ringside-peer-test', version: '1.0'}, spans: [
		{traceId: TRACE, spanId: ROOT, name: 'GET /items/{id}', kind: 2,
			startTimeUnixNano: '1700000000123456789', endTimeUnixNano: '1700000000125456789',
			attributes: [{key: 'http.request.method', value: {stringValue: 'GET'}},
				{key: 'http.response.status_code', value: {intValue: '200'}},
				{key: 'ratio', value: {doubleValue: 0.5}},
				{key: 'cached', value: {boolValue: true}},
				{key: 'tags', value: {arrayValue: {values: [{stringValue: 'a'}, {stringValue: 'b'}]}}}],
			events: [{timeUnixNano: '1700000000124456789', name: 'first byte',
				attributes: [{key: 'n', value: {intValue: '1'}}]}],
			status: {}},
		{traceId: TRACE, spanId: CHILD, parentSpanId: ROOT, name: 'GET', kind: 3,
			startTimeUnixNano: '1700000000124456789', endTimeUnixNano: '1700000000125456789',
			links: [{traceId: LINK_TRACE, spanId: LINK_SPAN}],
			status: {message: 'boom', code: 2}},
	]}],
}]};

EXPECT['otlp-metrics'] = {resourceMetrics: [{
	resource: {attributes: resourceAttrs},
	scopeMetrics: [{scope: {name: 'ringside-peer-test', version: '1.0'}, metrics: [
		{name: 'requests', description: 'served', unit: '1', sum: {dataPoints: [
			{startTimeUnixNano: '1700000000123456789', timeUnixNano: '1700000000125456789',
				asInt: '7', attributes: [{key: 'route', value: {stringValue: '/items'}}]}],
		aggregationTemporality: 2, isMonotonic: true}},
		{name: 'load', gauge: {dataPoints: [{startTimeUnixNano: '1700000000123456789',
			timeUnixNano: '1700000000124456789', asDouble: 0.25}]}},
	]}],
}]};

EXPECT['otlp-logs'] = {resourceLogs: [{
	resource: {attributes: resourceAttrs},
	scopeLogs: [{scope: {name: 'ringside-peer-test', version: '1.0'}, logRecords: [
		{timeUnixNano: '1700000000124456789', severityNumber: 13, severityText: 'WARN',
			body: {stringValue: 'disk almost full'},
			attributes: [{key: 'disk', value: {stringValue: '/dev/sda'}}],
			flags: 1, traceId: TRACE, spanId: CHILD, observedTimeUnixNano: '1700000000125456789'}],
	}],
}]};

function expectSegment(i) {
	return {traceId: 'trace-1', traceSegmentId: `seg-${i}`, service: 'peer-test',
		serviceInstance: 'inst-1', spans: [
			{parentSpanId: -1, startTime: '1700000000123', endTime: '1700000000125',
				operationName: '/items/{id}', spanLayer: 3, componentId: 49,
				tags: [{key: 'http.method', value: 'GET'}],
				refs: [{traceId: 'trace-1', parentTraceSegmentId: 'seg-up', parentSpanId: 3,
					parentService: 'up', parentServiceInstance: 'up-1', parentEndpoint: '/x',
					networkAddressUsedAtPeer: '127.0.0.1:8080'}]},
			{spanId: 1, startTime: '1700000000124', endTime: '1700000000125', operationName: 'GET /db',
				peer: '127.0.0.1:5432', spanType: 1, spanLayer: 3, componentId: 2, isError: true,
				tags: [{key: 'http.status_code', value: '500'}]},
		]};
}
EXPECT['sw-segment0'] = expectSegment(0);
EXPECT['sw-segment1'] = expectSegment(1);

EXPECT['sw-properties'] = {service: 'peer-test', serviceInstance: 'inst-1',
	properties: [{key: 'language', value: 'c'}, {key: 'ipv4', value: '127.0.0.1'}]};

EXPECT['sw-ping'] = {service: 'peer-test', serviceInstance: 'inst-1'};

EXPECT['sw-snapshot0'] = {taskId: 'task-1', traceSegmentId: 'seg-0', time: '1700000000200',
	stack: {codeSignatures: ['main', 'handler_0']}};
EXPECT['sw-snapshot1'] = {taskId: 'task-1', traceSegmentId: 'seg-0', time: '1700000000201',
	sequence: 1, stack: {codeSignatures: ['main', 'handler_1']}};

EXPECT['sw-query'] = {service: 'peer-test', serviceInstance: 'inst-1'};

EXPECT['sw-finish'] = {service: 'peer-test', serviceInstance: 'inst-1', taskId: 'task-1'};

module.exports = {EXPECT, TRACE, ROOT, CHILD, LINK_TRACE, LINK_SPAN};
