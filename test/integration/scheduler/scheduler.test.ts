import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { pino } from 'pino';
import type { Event, KObject, Node, Pod } from '../../../src/api/types.js';
import { startScheduler, type Scheduler, type SchedulerOptions } from '../../../src/scheduler/scheduler.js';
import { openLevelStore, type LevelStore } from '../../../src/store/level-store.js';
import type { StoreEvent } from '../../../src/store/store.js';
import { makeNode, makePod } from '../../unit/scheduler/fixtures.js';

// The scheduler against a real level store on disk: what it binds, what it reports when nothing
// fits, and that a pod is never bound twice.

const t = { timeout: 20_000 };

let dir: string;
let store: LevelStore;
const schedulers: Scheduler[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-scheduler-'));
  store = await openLevelStore(dir);
});

afterEach(async () => {
  for (const s of schedulers.splice(0)) await s.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(opts: SchedulerOptions = {}): Promise<Scheduler> {
  const s = startScheduler(store, { log: pino({ level: 'silent' }), initialBackoffMs: 20, maxBackoffMs: 100, housekeepingMs: 10, ...opts });
  schedulers.push(s);
  await s.ready;
  return s;
}

/** The store's copy of a pod without its uid and timestamps, ready to create. */
function fresh(pod: Pod): KObject {
  const { uid: _uid, ...metadata } = pod.metadata;
  return { ...pod, metadata } as KObject;
}

const createNode = (node: Node) => store.create('nodes', node as KObject);
const createPod = (pod: Pod) => store.create('pods', fresh(pod));
const getPod = async (name: string) => (await store.get({ resource: 'pods', namespace: 'default', name })) as Pod | undefined;

async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const boundPod = (name: string) => eventually(`${name} to be bound`, async () => {
  const p = await getPod(name);
  return p?.spec.nodeName ? p : undefined;
});

async function eventsOf(name: string): Promise<Event[]> {
  const list = await store.list('events', { namespace: 'default' });
  return (list.items as Event[]).filter((e) => e.involvedObject.name === name);
}

test('pods created in the store are bound: nodeName, PodScheduled=True and a Scheduled event', t, async () => {
  await createNode(makeNode('n1'));
  await createNode(makeNode('n2'));
  await createPod(makePod('early'));
  await start();
  await createPod(makePod('late', { cpu: '100m' }));
  for (const name of ['early', 'late']) {
    const pod = await boundPod(name);
    assert.ok(['n1', 'n2'].includes(pod.spec.nodeName!));
    const cond = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    assert.equal(cond?.status, 'True');
    const events = await eventually(`${name}'s Scheduled event`, async () => {
      const e = await eventsOf(name);
      return e.length ? e : undefined;
    });
    assert.equal(events.length, 1);
    assert.equal(events[0].reason, 'Scheduled');
    assert.equal(events[0].type, 'Normal');
    assert.equal(events[0].source?.component, 'default-scheduler');
    assert.equal(events[0].message, `Successfully assigned default/${name} to ${pod.spec.nodeName}`);
    assert.equal(events[0].involvedObject.uid, pod.metadata.uid);
  }
});

test('a pod too big for every node stays Pending with the reason, and is bound once a bigger node appears', t, async () => {
  await createNode(makeNode('small-1', { cpu: '1' }));
  await createNode(makeNode('small-2', { cpu: '1' }));
  await createNode(makeNode('cordoned', { cpu: '8', unschedulable: true }));
  await start();
  await createPod(makePod('big', { cpu: '4' }));
  const message = '0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu.';
  const pending = await eventually('the Unschedulable condition', async () => {
    const p = await getPod('big');
    const c = p?.status?.conditions?.find((x) => x.type === 'PodScheduled');
    return c?.status === 'False' ? { pod: p!, condition: c } : undefined;
  });
  assert.equal(pending.condition.reason, 'Unschedulable');
  assert.equal(pending.condition.message, message);
  assert.equal(pending.pod.spec.nodeName, undefined);
  // The event is written after the condition, so wait for it before checking there is exactly one.
  const failed = await eventually('the FailedScheduling event', async () => {
    const e = await eventsOf('big');
    return e.length ? e : undefined;
  });
  assert.deepEqual(
    failed.map((e) => [e.type, e.reason, e.message]),
    [['Warning', 'FailedScheduling', message]],
  );

  // Retries with the same outcome write nothing more.
  const rv = pending.pod.metadata.resourceVersion;
  await createNode(makeNode('small-3', { cpu: '1' }));
  await eventually('the message to count the new node', async () => (await getPod('big'))?.status?.conditions?.[0]?.message?.startsWith('0/4') === true);
  const afterNewNode = await getPod('big');
  assert.notEqual(afterNewNode?.metadata.resourceVersion, rv);
  const settled = afterNewNode!.metadata.resourceVersion;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await getPod('big'))?.metadata.resourceVersion, settled, 'no rewrite while nothing changed');

  await createNode(makeNode('big-node', { cpu: '8' }));
  const bound = await boundPod('big');
  assert.equal(bound.spec.nodeName, 'big-node');
  const cond = bound.status?.conditions?.find((c) => c.type === 'PodScheduled');
  assert.equal(cond?.status, 'True');
});

