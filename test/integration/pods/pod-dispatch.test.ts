import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from 'nats';
import { pino } from 'pino';
import type { Event, KObject, Pod, PodStatus } from '../../../src/api/types.js';
import { AssignedPods } from '../../../src/agent/pods/assigned-pods.js';
import { codecs, type DesiredPod, type PodAssignment } from '../../../src/bus/messages.js';
import { subjects } from '../../../src/bus/subjects.js';
import { requestPodDeletion, startPodDispatch, type PodDispatch } from '../../../src/server/pod-dispatch.js';
import { openLevelStore } from '../../../src/store/level-store.js';
import type { Store } from '../../../src/store/store.js';
import { startTestNats, type TestNats } from './nats-server.js';

// The control plane's pod dispatch against a real nats-server and a real level store.

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const podObj = (name: string, nodeName?: string): KObject =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'main', image: 'docker.io/library/busybox:1.36' }], terminationGracePeriodSeconds: 30, ...(nodeName ? { nodeName } : {}) } }) as KObject;

const running: PodStatus = {
  phase: 'Running',
  conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-01-01T00:00:00Z' }],
  podIP: '10.42.0.7',
  containerStatuses: [{ name: 'main', ready: true, restartCount: 0, image: 'docker.io/library/busybox:1.36', imageID: 'sha256:abc', containerID: 'containerd://abc', state: { running: { startedAt: '2026-01-01T00:00:00Z' } } }],
};

