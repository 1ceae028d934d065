import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SchedulingQueue } from '../../../src/scheduler/queue.js';

const t = { timeout: 5_000 };

function queueAt(clock: { now: number }, opts: { unschedulableTimeoutMs?: number } = {}) {
  return new SchedulingQueue({ initialBackoffMs: 1000, maxBackoffMs: 4000, now: () => clock.now, ...opts });
}

function drain(q: SchedulingQueue): string[] {
  const out: string[] = [];
  for (let k = q.pop(); k !== undefined; k = q.pop()) out.push(k);
  return out;
}

test('first in, first out, each key once', t, () => {
  const q = queueAt({ now: 0 });
  for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
  assert.deepEqual(drain(q), ['a', 'b', 'c']);
  assert.equal(q.pop(), undefined);
});

test('unschedulable pods wait for a cluster change, then for their backoff', t, () => {
  const clock = { now: 0 };
  const q = queueAt(clock);
  q.add('p');
  assert.equal(q.pop(), 'p');
  q.markUnschedulable('p');
  assert.ok(q.isUnschedulable('p'));
  clock.now = 5000;
  q.flush();
  assert.equal(q.pop(), undefined, 'nothing changed and the 30 s timeout has not passed');
  q.moveAllToActive();
  assert.equal(q.pop(), 'p', 'backoff of 1 s is long over');

  q.markUnschedulable('p'); // attempt 2: backoff 2 s from now (5000)
  clock.now = 6000;
  q.moveAllToActive();
  assert.equal(q.pop(), undefined, 'still backing off');
  assert.deepEqual(q.size, { active: 0, unschedulable: 0, backoff: 1 });
  clock.now = 7000;
  q.flush();
  assert.equal(q.pop(), 'p');
});

test('backoff doubles and is capped', t, () => {
  const q = queueAt({ now: 0 });
  const seen: number[] = [];
  for (let i = 0; i < 5; i++) {
    q.markUnschedulable('p');
    seen.push(q.backoffMs('p'));
  }
  assert.deepEqual(seen, [1000, 2000, 4000, 4000, 4000]);
  q.done('p');
  assert.equal(q.backoffMs('p'), 0);
});

test('a pod parked long enough is retried without any change', t, () => {
  const clock = { now: 0 };
  const q = queueAt(clock, { unschedulableTimeoutMs: 30_000 });
  q.markUnschedulable('p');
  clock.now = 29_999;
  q.flush();
  assert.equal(q.pop(), undefined);
  clock.now = 30_000;
  q.flush();
  assert.equal(q.pop(), 'p');
});

test('a changed pod is tried at once, even when parked or backing off', t, () => {
  const q = queueAt({ now: 0 });
  q.markUnschedulable('a');
  q.retryLater('b');
  q.add('a');
  q.add('b');
  assert.deepEqual(drain(q), ['a', 'b']);
  assert.deepEqual(q.size, { active: 0, unschedulable: 0, backoff: 0 });
});

test('done forgets a key everywhere', t, () => {
  const q = queueAt({ now: 0 });
  q.add('a');
  q.markUnschedulable('b');
  q.retryLater('c');
  for (const k of ['a', 'b', 'c']) q.done(k);
  q.moveAllToActive();
  q.flush();
  assert.equal(q.pop(), undefined);
  assert.ok(!q.has('a') && !q.has('b') && !q.has('c'));
});

test('wait resolves when a key is added', t, async () => {
  const q = queueAt({ now: 0 });
  let woke = false;
  const waiting = q.wait().then(() => (woke = true));
  await Promise.resolve();
  assert.equal(woke, false);
  q.add('x');
  await waiting;
  assert.equal(woke, true);
});
