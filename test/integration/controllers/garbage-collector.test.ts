import { afterEach, beforeEach, test } from 'node:test';
import type { KObject } from '../../../src/api/types.js';
import { eventually, podsOf, startHarness, template, type Harness } from './harness.js';

const t = { timeout: 20_000 };
let h: Harness;

beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

test("deleting a ReplicaSet's owner removes the ReplicaSet and then its pods", t, async () => {
  // A paused Deployment: it rolls nothing out and leaves the ReplicaSet made here by hand at its 2 replicas.
  const deploy = await h.store.create('deployments', {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', generation: 1 },
    spec: { replicas: 2, paused: true, selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }) },
  });
  const rs = await h.store.create('replicasets', {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-manual', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: deploy.metadata.uid!, controller: true, blockOwnerDeletion: true }] },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web', v: 'manual' } }, template: template({ app: 'web', v: 'manual' }) },
  } as KObject);
  await eventually('2 pods', async () => (await podsOf(h.store, (p) => p.metadata.ownerReferences?.[0]?.uid === rs.metadata.uid)).length === 2);

  await h.store.delete({ resource: 'deployments', namespace: 'default', name: 'web' });
  await eventually('the ReplicaSet gone', async () => !(await h.store.get({ resource: 'replicasets', namespace: 'default', name: 'web-manual' })));
  await eventually('its pods gone', async () => (await podsOf(h.store)).length === 0);
});

test('a pod with one owner gone and one left only loses the dangling reference', t, async () => {
  const keep = await h.store.create('replicationcontrollers', { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'keep', namespace: 'default' }, spec: { replicas: 0, selector: { x: 'y' }, template: template({ x: 'y' }) } });
  const pod = await h.store.create('pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'shared',
      namespace: 'default',
      ownerReferences: [
        { apiVersion: 'v1', kind: 'ReplicationController', name: 'keep', uid: keep.metadata.uid! },
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'gone', uid: 'no-such-uid' },
      ],
    },
    spec: { containers: [{ name: 'c', image: 'busybox:1' }] },
    status: { phase: 'Pending' },
  });
  await eventually('the dangling reference removed', async () => {
    const p = await h.store.get({ resource: 'pods', namespace: 'default', name: pod.metadata.name! });
    return p?.metadata.ownerReferences?.length === 1 && p.metadata.ownerReferences[0].uid === keep.metadata.uid;
  });
});
