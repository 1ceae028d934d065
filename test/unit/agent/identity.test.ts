import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { identityDir, isJoined, loadIdentity, saveIdentity, type AgentIdentity } from '../../../src/agent/identity.js';
import { normalizeServerUrl, JoinError } from '../../../src/agent/join.js';

const identity: AgentIdentity = {
  nodeName: 'n1',
  server: 'nats://10.0.0.2:4222',
  labels: { a: 'b' },
  joinedAt: '2026-01-01T00:00:00.000Z',
  caPem: 'CA',
  certPem: 'CERT',
  keyPem: 'KEY',
  nkeySeed: 'SUSEED',
};

test('the identity is saved 0600 in a 0700 dir and loads back', { timeout: 5000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-id-'));
  try {
    const dataDir = join(dir, 'agent');
    assert.equal(isJoined(dataDir), false);
    await saveIdentity(dataDir, identity);
    assert.equal(isJoined(dataDir), true);
    assert.equal(statSync(identityDir(dataDir)).mode & 0o777, 0o700);
    for (const f of readdirSync(identityDir(dataDir))) assert.equal(statSync(join(identityDir(dataDir), f)).mode & 0o777, 0o600, f);
    assert.deepEqual(await loadIdentity(dataDir), identity);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loading without an identity says to join first', { timeout: 5000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-id-'));
  try {
    await assert.rejects(loadIdentity(dir), /has not joined a cluster.*ctl join/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});


test('NATS addresses are normalised and wrong schemes refused', { timeout: 5000 }, () => {
  assert.equal(normalizeServerUrl('10.0.0.2'), 'nats://10.0.0.2:4222');
  assert.equal(normalizeServerUrl('nats://cp.lan:4333'), 'nats://cp.lan:4333');
  assert.throws(() => normalizeServerUrl('https://cp.lan'), JoinError);
});
