import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { parseBootstrapToken, secretHash } from '../../../src/bus/bootstrap-auth.js';
import { BootstrapTokens, tokenResource } from '../../../src/server/bootstrap-tokens.js';
import { handleTokenRoute } from '../../../src/server/token-routes.js';
import { MemoryStore } from '../../integration/bus/memory-store.js';

const log = pino({ level: 'silent' });

test('a created token is kubeadm-shaped and only its hash is stored', { timeout: 5000 }, async () => {
  const store = new MemoryStore();
  const tokens = new BootstrapTokens(store, log);
  const t = await tokens.create({ description: 'pi rack' });
  const parsed = parseBootstrapToken(t.token);
  assert.ok(!('error' in parsed));
  const stored = JSON.stringify((await store.list(tokenResource)).items);
  assert.ok(!stored.includes(parsed.secret), 'the secret is not stored');
  assert.ok(stored.includes(secretHash(parsed.secret)));
  assert.equal(Date.parse(t.expires!) - Date.parse(t.created) > 23 * 3600_000, true, 'default TTL is 24h');
  const lookup = await tokens.lookup(parsed.id);
  assert.deepEqual(lookup, { ok: true, id: parsed.id, secretHash: secretHash(parsed.secret) });
});

test('expiry is judged by the clock; ttl 0 never expires', { timeout: 5000 }, async () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const tokens = new BootstrapTokens(new MemoryStore(), log, () => now);
  const short = await tokens.create({ ttlSeconds: 60 });
  const forever = await tokens.create({ ttlSeconds: 0 });
  assert.equal(forever.expires, undefined);
  now += 61_000;
  const r = await tokens.lookup(short.id);
  assert.ok(!r.ok && r.reason === 'TokenExpired' && /expired at 2026-01-01T00:01:00.000Z/.test(r.message));
  assert.deepEqual((await tokens.list()).map((t) => t.id), [forever.id]);
  assert.equal(await tokens.sweepExpired(), 1);
  assert.ok(!(await tokens.lookup(short.id)).ok);
  assert.ok((await tokens.lookup(forever.id)).ok);
});

test('invalid TTLs are refused with the field path', { timeout: 5000 }, async () => {
  const tokens = new BootstrapTokens(new MemoryStore(), log);
  await assert.rejects(tokens.create({ ttlSeconds: -5 }), /spec.ttlSeconds: Invalid value: -5/);
});

test('the token routes show the token once and never the hash', { timeout: 5000 }, async () => {
  const tokens = new BootstrapTokens(new MemoryStore(), log);
  const api = { tokens, joinCommand: (t: string) => `ctl join nats://h:4222 --token ${t} --discovery-token-ca-cert-hash sha256:x` };
  const created = (await handleTokenRoute(api, 'POST', '/apis/bootstrap.skiff.io/v1/tokens', { spec: { ttlSeconds: 3600, description: 'd' } })) as {
    status: number;
    body: { metadata: { name: string }; status: { token: string; joinCommand: string } };
  };
  assert.equal(created.status, 201);
  assert.match(created.body.status.joinCommand, new RegExp(`--token ${created.body.status.token.replace('.', '\\.')} `));
  const list = await handleTokenRoute(api, 'GET', '/apis/bootstrap.skiff.io/v1/tokens', undefined);
  const text = JSON.stringify(list.body);
  assert.ok(text.includes(created.body.metadata.name));
  assert.ok(!text.includes(created.body.status.token.split('.')[1]), 'no secret in the list');
  assert.ok(!text.includes('sha256:'), 'no hash in the list');
  await handleTokenRoute(api, 'DELETE', `/apis/bootstrap.skiff.io/v1/tokens/${created.body.metadata.name}`, undefined);
  await assert.rejects(handleTokenRoute(api, 'DELETE', `/apis/bootstrap.skiff.io/v1/tokens/${created.body.metadata.name}`, undefined), /not found/);
  await assert.rejects(handleTokenRoute(api, 'POST', '/apis/bootstrap.skiff.io/v1/tokens', { spec: { ttlSeconds: 'x' } }), /spec.ttlSeconds/);
});
