import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { startMetricsServer, type MetricsServer } from '../../../src/metrics/http.js';

// The plain-HTTP metrics endpoint on loopback: /metrics in Prometheus' text format, /healthz
// open to all, the bearer token when one is set, and a clear refusal of a port in use.

const log = pino({ level: 'silent' });
const registry = new Registry();
new Counter({ name: 'demo_total', help: 'A counter for the test.', registers: [registry] }).inc(3);
let open: MetricsServer;
let guarded: MetricsServer;

before(async () => {
  open = await startMetricsServer({ registry, bindAddress: '127.0.0.1:0', log, jsonRoutes: { '/sd': async () => [{ targets: ['a:1'], labels: {} }] } });
  guarded = await startMetricsServer({ registry, bindAddress: '127.0.0.1:0', log, token: 's3cret', jsonRoutes: { '/sd': async () => [] } });
});

after(async () => {
  await open?.close();
  await guarded?.close();
});

test('/metrics in the text format, JSON routes, /healthz and 404', async () => {
  const m = await fetch(`http://127.0.0.1:${open.port}/metrics`);
  assert.equal(m.status, 200, 'metrics served');
  assert.match(m.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/, "Prometheus' text format");
  assert.match(await m.text(), /^demo_total 3$/m, 'the registry sample');
  assert.deepEqual(await (await fetch(`http://127.0.0.1:${open.port}/sd`)).json(), [{ targets: ['a:1'], labels: {} }], 'a JSON route');
  assert.equal(await (await fetch(`http://127.0.0.1:${open.port}/healthz`)).text(), 'ok', 'health');
  const missing = await fetch(`http://127.0.0.1:${open.port}/nope`);
  assert.equal(missing.status, 404, 'unknown path');
  assert.match(await missing.text(), /try \/metrics/, 'says what exists');
  const post = await fetch(`http://127.0.0.1:${open.port}/metrics`, { method: 'POST' });
  assert.equal(post.status, 405, 'read only');
});

test('with a token: 401 without or with a wrong one, 200 with it; /healthz stays open', async () => {
  const url = `http://127.0.0.1:${guarded.port}`;
  const none = await fetch(`${url}/metrics`);
  assert.equal(none.status, 401, 'no token');
  assert.equal(none.headers.get('www-authenticate'), 'Bearer', 'says which scheme');
  assert.equal((await fetch(`${url}/sd`, { headers: { authorization: 'Bearer wrong' } })).status, 401, 'a wrong token on discovery');
  assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer s3cret' } })).status, 200, 'the right token');
  assert.equal((await fetch(`${url}/sd`, { headers: { authorization: 'bearer s3cret' } })).status, 200, 'the scheme is case-insensitive');
  assert.equal((await fetch(`${url}/healthz`)).status, 200, 'health needs no token');
});

test('a port in use is refused with the flag to change', async () => {
  await assert.rejects(
    startMetricsServer({ registry, bindAddress: `127.0.0.1:${open.port}`, log }),
    /cannot serve metrics on 127\.0\.0\.1:\d+: the port is in use; pass another --metrics-bind-address/,
    'names the address and what to do',
  );
});
