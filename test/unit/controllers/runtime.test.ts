import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { Controller, splitKey } from '../../../src/controllers/runtime.js';

const log = pino({ level: 'silent' });
const t = { timeout: 5_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a key queued many times before it runs is reconciled once', t, async () => {
  const seen: string[] = [];
  const c = new Controller({ name: 'test', log, reconcile: async (k) => void seen.push(k) });
  c.enqueue('a/x');
  c.enqueue('a/x');
  c.enqueue('a/y');
  c.start();
  await sleep(20);
  await c.stop();
  assert.deepEqual(seen, ['a/x', 'a/y']);
});

test('a failing reconcile is retried after a backoff', t, async () => {
  let calls = 0;
  const c = new Controller({
    name: 'test',
    log,
    initialBackoffMs: 5,
    reconcile: async () => {
      calls++;
      if (calls < 3) throw new Error('not yet');
    },
  });
  c.start();
  c.enqueue('k');
  await sleep(100);
  await c.stop();
  assert.equal(calls, 3);
});

test('splitKey separates namespace and name', t, () => {
  assert.deepEqual(splitKey('ns/a'), { namespace: 'ns', name: 'a' });
  assert.deepEqual(splitKey('node1'), { namespace: '', name: 'node1' });
});