test('a pod that fits nowhere is retried when a pod leaves a node', t, async () => {
  await createNode(makeNode('n1', { cpu: '1' }));
  await createPod(makePod('hog', { cpu: '800m', nodeName: 'n1' }));
  await start();
  await createPod(makePod('wants', { cpu: '500m' }));
  await eventually('the Unschedulable condition', async () => (await getPod('wants'))?.status?.conditions?.some((c) => c.status === 'False'));
  await store.delete({ resource: 'pods', namespace: 'default', name: 'hog' });
  assert.equal((await boundPod('wants')).spec.nodeName, 'n1');
});

test('a cordoned node gets nothing, and a NotReady one neither', t, async () => {
  await createNode(makeNode('cordoned', { cpu: '64', memory: '256Gi', unschedulable: true }));
  await createNode(makeNode('down', { cpu: '64', memory: '256Gi', ready: 'Unknown' }));
  await createNode(makeNode('busy', { cpu: '2' }));
  await start();
  for (let i = 0; i < 10; i++) await createPod(makePod(`p${i}`, { cpu: '100m' }));
  for (let i = 0; i < 10; i++) assert.equal((await boundPod(`p${i}`)).spec.nodeName, 'busy');
});

test('taints steer pods: only tolerating pods land on a tainted node', t, async () => {
  const gpu = { key: 'gpu', value: 'true', effect: 'NoSchedule' as const };
  await createNode(makeNode('gpu-node', { taints: [gpu], labels: { accel: 'gpu' } }));
  await createNode(makeNode('plain'));
  await start();
  for (let i = 0; i < 6; i++) await createPod(makePod(`plain-${i}`));
  await createPod(makePod('trainer', { spec: { tolerations: [{ key: 'gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }], nodeSelector: { accel: 'gpu' } } }));
  for (let i = 0; i < 6; i++) assert.equal((await boundPod(`plain-${i}`)).spec.nodeName, 'plain');
  assert.equal((await boundPod('trainer')).spec.nodeName, 'gpu-node');
});

test('pods of one ReplicaSet spread over the nodes', t, async () => {
  for (const n of ['a', 'b', 'c']) await createNode(makeNode(n));
  await start();
  for (let i = 0; i < 9; i++) await createPod(makePod(`web-${i}`, { ownerUid: 'rs-web', cpu: '10m' }));
  const perNode = new Map<string, number>();
  for (let i = 0; i < 9; i++) {
    const node = (await boundPod(`web-${i}`)).spec.nodeName!;
    perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  assert.deepEqual([...perNode.values()], [3, 3, 3]);
});

test('no pod is ever bound twice: two schedulers racing, with the pods updated underneath them', t, async () => {
  for (let i = 0; i < 5; i++) await createNode(makeNode(`n${i}`, { cpu: '100', pods: '1000' }));
  const watch = store.watch('pods');
  const events: StoreEvent[] = [];
  const collecting = (async () => {
    for await (const e of watch) events.push(e);
  })();
  await start();
  await start();
  const count = 200;
  const creations = Array.from({ length: count }, (_, i) => createPod(makePod(`race-${i}`, { cpu: '100m' })));
  // Meanwhile, other writers touch the same pods, so binding writes meet conflicts.
  const touches = Array.from({ length: count }, (_, i) =>
    (async () => {
      await creations[i];
      for (let round = 0; round < 3; round++) {
        await store
          .guaranteedUpdate({ resource: 'pods', namespace: 'default', name: `race-${i}` }, (obj) => ({
            ...obj,
            metadata: { ...obj.metadata, annotations: { touched: String(round) } },
          }))
          .catch(() => undefined);
      }
    })(),
  );
  await Promise.all([...creations, ...touches]);
  for (let i = 0; i < count; i++) await boundPod(`race-${i}`);
  await eventually('all Scheduled events', async () => {
    const list = await store.list('events');
    return list.items.filter((e) => (e as Event).reason === 'Scheduled').length >= count;
  });
  await new Promise((r) => setTimeout(r, 200));
  watch.close();
  await collecting;

  // Once a pod has a node, no later revision changes it.
  const nodeOf = new Map<string, string>();
  for (const e of events) {
    const name = e.object.metadata.name!;
    const node = (e.object as Pod).spec.nodeName;
    const before = nodeOf.get(name);
    if (before) assert.equal(node, before, `${name} moved from ${before} to ${node} at revision ${e.revision}`);
    if (node) nodeOf.set(name, node);
  }
  assert.equal(nodeOf.size, count);
  const scheduled = (await store.list('events')).items.filter((e) => (e as Event).reason === 'Scheduled');
  assert.equal(scheduled.length, count, 'exactly one Scheduled event per pod: only the winning binding reports');
});

test('with no nodes the pod says so, and is bound when the first node joins', t, async () => {
  await start();
  await createPod(makePod('lonely'));
  await eventually('the no-nodes message', async () =>
    (await getPod('lonely'))?.status?.conditions?.some((c) => c.message === 'no nodes available to schedule pods'),
  );
  await createNode(makeNode('first'));
  assert.equal((await boundPod('lonely')).spec.nodeName, 'first');
});

test('pods for another scheduler, and pods being deleted, are left alone', t, async () => {
  await createNode(makeNode('n1'));
  await start();
  await createPod(makePod('custom', { spec: { schedulerName: 'my-scheduler' } }));
  await createPod(makePod('ours'));
  await boundPod('ours');
  await new Promise((r) => setTimeout(r, 100));
  const custom = await getPod('custom');
  assert.equal(custom?.spec.nodeName, undefined);
  assert.equal(custom?.status?.conditions, undefined);
});

test('stop ends the watches and leaves nothing running', t, async () => {
  await createNode(makeNode('n1'));
  const s = await start();
  await createPod(makePod('a'));
  await boundPod('a');
  await s.stop();
  await createPod(makePod('b'));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await getPod('b'))?.spec.nodeName, undefined);
  assert.equal(s.stats().bound, 1);
});

test('a watch cut off for falling behind is replaced by a fresh list, and every pod still gets bound exactly once', t, async () => {
  const smallDir = await mkdtemp(join(tmpdir(), 'skiff-scheduler-small-'));
  // Watchers more than 5 events behind are closed, so bursts force the scheduler to list again.
  const small = await openLevelStore(smallDir, { watchBufferLimit: 5 });
  const s = startScheduler(small, { log: pino({ level: 'silent' }), initialBackoffMs: 20, housekeepingMs: 10 });
  try {
    await s.ready;
    await Promise.all(['a', 'b'].map((n) => small.create('nodes', makeNode(n) as KObject)));
    await Promise.all(Array.from({ length: 60 }, (_, i) => small.create('pods', fresh(makePod(`burst-${i}`)))));
    await eventually('every pod bound', async () => {
      const list = await small.list('pods');
      return list.items.every((p) => (p as Pod).spec.nodeName);
    });
    await eventually('every Scheduled event', async () => (await small.list('events')).items.length >= 60);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await small.list('events')).items.length, 60);
    assert.equal(s.stats().bound, 60);
  } finally {
    await s.stop();
    await small.close();
    await rm(smallDir, { recursive: true, force: true });
  }
});
