import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { pino } from 'pino';
import type { Event, KObject, Pod, Taint, Toleration } from '../../../src/api/types.js';
import { startControllers } from '../../../src/controllers/index.js';
import { eventually, startHarness, type Harness } from './harness.js';

// The taint eviction controller over a real level store: who goes at once, who goes at the
// deadline, who stays, and a deadline kept across a controller restart.

const t = { timeout: 30_000 };
let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

const seconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function node(name: string, taints: Taint[] = []): Promise<void> {
  await h.store.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name }, spec: taints.length ? { taints } : {}, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } });
}

async function pod(name: string, nodeName: string, tolerations: Toleration[] = []): Promise<void> {
  const p: KObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName, terminationGracePeriodSeconds: 30, containers: [{ name: 'c', image: 'busybox:1' }], tolerations },
    status: { phase: 'Running' },
  };
  await h.store.create('pods', p);
}

const get = async (name: string) => (await h.store.get({ resource: 'pods', namespace: 'default', name })) as Pod | undefined;
const deleting = async (name: string) => !!(await get(name))?.metadata.deletionTimestamp;
const unreachable = (addedMs: number): Taint => ({ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: seconds(addedMs) });
const tolerate = (s?: number): Toleration => ({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', ...(s === undefined ? {} : { tolerationSeconds: s }) });

test('untolerated goes at once, tolerationSeconds at the deadline, no seconds never; pods on other nodes stay', t, async () => {
  await node('healthy');
  await pod('elsewhere', 'healthy');
  await pod('none', 'lost');
  await pod('short', 'lost', [tolerate(2)]);
  await pod('forever', 'lost', [tolerate()]);
  const taintedAt = Date.now();
  await node('lost', [unreachable(taintedAt)]);
  await eventually('the untolerating pod marked for deletion', () => deleting('none'));
  assert.ok(!(await deleting('short')), 'the pod tolerating 2 s is still there right after the taint');
  const marked = await eventually('the 2 s pod marked for deletion', () => deleting('short'), 6_000);
  assert.ok(marked, 'the 2 s pod was evicted');
  assert.ok(Date.now() - taintedAt >= 1_000, `not before its deadline (taint time has second precision): ${Date.now() - taintedAt} ms`);
  const evicted = await get('short');
  assert.equal(evicted?.metadata.deletionGracePeriodSeconds, 30, 'a graceful delete with the pod’s own grace period, as the eviction API does');
  await new Promise((r) => setTimeout(r, 1_000));
  assert.ok(!(await deleting('forever')), 'a toleration without seconds keeps the pod');
  assert.ok(!(await deleting('elsewhere')), 'a pod on an untainted node is left alone');
});

test('an evicted pod gets DisruptionTarget and a TaintManagerEviction event before it is deleted, as in Kubernetes', t, async () => {
  await pod('victim', 'lost');
  await node('lost', [unreachable(Date.now())]);
  await eventually('the pod marked for deletion', () => deleting('victim'));
  const evicted = await get('victim');
  const condition = evicted?.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
  assert.equal(condition?.status, 'True', 'the evicted pod should carry DisruptionTarget=True');
  assert.equal(condition?.reason, 'DeletionByTaintManager', 'the condition reason should name the taint manager');
  assert.equal(condition?.message, 'Taint manager: deleting due to NoExecute taint', 'the condition message should be Kubernetes’');
  assert.ok(condition?.lastTransitionTime, 'the condition should have a transition time');
  const events = ((await h.store.list('events', { namespace: 'default' })).items as Event[]).filter((e) => e.involvedObject.uid === evicted?.metadata.uid);
  assert.equal(events.length, 1, `one event should be recorded on the pod, got ${JSON.stringify(events.map((e) => e.reason))}`);
  assert.equal(events[0].reason, 'TaintManagerEviction', 'the event reason should be TaintManagerEviction');
  assert.equal(events[0].type, 'Normal', 'the event should be Normal, as Kubernetes records it');
  assert.equal(events[0].message, 'Marking for deletion Pod default/victim', 'the event message should name the pod');
  assert.equal(events[0].involvedObject.kind, 'Pod', 'the event should be about the pod');
});

test('a taint removed before the deadline cancels the eviction', t, async () => {
  await pod('p', 'flaky', [tolerate(2)]);
  await node('flaky', [unreachable(Date.now())]);
  await new Promise((r) => setTimeout(r, 500));
  await h.store.guaranteedUpdate({ resource: 'nodes', namespace: '', name: 'flaky' }, (n) => ({ ...n, spec: {} }));
  await new Promise((r) => setTimeout(r, 3_000));
  assert.ok(await get('p'), 'the pod still exists');
  assert.ok(!(await deleting('p')), 'the pod was not marked for deletion after its taint went away');
});

test('a restarted controller evicts at the deadline counted from the stored timeAdded', t, async () => {
  await h.controllers.stop();
  // The taint has been there 5 s already when a fresh controller starts: 4 s of toleration are over.
  await pod('late', 'gone', [tolerate(4)]);
  await pod('later', 'gone', [tolerate(60)]);
  await node('gone', [unreachable(Date.now() - 5_000)]);
  const fresh = startControllers(h.store, pino({ level: 'silent' }));
  try {
    await fresh.ready;
    await eventually('the pod whose deadline passed while no controller ran is evicted at once', () => deleting('late'), 2_000);
    assert.ok(!(await deleting('later')), 'the pod with 60 s left stays');
  } finally {
    await fresh.stop();
  }
});
