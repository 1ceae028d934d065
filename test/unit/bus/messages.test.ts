import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { receive } from '../../../src/bus/codec.js';
import { codecs, type NodeStatusReport } from '../../../src/bus/messages.js';

const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));

const status: NodeStatusReport = {
  v: 1,
  nodeName: 'pi-1',
  labels: { 'kubernetes.io/arch': 'arm64' },
  addresses: [{ type: 'InternalIP', address: '10.0.0.5' }],
  capacity: { cpu: '4', memory: '3906Mi', pods: '110' },
  allocatable: { cpu: '4', memory: '3906Mi', pods: '110' },
  nodeInfo: {
    kernelVersion: '6.1.0',
    osImage: 'Debian GNU/Linux 12 (bookworm)',
    containerRuntimeVersion: 'containerd://unknown',
    kubeletVersion: 'v0.1.0',
    operatingSystem: 'linux',
    architecture: 'arm64',
  },
};

test('a valid message round-trips through its codec', { timeout: 5000 }, () => {
  const d = codecs.nodeStatusReport.decode(codecs.nodeStatusReport.encode(status));
  assert.deepEqual(d, { ok: true, value: status });
});

test('decoding rejects, with the field path, instead of throwing', { timeout: 5000 }, () => {
  const d = codecs.nodeStatusReport.decode(enc({ ...status, nodeName: 'Bad_Name', v: 2 }));
  assert.equal(d.ok, false);
  assert.ok(!d.ok);
  assert.match(d.reason, /^NodeStatusReport: /);
  assert.match(d.reason, /v: /);
  assert.match(d.reason, /nodeName: .*RFC 1123/);
});

test('non-JSON and non-UTF-8 input is rejected with a reason', { timeout: 5000 }, () => {
  const notJson = codecs.leaseRenewal.decode(enc('{not json'));
  assert.ok(!notJson.ok && /not JSON/.test(notJson.reason));
  const badUtf8 = codecs.leaseRenewal.decode(new Uint8Array([0xff, 0xfe]));
  assert.ok(!badUtf8.ok);
});

test('bootstrap replies are either a result or an error with a known reason', { timeout: 5000 }, () => {
  const err = codecs.clusterInfoReply.decode(enc({ v: 1, ok: false, error: { reason: 'TokenExpired', message: 'expired' } }));
  assert.ok(err.ok && !err.value.ok && err.value.error.reason === 'TokenExpired');
  const unknown = codecs.clusterInfoReply.decode(enc({ v: 1, ok: false, error: { reason: 'Whatever', message: 'x' } }));
  assert.ok(!unknown.ok);
  const missingHmac = codecs.clusterInfoReply.decode(enc({ v: 1, ok: true, caPem: '-----BEGIN CERTIFICATE-----\n' }));
  assert.ok(!missingHmac.ok && /caHmac/.test(missingHmac.reason));
});

test('join requests need a user nkey, a CSR and a 64-hex proof', { timeout: 5000 }, () => {
  const d = codecs.joinRequest.decode(enc({ v: 1, tokenId: 'abcdef', nodeName: 'n1', csrPem: 'x', nkeyPublic: 'NABC', proof: 'zz' }));
  assert.ok(!d.ok);
  assert.match(d.reason, /csrPem/);
  assert.match(d.reason, /nkeyPublic/);
  assert.match(d.reason, /proof/);
});

test('receive logs the reason and returns undefined for a bad message', { timeout: 5000 }, () => {
  const lines: string[] = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => lines.push(s) });
  const value = receive(codecs.leaseRenewal, { subject: 'skiff.from.n1.lease', data: enc({ v: 1 }) }, log);
  assert.equal(value, undefined);
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0]);
  assert.equal(rec.subject, 'skiff.from.n1.lease');
  assert.match(rec.reason, /nodeName/);
});
