// OpenTelemetry's Node SDK as its documentation sets it up: HTTP instrumentation, spans batched
// and exported over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT (the benchmark's sink).
'use strict';
const { NodeSDK } = require('@opentelemetry/sdk-node');
const { HttpInstrumentation } = require('@opentelemetry/instrumentation-http');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');

const sdk = new NodeSDK({
  serviceName: 'bench-node',
  traceExporter: new OTLPTraceExporter(),
  instrumentations: [new HttpInstrumentation()],
});
sdk.start();
process.on('SIGTERM', () => sdk.shutdown().finally(() => process.exit(0)));
