import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff } from '../../../../src/agent/pods/backoff.js';

test('back-off: first retry free, then 10 s doubling to 5 min, reset after 10 min quiet', { timeout: 5000 }, () => {
  let now = 0;
  const b = new Backoff({ now: () => now });
  assert.equal(b.remaining('k', 0), 0);
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    b.next('k');
    delays.push(b.delay('k'));
  }
  assert.deepEqual(delays, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  assert.equal(b.remaining('k', now), 300_000);
  now += 100_000;
  assert.equal(b.remaining('k', 0), 200_000);
  now += 10 * 60_000 + 1;
  assert.equal(b.delay('k'), 0);
  b.next('k');
  assert.equal(b.delay('k'), 10_000);
  b.forget('k');
  assert.equal(b.delay('k'), 0);
});
