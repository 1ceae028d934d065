import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { applyDefaults } from '../../../src/api/defaults.js';
import type { KObject, ReplicaSet } from '../../../src/api/types.js';
import { eventually, markReady, podsOf, startHarness, template, type Harness } from './harness.js';

const t = { timeout: 20_000 };
let h: Harness;

beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

function replicaSet(name: string, replicas: number): KObject {
  const rs: KObject = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name, namespace: 'default', generation: 1 }, spec: { replicas, selector: { matchLabels: { app: name } }, template: template({ app: name }) }, status: {} };
  applyDefaults(rs);
  return rs;
}

const getRs = async (name: string) => (await h.store.get({ resource: 'replicasets', namespace: 'default', name })) as ReplicaSet;
const ownedBy = (uid: string) => (p: KObject) => !!p.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller);
const active = (p: KObject) => !p.metadata.deletionTimestamp;

test('a ReplicaSet creates its pods with owner references, labels and Pending status, and reports them', t, async () => {
  const rs = await h.store.create('replicasets', replicaSet('web', 3));
  const pods = await eventually('3 pods', async () => {
    const ps = await podsOf(h.store, ownedBy(rs.metadata.uid!));
    return ps.length === 3 && ps;
  });
  for (const p of pods) {
    assert.match(p.metadata.name!, /^web-[a-z0-9]{5}$/);
    assert.equal(p.metadata.generateName, 'web-');
    assert.deepEqual(p.metadata.labels, { app: 'web' });
    assert.deepEqual(p.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    assert.equal(p.status?.phase, 'Pending');
    assert.equal(p.spec.restartPolicy, 'Always', 'pods get the API defaults');
  }
  await markReady(h.store, pods[0].metadata.name!);
  await eventually('status with 1 ready', async () => {
    const s = (await getRs('web')).status;
    return s?.replicas === 3 && s.readyReplicas === 1 && s.availableReplicas === 1 && s.fullyLabeledReplicas === 3 && s.observedGeneration === 1;
  });
});

test('a deleted pod is replaced, a scale-down deletes the surplus, and an orphan is adopted', t, async () => {
  const rs = await h.store.create('replicasets', replicaSet('web', 2));
  const mine = ownedBy(rs.metadata.uid!);
  const first = await eventually('2 pods', async () => {
    const ps = await podsOf(h.store, mine);
    return ps.length === 2 && ps;
  });
  await h.store.delete({ resource: 'pods', namespace: 'default', name: first[0].metadata.name! });
  await eventually('a replacement', async () => {
    const ps = await podsOf(h.store, mine);
    return ps.length === 2 && !ps.some((p) => p.metadata.name === first[0].metadata.name);
  });

  await h.store.guaranteedUpdate({ resource: 'replicasets', namespace: 'default', name: 'web' }, (o) => ({ ...o, spec: { ...(o.spec as object), replicas: 1 } }));
  await eventually('1 pod after scale-down', async () => (await podsOf(h.store, mine)).length === 1);

  // An orphan with matching labels is adopted, and then one pod is surplus.
  await h.store.create('pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'orphan', namespace: 'default', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] }, status: { phase: 'Pending' } });
  await eventually('1 pod, owned, after adopting the orphan', async () => {
    const ps = await podsOf(h.store, (p) => p.metadata.labels?.app === 'web' && active(p));
    return ps.length === 1 && ps.every(mine);
  });
  assert.equal((await podsOf(h.store)).length, 1, 'no unowned pod is left');
});

test('a pod whose labels stop matching is released and replaced; a failed pod is replaced', t, async () => {
  const rs = await h.store.create('replicasets', replicaSet('web', 1));
  const mine = ownedBy(rs.metadata.uid!);
  const [p] = await eventually('1 pod', async () => {
    const ps = await podsOf(h.store, mine);
    return ps.length === 1 && ps;
  });
  await h.store.guaranteedUpdate({ resource: 'pods', namespace: 'default', name: p.metadata.name! }, (o) => ({ ...o, metadata: { ...o.metadata, labels: { app: 'debug' } } }));
  const released = await eventually('the relabeled pod released', async () => {
    const pod = await h.store.get({ resource: 'pods', namespace: 'default', name: p.metadata.name! });
    return pod && !pod.metadata.ownerReferences?.length && pod;
  });
  assert.ok(released, 'the relabeled pod still exists');
  const [q] = await eventually('a replacement', async () => {
    const ps = await podsOf(h.store, mine);
    return ps.length === 1 && ps[0].metadata.name !== p.metadata.name && ps;
  });
  await h.store.guaranteedUpdate({ resource: 'pods', namespace: 'default', name: q.metadata.name! }, (o) => ({ ...o, status: { phase: 'Failed' } }));
  await eventually('a replacement for the failed pod', async () => (await podsOf(h.store, (x) => mine(x) && x.status?.phase === 'Pending')).length === 1);
});

test('a ReplicationController keeps its replicas with its equality selector', t, async () => {
  const rc: KObject = { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'legacy', namespace: 'default', generation: 1 }, spec: { replicas: 2, selector: { app: 'legacy' }, template: template({ app: 'legacy' }) }, status: {} };
  applyDefaults(rc);
  const created = await h.store.create('replicationcontrollers', rc);
  const pods = await eventually('2 pods', async () => {
    const ps = await podsOf(h.store, ownedBy(created.metadata.uid!));
    return ps.length === 2 && ps;
  });
  assert.deepEqual(pods[0].metadata.ownerReferences?.[0]?.kind, 'ReplicationController');
  assert.match(pods[0].metadata.name!, /^legacy-[a-z0-9]{5}$/);
  await eventually('status replicas 2', async () => ((await h.store.get({ resource: 'replicationcontrollers', namespace: 'default', name: 'legacy' }))?.status as { replicas?: number })?.replicas === 2);
});

test('a mirror pod whose labels match is neither adopted nor counted: the ReplicaSet makes its own replicas', t, async () => {
  await h.store.create('pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-edge-1', namespace: 'default', labels: { app: 'web' }, annotations: { 'kubernetes.io/config.mirror': 'static-uid', 'kubernetes.io/config.source': 'file' } },
    spec: { nodeName: 'edge-1', containers: [{ name: 'c', image: 'busybox:1' }] },
    status: { phase: 'Running' },
  });
  const rs = await h.store.create('replicasets', replicaSet('web', 1));
  await eventually('1 pod of its own', async () => (await podsOf(h.store, ownedBy(rs.metadata.uid!))).length === 1);
  const mirror = await h.store.get({ resource: 'pods', namespace: 'default', name: 'web-edge-1' });
  assert.equal(mirror?.metadata.ownerReferences, undefined, 'the mirror pod was not adopted');
  assert.equal(mirror?.metadata.deletionTimestamp, undefined, 'the mirror pod was not deleted as surplus');
});