describe('pod dispatch', { timeout: 60_000 }, () => {
  let nats: TestNats;
  let dir: string;
  let store: Store;
  let cp: NatsConnection;
  let nodeA: NatsConnection;
  let nodeB: NatsConnection;
  let dispatch: PodDispatch;
  // Every message each node got, and the list it holds after applying them as an agent does.
  const lists = { 'node-a': [] as PodAssignment[], 'node-b': [] as PodAssignment[] };
  const held = { 'node-a': [] as DesiredPod[], 'node-b': [] as DesiredPod[] };
  const names = (n: keyof typeof held) => held[n].map((p) => p.metadata.name).sort();
  const podsIn = (a: PodAssignment) => ('pods' in a ? a.pods : a.changed);

  before(async () => {
    nats = await startTestNats();
    dir = mkdtempSync(join(tmpdir(), 'skiff-dispatch-'));
    store = await openLevelStore(join(dir, 'store'));
    await store.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } });
    await store.create('pods', podObj('early', 'node-a'));
    cp = await nats.connect();
    nodeA = await nats.connect();
    nodeB = await nats.connect();
    for (const [nc, node] of [[nodeA, 'node-a'], [nodeB, 'node-b']] as const) {
      const assigned = new AssignedPods();
      nc.subscribe(subjects.toNode(node, 'pods'), {
        callback: (_e, m) => {
          const d = codecs.podAssignment.decode(m.data);
          if (!d.ok) return;
          lists[node].push(d.value);
          const r = assigned.apply(d.value);
          if ('pods' in r) held[node] = r.pods;
        },
      });
    }
    await nodeA.flush();
    await nodeB.flush();
    dispatch = await startPodDispatch({ nc: cp, store, log, debounceMs: 20, resendIntervalMs: 60_000 });
  });

  after(async () => {
    dispatch?.close();
    for (const nc of [cp, nodeA, nodeB]) await nc?.close();
    await store?.close();
    await nats?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('each node gets its own whole list at start, on change and when it asks', { timeout: 10_000 }, async () => {
    await waitFor('node-a initial list', () => names('node-a').includes('early'));
    await store.create('pods', podObj('a1', 'node-a'));
    await store.create('pods', podObj('b1', 'node-b'));
    await store.create('pods', podObj('unbound'));
    await waitFor('node-a sees a1', () => names('node-a').join() === 'a1,early');
    await waitFor('node-b sees b1', () => names('node-b').join() === 'b1');
    for (const a of [...lists['node-a'], ...lists['node-b']]) for (const p of podsIn(a)) assert.equal(p.spec.nodeName, a.nodeName, 'never another node\'s pods');

    const count = lists['node-b'].length;
    nodeB.publish(subjects.fromNode('node-b', 'podsync'), codecs.podSyncRequest.encode({ v: 1, nodeName: 'node-b', reason: 'reconnected' }));
    await waitFor('a resend on request', () => lists['node-b'].length > count);
    assert.ok('pods' in lists['node-b'].at(-1)!, 'a node that asks gets its whole list');
    assert.deepEqual(names('node-b'), ['b1']);
  });

  test('after the whole list, a change sends only the pods that changed, built on the last message', { timeout: 10_000 }, async () => {
    await store.create('pods', podObj('a2', 'node-a'));
    await waitFor('node-a holds a2', () => names('node-a').includes('a2'));
    const before = lists['node-a'].at(-1)!;
    await store.guaranteedUpdate({ resource: 'pods', namespace: 'default', name: 'a2' }, (p) => ({ ...p, metadata: { ...p.metadata, labels: { tier: 'web' } } }));
    const delta = await waitFor('the label change', () => {
      const m = lists['node-a'].at(-1)!;
      return m !== before && m;
    });
    assert.ok('changed' in delta, 'a change is sent as changes, not the whole list');
    assert.equal(delta.since, before.revision, 'the changes build on the message before');
    assert.deepEqual(delta.changed.map((p) => [p.metadata.name, (p.metadata as { labels?: object }).labels]), [['a2', { tier: 'web' }]]);
    assert.deepEqual(delta.removed, []);

    await store.delete({ resource: 'pods', namespace: 'default', name: 'a2' });
    const removal = await waitFor('the removal', () => {
      const m = lists['node-a'].at(-1)!;
      return m !== delta && m;
    });
    assert.ok('removed' in removal && removal.removed.some((r) => r.name === 'a2'), 'a pod that left the node is sent as removed');
    assert.ok(!names('node-a').includes('a2'), 'the node no longer holds it');
  });

  test('status from the bound node is written as status only; from another node it is dropped', { timeout: 10_000 }, async () => {
    const a1 = (await store.get({ resource: 'pods', namespace: 'default', name: 'a1' })) as Pod;
    const report = (nodeName: string) => codecs.podStatusReport.encode({ v: 1, nodeName, namespace: 'default', name: 'a1', uid: a1.metadata.uid!, status: running as never });
    nodeB.publish(subjects.fromNode('node-b', 'podstatus'), report('node-b'));
    await nodeB.flush();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(((await store.get({ resource: 'pods', namespace: 'default', name: 'a1' })) as Pod).status, undefined);

    nodeA.publish(subjects.fromNode('node-a', 'podstatus'), report('node-a'));
    const after = await waitFor('status written', async () => {
      const p = (await store.get({ resource: 'pods', namespace: 'default', name: 'a1' })) as Pod;
      return p.status?.phase === 'Running' && p;
    });
    assert.equal(after.status!.podIP, '10.42.0.7');
    assert.deepEqual(after.spec, a1.spec);
  });

  test('repeated events aggregate into one with a count', { timeout: 10_000 }, async () => {
    const a1 = (await store.get({ resource: 'pods', namespace: 'default', name: 'a1' })) as Pod;
    const ev = { namespace: 'default', name: 'a1', uid: a1.metadata.uid!, fieldPath: 'spec.containers{main}', type: 'Warning' as const, reason: 'BackOff', message: 'Back-off restarting failed container main', timestamp: new Date().toISOString() };
    nodeA.publish(subjects.fromNode('node-a', 'events'), codecs.podEvents.encode({ v: 1, nodeName: 'node-a', events: [ev, { ...ev, timestamp: new Date(Date.now() + 2000).toISOString() }] }));
    nodeB.publish(subjects.fromNode('node-b', 'events'), codecs.podEvents.encode({ v: 1, nodeName: 'node-b', events: [{ ...ev, reason: 'Forged' }] }));
    const e = await waitFor('aggregated event', async () => {
      const items = (await store.list('events', { namespace: 'default' })).items as Event[];
      return items.find((x) => x.reason === 'BackOff' && x.count === 2);
    });
    assert.equal(e.involvedObject.uid, a1.metadata.uid);
    assert.equal(e.involvedObject.fieldPath, 'spec.containers{main}');
    assert.equal(e.source?.host, 'node-a');
    assert.ok(e.lastTimestamp! > e.firstTimestamp!, 'lastTimestamp moves on');
    assert.ok(!((await store.list('events')).items as Event[]).some((x) => x.reason === 'Forged'), 'no event from the wrong node');
  });

  test('delete: a bound pod waits for its node; the node\'s terminated report removes it; force and unbound go at once', { timeout: 10_000 }, async () => {
    const r = await requestPodDeletion(store, { namespace: 'default', name: 'a1' }, { gracePeriodSeconds: 5 });
    assert.equal(r.removed, false);
    assert.equal(r.object.metadata.deletionGracePeriodSeconds, 5);
    assert.ok(r.object.metadata.deletionTimestamp, 'deletionTimestamp set');
    const sent = await waitFor('node-a told of the deletion', () => held['node-a'].find((p) => p.metadata.name === 'a1' && p.metadata.deletionTimestamp));
    assert.equal(sent.metadata.deletionGracePeriodSeconds, 5);
    // A longer grace never replaces a shorter one.
    assert.equal((await requestPodDeletion(store, { namespace: 'default', name: 'a1' }, { gracePeriodSeconds: 60 })).object.metadata.deletionGracePeriodSeconds, 5);

    const uid = r.object.metadata.uid!;
    nodeA.publish(subjects.fromNode('node-a', 'podstatus'), codecs.podStatusReport.encode({ v: 1, nodeName: 'node-a', namespace: 'default', name: 'a1', uid, status: { ...running, phase: 'Succeeded' } as never, terminated: true }));
    await waitFor('a1 removed', async () => !(await store.get({ resource: 'pods', namespace: 'default', name: 'a1' })));
    await waitFor('node-a list without a1', () => names('node-a').join() === 'early');

    assert.equal((await requestPodDeletion(store, { namespace: 'default', name: 'b1' }, { gracePeriodSeconds: 0 })).removed, true);
    assert.equal(await store.get({ resource: 'pods', namespace: 'default', name: 'b1' }), undefined);
    assert.equal((await requestPodDeletion(store, { namespace: 'default', name: 'unbound' })).removed, true);
    await assert.rejects(requestPodDeletion(store, { namespace: 'default', name: 'nope' }), /not found/i);
  });
});
