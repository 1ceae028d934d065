import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../../../src/api/types.js';
import { canonicalJson, lastAppliedAnnotation, planApply, threeWayMergePatch, withLastApplied } from '../../../src/cli/apply-patch.js';

test('fields the user dropped are removed; fields only the server set are kept', { timeout: 5_000 }, () => {
  const original = { spec: { replicas: 2, paused: false }, metadata: { labels: { a: '1', b: '2' } } };
  const modified = { spec: { replicas: 3 }, metadata: { labels: { a: '1' } } };
  const current = { spec: { replicas: 2, paused: false, progressDeadlineSeconds: 600 }, metadata: { labels: { a: '1', b: '2' }, uid: 'u' } };
  assert.deepEqual(threeWayMergePatch(original, modified, current), { spec: { replicas: 3, paused: null }, metadata: { labels: { b: null } } });
});

test('nothing to do gives an empty patch', { timeout: 5_000 }, () => {
  const desired = { spec: { replicas: 2 } };
  assert.deepEqual(threeWayMergePatch(desired, desired, { spec: { replicas: 2, strategy: { type: 'RollingUpdate' } }, status: { x: 1 } }), {});
});

test('a field changed on the server is put back to what the user wants', { timeout: 5_000 }, () => {
  const desired = { spec: { replicas: 2 } };
  assert.deepEqual(threeWayMergePatch(desired, desired, { spec: { replicas: 5 } }), { spec: { replicas: 2 } });
});

test('a field dropped by the user but already gone from the server is not patched', { timeout: 5_000 }, () => {
  assert.deepEqual(threeWayMergePatch({ spec: { a: 1, b: 2 } }, { spec: { a: 1 } }, { spec: { a: 1 } }), {});
});

test('lists: kept when the live one holds what was asked (defaults inside elements), sent whole when changed', { timeout: 5_000 }, () => {
  const containers = [{ name: 'c', image: 'nginx:1' }];
  const live = [{ name: 'c', image: 'nginx:1', imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log' }];
  const spec = (cs: unknown) => ({ spec: { containers: cs } });
  assert.deepEqual(threeWayMergePatch(spec(containers), spec(containers), spec(live)), {});

  const changed = [{ name: 'c', image: 'nginx:2' }];
  assert.deepEqual(threeWayMergePatch(spec(containers), spec(changed), spec(live)), spec(changed));

  // Someone else edited the live list: apply restores the user's list.
  const edited = [{ name: 'c', image: 'evil', imagePullPolicy: 'IfNotPresent' }];
  assert.deepEqual(threeWayMergePatch(spec(containers), spec(containers), spec(edited)), spec(containers));

  // The user removed a field inside an element: the list differs from last time, so it is sent.
  const withEnv = [{ name: 'c', image: 'nginx:1', env: [{ name: 'A', value: '1' }] }];
  assert.deepEqual(threeWayMergePatch(spec(withEnv), spec(containers), spec(withEnv)), spec(containers));
});

test('explicit null in the manifest deletes the field', { timeout: 5_000 }, () => {
  assert.deepEqual(threeWayMergePatch(undefined, { spec: { a: null } }, { spec: { a: 1 } }), { spec: { a: null } });
  assert.deepEqual(threeWayMergePatch(undefined, { spec: { a: null } }, { spec: {} }), {});
});

test('a map replacing a scalar is sent whole', { timeout: 5_000 }, () => {
  assert.deepEqual(threeWayMergePatch(undefined, { spec: { x: { y: 1 } } }, { spec: { x: 'old' } }), { spec: { x: { y: 1 } } });
});

const pod = (labels: Record<string, string>, extra: Partial<KObject> = {}): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels },
  spec: { containers: [{ name: 'c', image: 'nginx' }] },
  ...extra,
});

test('the annotation records the object as applied, canonically, without itself', { timeout: 5_000 }, () => {
  const obj = withLastApplied(pod({ app: 'web' }));
  const recorded = JSON.parse(obj.metadata.annotations![lastAppliedAnnotation]);
  assert.deepEqual(recorded, pod({ app: 'web' }));
  assert.equal(obj.metadata.annotations![lastAppliedAnnotation], canonicalJson(pod({ app: 'web' })));
  const again = withLastApplied(obj);
  assert.equal(again.metadata.annotations![lastAppliedAnnotation], obj.metadata.annotations![lastAppliedAnnotation]);
});

test('planApply: unchanged re-apply, configured change, status ignored, missing annotation reported', { timeout: 5_000 }, () => {
  const desired = pod({ app: 'web' });
  const live: KObject = {
    ...withLastApplied(desired),
    metadata: { ...withLastApplied(desired).metadata, uid: 'u1', namespace: 'default', resourceVersion: '7', creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: { containers: [{ name: 'c', image: 'nginx', imagePullPolicy: 'Always' }], restartPolicy: 'Always' },
    status: { phase: 'Pending' },
  };
  assert.deepEqual(planApply(desired, live, { ignoreStatus: true }), { patch: {}, missingAnnotation: false });
  assert.deepEqual(planApply({ ...desired, status: { phase: 'Running' } }, live, { ignoreStatus: true }).patch, {});

  const changed = planApply(pod({ app: 'web', tier: 'fe' }), live, { ignoreStatus: true }).patch as { metadata: { labels: unknown; annotations: Record<string, string> } };
  assert.deepEqual(changed.metadata.labels, { tier: 'fe' });
  assert.deepEqual(JSON.parse(changed.metadata.annotations[lastAppliedAnnotation]).metadata.labels, { app: 'web', tier: 'fe' });

  const created = { ...live, metadata: { ...live.metadata, annotations: {} } };
  const plan = planApply(desired, created, { ignoreStatus: true });
  assert.equal(plan.missingAnnotation, true);
  assert.ok((plan.patch as { metadata: { annotations: Record<string, string> } }).metadata.annotations[lastAppliedAnnotation]);
});
