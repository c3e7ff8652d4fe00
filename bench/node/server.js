// The plain Node.js HTTP server of the comparison: answers every request with a short body.
// With BENCH_OTEL=1 it first starts OpenTelemetry's Node SDK with the HTTP instrumentation,
// exporting OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT, as a user adopting the language agent would.
'use strict';
if (process.env.BENCH_OTEL === '1') require('./otel.js');
const http = require('http');

const port = Number(process.argv[2] || 0);
const body = Buffer.from('hello from node\n');
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${server.address().port}\n`);
});
// SIGTERM ends it cleanly, so both tracers get their exit flush.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
