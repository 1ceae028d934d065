import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '../../../src/api/types.js';
import { replicaDiff, replicaFailureConditions, replicaStatus, slowStartBatch } from '../../../src/controllers/replicaset.js';

const t = { timeout: 5_000 };

function pod(name: string, opts: { node?: string; phase?: string; ready?: boolean; created?: string; labels?: Record<string, string> } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', creationTimestamp: opts.created ?? '2026-01-01T00:00:00Z', labels: opts.labels ?? { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...(opts.node ? { nodeName: opts.node } : {}) },
    status: { phase: (opts.phase ?? 'Pending') as never, conditions: opts.ready ? [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] : [] },
  } as Pod;
}

test('too few pods: create the difference, delete nothing', t, () => {
  assert.deepEqual(replicaDiff(3, [pod('a')]), { create: 2, delete: [] });
  assert.deepEqual(replicaDiff(2, [pod('a'), pod('b')]), { create: 0, delete: [] });
});

test('surplus: unscheduled first, then not ready, then newest', t, () => {
  const ready = pod('ready', { node: 'n1', phase: 'Running', ready: true, created: '2026-01-01T00:00:05Z' });
  const readyOld = pod('ready-old', { node: 'n1', phase: 'Running', ready: true, created: '2026-01-01T00:00:01Z' });
  const notReady = pod('not-ready', { node: 'n1', phase: 'Running' });
  const unscheduled = pod('unscheduled');
  const names = (n: number) => replicaDiff(4 - n, [readyOld, ready, notReady, unscheduled]).delete.map((p) => p.metadata.name);
  assert.deepEqual(names(1), ['unscheduled']);
  assert.deepEqual(names(2), ['unscheduled', 'not-ready']);
  assert.deepEqual(names(3), ['unscheduled', 'not-ready', 'ready']);
  assert.deepEqual(replicaDiff(0, [readyOld, ready]).create, 0);
});

test('status counts active, fully labeled, ready and available pods', t, () => {
  const template = { metadata: { labels: { app: 'web', tier: 'front' } }, spec: { containers: [] } };
  const pods = [
    pod('a', { phase: 'Running', ready: true, labels: { app: 'web', tier: 'front' } }),
    pod('b', { phase: 'Running', ready: true }),
    pod('c'),
    pod('done', { phase: 'Succeeded' }),
  ];
  const now = Date.parse('2026-01-01T00:00:05Z');
  assert.deepEqual(replicaStatus(pods, template, 0, 2, now), { replicas: 3, fullyLabeledReplicas: 1, readyReplicas: 2, availableReplicas: 2, observedGeneration: 2 });
  assert.equal(replicaStatus(pods, template, 10, 2, now).availableReplicas, 0, 'ready for 5s is not available with minReadySeconds 10');
});

test('ReplicaFailure is set while creates fail, keeps its transition time, and goes once they succeed', t, () => {
  const first = replicaFailureConditions(undefined, 'pods "web-abcde" is forbidden: exceeded quota: compute', Date.parse('2026-01-01T00:00:00Z'));
  assert.deepEqual(
    first,
    [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "web-abcde" is forbidden: exceeded quota: compute', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    'a failed create should set ReplicaFailure with reason FailedCreate',
  );
  const again = replicaFailureConditions(first, 'pods "web-fghij" is forbidden: exceeded quota: compute', Date.parse('2026-01-01T00:05:00Z'));
  assert.equal(again[0].lastTransitionTime, '2026-01-01T00:00:00Z', 'a continuing failure should keep the first transition time');
  assert.match(again[0].message ?? '', /web-fghij/, 'the message should be the latest failure');
  const other = { type: 'Other', status: 'True' as const };
  assert.deepEqual(replicaFailureConditions([other, ...again], undefined, Date.now()), [other], 'a successful sync should remove only ReplicaFailure');
});

test('slow start creates in batches of 1, 2, 4, … and stops after the first batch with a failure', async () => {
  const batches: number[] = [];
  let inFlight = 0;
  const track = async (fail: boolean) => {
    inFlight++;
    if (inFlight === 1) batches.push(0);
    batches[batches.length - 1]++;
    await new Promise((r) => setImmediate(r));
    inFlight--;
    if (fail) throw new Error('exceeded quota');
  };
  assert.deepEqual(await slowStartBatch(10, () => track(false)), { succeeded: 10, errors: [], skipped: 0 }, 'all ten made');
  assert.deepEqual(batches, [1, 2, 4, 3], 'batch sizes double, the last takes what is left');

  batches.length = 0;
  let calls = 0;
  const r = await slowStartBatch(20, () => track(++calls === 3));
  assert.equal(r.succeeded, 2, 'the first batch and one of the second');
  assert.equal(r.errors.length, 1, 'one refusal');
  assert.equal(r.skipped, 17, 'nothing after the failing batch is tried');
  assert.deepEqual(batches, [1, 2], 'two batches ran');
});
