import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { applyDefaults } from '../../../src/api/defaults.js';
import type { Deployment, KObject, Pod, ReplicaSet } from '../../../src/api/types.js';
import { eventually, markReady, podsOf, startHarness, template, type Harness } from './harness.js';

const t = { timeout: 30_000 };
let h: Harness;

beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

function deployment(name: string, replicas: number, image: string, strategy: Deployment['spec']['strategy'] = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }): KObject {
  const d: KObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default', generation: 1 }, spec: { replicas, selector: { matchLabels: { app: name } }, template: template({ app: name }, image), strategy }, status: {} };
  applyDefaults(d);
  return d;
}

const replicaSets = async () => (await h.store.list('replicasets', { namespace: 'default' })).items as ReplicaSet[];
const getDeployment = async (name: string) => (await h.store.get({ resource: 'deployments', namespace: 'default', name })) as Deployment;
const active = (p: Pod) => !p.metadata.deletionTimestamp;

/** Plays the nodes: every pending pod becomes ready. */
async function readyAll(): Promise<void> {
  for (const p of await podsOf(h.store, (p) => active(p) && p.status?.phase === 'Pending')) await markReady(h.store, p.metadata.name!);
}

test('a Deployment creates a ReplicaSet labelled with its pod-template-hash, and its pods; deleting it removes both', t, async () => {
  const d = await h.store.create('deployments', deployment('web', 3, 'busybox:1'));
  const [rs] = await eventually('a replica set', async () => {
    const l = await replicaSets();
    return l.length === 1 && l;
  });
  const hash = rs.metadata.labels?.['pod-template-hash'];
  assert.ok(hash, 'the replica set has a pod-template-hash label');
  assert.equal(rs.metadata.name, `web-${hash}`);
  assert.equal(rs.spec.selector.matchLabels?.['pod-template-hash'], hash);
  assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
  assert.equal(rs.metadata.ownerReferences?.[0]?.uid, d.metadata.uid);
  const pods = await eventually('3 pods', async () => {
    const ps = await podsOf(h.store);
    return ps.length === 3 && ps;
  });
  assert.ok(pods.every((p) => p.metadata.labels?.['pod-template-hash'] === hash && p.metadata.labels?.app === 'web'), 'pods carry the template labels and the hash');
  await readyAll();
  await eventually('status 3/3 available', async () => {
    const s = (await getDeployment('web')).status;
    return (
      s?.replicas === 3 && s.updatedReplicas === 3 && s.readyReplicas === 3 && s.availableReplicas === 3 && s.observedGeneration === 1 &&
      s.conditions?.some((c) => c.type === 'Available' && c.status === 'True') &&
      s.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'NewReplicaSetAvailable')
    );
  });

  await h.store.delete({ resource: 'deployments', namespace: 'default', name: 'web' });
  // The pods are bound, so they are marked for their node to stop rather than removed at once.
  await eventually('replica set gone and pods deleted', async () => (await replicaSets()).length === 0 && (await podsOf(h.store, active)).length === 0);
});

