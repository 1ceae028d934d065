import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Taint, Toleration } from '../../../src/api/types.js';
import { evictionDecision } from '../../../src/controllers/taint-eviction.js';

const opts = { timeout: 2_000 };
const t0 = Date.parse('2026-01-01T00:00:00Z');
const unreachable = (addedMs = t0): Taint => ({ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: new Date(addedMs).toISOString() });
const tolerate = (key: string, seconds?: number): Toleration => ({ key, operator: 'Exists', effect: 'NoExecute', ...(seconds === undefined ? {} : { tolerationSeconds: seconds }) });

test('a pod that does not tolerate a NoExecute taint is evicted at once', opts, () => {
  const d = evictionDecision([unreachable()], [], t0);
  assert.equal(d.action, 'evict', 'no toleration at all means eviction now');
  assert.match(d.action === 'evict' ? d.reason : '', /untolerated taint \{node\.kubernetes\.io\/unreachable:NoExecute\}/, 'the reason names the taint');
});

test('NoSchedule and PreferNoSchedule taints never evict', opts, () => {
  const d = evictionDecision([{ key: 'a', effect: 'NoSchedule' }, { key: 'b', effect: 'PreferNoSchedule' }], [], t0);
  assert.deepEqual(d, { action: 'keep' }, 'only NoExecute evicts');
});

test('tolerationSeconds counts from the taint timeAdded, not from now', opts, () => {
  const tol = [tolerate('node.kubernetes.io/unreachable', 10)];
  assert.deepEqual(evictionDecision([unreachable(t0)], tol, t0 + 3_000), { action: 'evictAt', atMs: t0 + 10_000 }, 'deadline is timeAdded + 10s');
  // A control plane restarted 12 s after the taint appeared evicts at once.
  assert.equal(evictionDecision([unreachable(t0)], tol, t0 + 12_000).action, 'evict', 'a deadline already passed evicts now');
});

test('a toleration without seconds keeps the pod for good', opts, () => {
  assert.deepEqual(evictionDecision([unreachable()], [tolerate('node.kubernetes.io/unreachable')], t0 + 3_600_000), { action: 'keep' }, 'no tolerationSeconds means forever');
  assert.deepEqual(evictionDecision([unreachable()], [{ operator: 'Exists' }], t0), { action: 'keep' }, 'a wildcard toleration tolerates every taint forever');
});

test('with several taints every one must be tolerated and the shortest deadline wins', opts, () => {
  const taints: Taint[] = [unreachable(t0), { key: 'maintenance', value: 'x', effect: 'NoExecute', timeAdded: new Date(t0 + 5_000).toISOString() }];
  const tol = [tolerate('node.kubernetes.io/unreachable', 60), { key: 'maintenance', operator: 'Equal' as const, value: 'x', effect: 'NoExecute' as const, tolerationSeconds: 20 }];
  assert.deepEqual(evictionDecision(taints, tol, t0), { action: 'evictAt', atMs: t0 + 25_000 }, 'the maintenance taint (added 5s later, 20s toleration) decides');
  assert.equal(evictionDecision(taints, [tol[0]], t0).action, 'evict', 'one untolerated taint evicts at once even if others are tolerated');
  assert.equal(evictionDecision(taints, [{ ...tol[1], value: 'y' }, tol[0]], t0).action, 'evict', 'a toleration for another value does not tolerate');
});

test('the first matching toleration is the one used, as in Kubernetes', opts, () => {
  const d = evictionDecision([unreachable()], [tolerate('node.kubernetes.io/unreachable'), tolerate('node.kubernetes.io/unreachable', 5)], t0);
  assert.deepEqual(d, { action: 'keep' }, 'the first match has no seconds, so the pod stays');
});

test('zero or negative seconds evict at once; a taint without timeAdded counts from when it was first seen', opts, () => {
  assert.equal(evictionDecision([unreachable()], [tolerate('node.kubernetes.io/unreachable', 0)], t0).action, 'evict', 'tolerationSeconds 0 evicts now');
  assert.equal(evictionDecision([unreachable()], [tolerate('node.kubernetes.io/unreachable', -3)], t0).action, 'evict', 'negative seconds evict now');
  const { timeAdded: _t, ...noTime } = unreachable();
  assert.deepEqual(evictionDecision([noTime], [tolerate('node.kubernetes.io/unreachable', 10)], t0 + 1_000, t0 + 500), { action: 'evictAt', atMs: t0 + 10_500 }, 'first-seen time stands in for timeAdded');
});
