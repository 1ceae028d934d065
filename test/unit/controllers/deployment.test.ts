import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Deployment } from '../../../src/api/types.js';
import { fenceposts, recreateTargets, rollingTargets, scaledValue, templateHash } from '../../../src/controllers/deployment.js';

const t = { timeout: 5_000 };

const deployment = (replicas: number, maxSurge?: number | string, maxUnavailable?: number | string) =>
  ({ spec: { replicas, selector: {}, template: { spec: { containers: [] } }, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } } } }) as Pick<Deployment, 'spec'>;

test('percents: surge rounds up, unavailable rounds down; defaults 25%/25%', t, () => {
  assert.equal(scaledValue('25%', 10, true, 0), 3);
  assert.equal(scaledValue('25%', 10, false, 0), 2);
  assert.equal(scaledValue(2, 10, true, 0), 2);
  assert.deepEqual(fenceposts(deployment(10)), { maxSurge: 3, maxUnavailable: 2 });
  assert.deepEqual(fenceposts(deployment(3)), { maxSurge: 1, maxUnavailable: 0 });
  assert.deepEqual(fenceposts(deployment(1, 0, '10%')), { maxSurge: 0, maxUnavailable: 1 }, 'both zero would stall: unavailable becomes 1');
});

test('a rolling update first surges the new ReplicaSet, then scales old ones down as new pods become available', t, () => {
  // 4 replicas, surge 1, unavailable 1; the old ReplicaSet has 4 available.
  const step1 = rollingTargets(4, 1, 1, { name: 'new', replicas: 0, available: 0 }, [{ name: 'old', replicas: 4, available: 4 }]);
  assert.deepEqual([...step1], [['new', 1]]);
  // Total 5 = 4 + surge: no room to surge; may drop to 3 available, and the new pod is not available.
  const step2 = rollingTargets(4, 1, 1, { name: 'new', replicas: 1, available: 0 }, [{ name: 'old', replicas: 4, available: 4 }]);
  assert.deepEqual([...step2], [['old', 3]]);
  const step3 = rollingTargets(4, 1, 1, { name: 'new', replicas: 1, available: 0 }, [{ name: 'old', replicas: 3, available: 3 }]);
  assert.deepEqual([...step3], [['new', 2]]);
  // Nothing becomes available: no further scale-down below replicas - maxUnavailable.
  const stuck = rollingTargets(4, 1, 1, { name: 'new', replicas: 2, available: 0 }, [{ name: 'old', replicas: 3, available: 3 }]);
  assert.equal(stuck.size, 0);
  // Once the new pods are available, the old ones go.
  const done = rollingTargets(4, 1, 1, { name: 'new', replicas: 4, available: 4 }, [{ name: 'old', replicas: 1, available: 1 }]);
  assert.deepEqual([...done], [['old', 0]]);
});

test('unavailable old pods are removed first without counting against availability', t, () => {
  const r = rollingTargets(3, 0, 1, { name: 'new', replicas: 0, available: 0 }, [{ name: 'old', replicas: 3, available: 1 }]);
  assert.deepEqual([...r], [['old', 2]], 'one unhealthy pod goes: total 3 may drop to replicas - maxUnavailable = 2');
});

test('scaling without a rollout sets the new ReplicaSet to replicas', t, () => {
  assert.deepEqual([...rollingTargets(5, 1, 1, { name: 'new', replicas: 3, available: 3 }, [])], [['new', 5]]);
  assert.deepEqual([...rollingTargets(2, 1, 1, { name: 'new', replicas: 3, available: 3 }, [])], [['new', 2]]);
});

test('recreate scales old ReplicaSets to zero and starts the new one only when their pods are gone', t, () => {
  assert.deepEqual([...recreateTargets(3, { name: 'new', replicas: 0, available: 0 }, [{ name: 'old', replicas: 3, available: 3, pods: 3 }])], [['old', 0]]);
  assert.equal(recreateTargets(3, { name: 'new', replicas: 0, available: 0 }, [{ name: 'old', replicas: 0, available: 0, pods: 2 }]).size, 0);
  assert.deepEqual([...recreateTargets(3, { name: 'new', replicas: 0, available: 0 }, [{ name: 'old', replicas: 0, available: 0, pods: 0 }])], [['new', 3]]);
});

test('the template hash is stable across key order and ignores its own label', t, () => {
  const a = templateHash({ metadata: { labels: { app: 'web', tier: 'x' } }, spec: { containers: [{ name: 'c', image: 'i:1' }] } });
  const b = templateHash({ spec: { containers: [{ image: 'i:1', name: 'c' }] }, metadata: { labels: { tier: 'x', app: 'web', 'pod-template-hash': a } } });
  const c = templateHash({ metadata: { labels: { app: 'web', tier: 'x' } }, spec: { containers: [{ name: 'c', image: 'i:2' }] } });
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.match(a, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
});