test('a template change rolls out a second ReplicaSet, scaling the old one down as new pods become ready', t, async () => {
  await h.store.create('deployments', deployment('web', 3, 'busybox:1'));
  await eventually('3 pods', async () => (await podsOf(h.store)).length === 3);
  await readyAll();
  await eventually('3 available', async () => (await getDeployment('web')).status?.availableReplicas === 3);

  await h.store.guaranteedUpdate({ resource: 'deployments', namespace: 'default', name: 'web' }, (o) => {
    const spec = structuredClone(o.spec) as Deployment['spec'];
    spec.template.spec.containers[0].image = 'busybox:2';
    return { ...o, metadata: { ...o.metadata, generation: 2 }, spec };
  });
  const rsOf = (rsName: string) => (p: Pod) => p.metadata.ownerReferences?.[0]?.name === rsName;
  const newRs = await eventually('a second replica set', async () => (await replicaSets()).find((rs) => rs.spec.template?.spec.containers[0].image === 'busybox:2'));
  assert.equal(newRs.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  const oldRs = (await replicaSets()).find((rs) => rs.metadata.name !== newRs.metadata.name)!;

  // maxUnavailable 0: never fewer than 3 ready pods; the old set shrinks only as new pods get ready.
  let minReady = Infinity;
  for (let round = 0; round < 50; round++) {
    const pods = await podsOf(h.store, active);
    minReady = Math.min(minReady, pods.filter((p) => p.status?.phase === 'Running').length);
    const oldLeft = pods.filter(rsOf(oldRs.metadata.name!)).length;
    const newReady = pods.filter((p) => rsOf(newRs.metadata.name!)(p) && p.status?.phase === 'Running').length;
    if (oldLeft === 0 && newReady === 3) break;
    await new Promise((r) => setTimeout(r, 100));
    await readyAll();
  }
  assert.ok(minReady >= 3, `ready pods never fell below 3 (saw ${minReady})`);
  await eventually('old replica set at 0 and the rollout complete', async () => {
    const old = (await replicaSets()).find((rs) => rs.metadata.name === oldRs.metadata.name);
    const s = (await getDeployment('web')).status;
    return old?.spec.replicas === 0 && s?.updatedReplicas === 3 && s.availableReplicas === 3 && s.replicas === 3 && s.observedGeneration === 2;
  });
});

test('Recreate scales the old ReplicaSet to zero before the new one starts', t, async () => {
  await h.store.create('deployments', deployment('job', 2, 'busybox:1', { type: 'Recreate' }));
  await eventually('2 pods', async () => (await podsOf(h.store)).length === 2);
  await h.store.guaranteedUpdate({ resource: 'deployments', namespace: 'default', name: 'job' }, (o) => {
    const spec = structuredClone(o.spec) as Deployment['spec'];
    spec.template.spec.containers[0].image = 'busybox:2';
    return { ...o, spec };
  });
  await eventually('2 pods, all of the new template', async () => {
    const pods = await podsOf(h.store, active);
    return pods.length === 2 && pods.every((p) => p.spec.containers[0].image === 'busybox:2');
  });
});

test('a Deployment created again adopts the ReplicaSet its predecessor left orphaned, without a second one', t, async () => {
  await h.store.create('deployments', deployment('web', 2, 'busybox:1'));
  const [rs] = await eventually('a replica set', async () => {
    const l = await replicaSets();
    return l.length === 1 && l;
  });
  // What DELETE with propagationPolicy=Orphan does: mark the owner, strip its references, delete it.
  await h.store.guaranteedUpdate({ resource: 'deployments', namespace: 'default', name: 'web' }, (o) => ({ ...o, metadata: { ...o.metadata, deletionTimestamp: new Date().toISOString() } }));
  await h.store.guaranteedUpdate({ resource: 'replicasets', namespace: 'default', name: rs.metadata.name! }, (o) => ({ ...o, metadata: { ...o.metadata, ownerReferences: [] } }));
  await h.store.delete({ resource: 'deployments', namespace: 'default', name: 'web' });
  const again = await h.store.create('deployments', deployment('web', 2, 'busybox:1'));
  await eventually('the old replica set adopted', async () => {
    const l = await replicaSets();
    return l.length === 1 && l[0].metadata.uid === rs.metadata.uid && l[0].metadata.ownerReferences?.[0]?.uid === again.metadata.uid;
  });
  assert.equal((await podsOf(h.store, active)).length, 2, 'still 2 pods');
});

test('a paused Deployment still scales but does not roll out a template change', t, async () => {
  await h.store.create('deployments', deployment('web', 1, 'busybox:1'));
  await eventually('1 pod', async () => (await podsOf(h.store)).length === 1);
  await h.store.guaranteedUpdate({ resource: 'deployments', namespace: 'default', name: 'web' }, (o) => {
    const spec = structuredClone(o.spec) as Deployment['spec'];
    spec.paused = true;
    spec.replicas = 2;
    spec.template.spec.containers[0].image = 'busybox:2';
    return { ...o, spec };
  });
  await eventually('2 pods of the first template', async () => {
    const pods = await podsOf(h.store, active);
    return pods.length === 2 && pods.every((p) => p.spec.containers[0].image === 'busybox:1');
  });
  assert.equal((await replicaSets()).length, 1, 'no second replica set while paused');
  await eventually('Progressing says paused', async () => (await getDeployment('web')).status?.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'DeploymentPaused'));
});

test('a rollout whose pods never get ready reports ProgressDeadlineExceeded after progressDeadlineSeconds', t, async () => {
  const d = deployment('stuck', 1, 'busybox:1');
  (d.spec as Deployment['spec']).progressDeadlineSeconds = 1;
  await h.store.create('deployments', d);
  const cond = await eventually(
    'Progressing False',
    async () => (await getDeployment('stuck')).status?.conditions?.find((c) => c.type === 'Progressing' && c.status === 'False'),
    10_000,
  );
  assert.equal(cond.reason, 'ProgressDeadlineExceeded');
  assert.match(cond.message ?? '', /has timed out progressing/);
  const available = (await getDeployment('stuck')).status?.conditions?.find((c) => c.type === 'Available');
  assert.equal(available?.status, 'False', 'with maxUnavailable 0 and no ready pod the deployment is not available');
});
