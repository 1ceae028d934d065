import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '../../../src/api/types.js';
import { schedulePod } from '../../../src/scheduler/algorithm.js';
import { SchedulerCache } from '../../../src/scheduler/cache.js';
import { defaultPlugins } from '../../../src/scheduler/plugins.js';
import { podInfo } from '../../../src/scheduler/pod-info.js';
import { makeNode, makePod } from './fixtures.js';

const t = { timeout: 5_000 };

const withNode = (pod: Pod, nodeName: string): Pod => ({ ...pod, spec: { ...pod.spec, nodeName } });

test('node totals follow pods as they are bound, finish and go', t, () => {
  const c = new SchedulerCache();
  c.applyNode('ADDED', makeNode('n1'));
  const pod = makePod('p', { cpu: '500m', memory: '1Gi', hostPort: 8080, ownerUid: 'rs' });
  assert.deepEqual(c.applyPod('ADDED', pod), { freed: false, pending: 'added' });
  assert.ok(c.pendingPod('default/p'));

  assert.deepEqual(c.applyPod('MODIFIED', withNode(pod, 'n1')), { freed: false, pending: 'removed' });
  const n1 = c.nodeInfo('n1')!;
  assert.deepEqual([n1.requestedMilliCpu, n1.requestedMemory, n1.podCount], [500, 1024 ** 3, 1]);
  assert.equal(n1.pods.size, 1);
  assert.equal(n1.ownerCounts.get('rs'), 1);
  assert.ok(n1.portInUse({ ip: '0.0.0.0', protocol: 'TCP', port: 8080 }));
  assert.equal(c.pendingPod('default/p'), undefined);

  // A status update changes nothing.
  assert.deepEqual(c.applyPod('MODIFIED', { ...withNode(pod, 'n1'), status: { phase: 'Running' } }), { freed: false });
  assert.equal(n1.pods.size, 1);

  assert.deepEqual(c.applyPod('MODIFIED', { ...withNode(pod, 'n1'), status: { phase: 'Succeeded' } }), { freed: true });
  assert.deepEqual([n1.requestedMilliCpu, n1.requestedMemory, n1.podCount], [0, 0, 0]);
  assert.equal(n1.pods.size, 0);
  assert.equal(n1.ownerCounts.size, 0);
  assert.equal(n1.usedPorts.size, 0);
});

test('a write that keeps the stored spec and owners recounts nothing and holds only the newer pod', t, () => {
  const c = new SchedulerCache();
  c.applyNode('ADDED', makeNode('n1'));
  const bound = withNode(makePod('p', { cpu: '500m', ownerUid: 'rs' }), 'n1');
  c.applyPod('ADDED', bound);
  const n1 = c.nodeInfo('n1')!;
  const running: Pod = { ...bound, metadata: { ...bound.metadata, resourceVersion: '2' }, status: { phase: 'Running' } };
  assert.deepEqual(c.applyPod('MODIFIED', running), { freed: false });
  assert.deepEqual([n1.requestedMilliCpu, n1.podCount, n1.ownerCounts.get('rs')], [500, 1, 1], 'the totals stay');
  assert.equal(n1.pods.get('default/p')!.pod, running, 'the node holds the newer pod');
  // A spec that is a new object (here asking for more) is counted again.
  const bigger = withNode(makePod('p', { cpu: '2', ownerUid: 'rs' }), 'n1');
  c.applyPod('MODIFIED', bigger);
  assert.deepEqual([n1.requestedMilliCpu, n1.podCount, n1.ownerCounts.get('rs')], [2000, 1, 1], 'a changed spec is recounted');
});

test('deleting a bound pod frees its node', t, () => {
  const c = new SchedulerCache();
  c.applyNode('ADDED', makeNode('n1'));
  const pod = withNode(makePod('p', { cpu: '1' }), 'n1');
  c.applyPod('ADDED', pod);
  assert.deepEqual(c.applyPod('DELETED', pod), { freed: true });
  assert.equal(c.nodeInfo('n1')!.requestedMilliCpu, 0);
});

test('pods are not ours when bound, being deleted, finished, or for another scheduler', t, () => {
  const c = new SchedulerCache();
  const cases: Pod[] = [
    withNode(makePod('bound'), 'n1'),
    { ...makePod('deleting'), metadata: { ...makePod('deleting').metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } },
    makePod('done', { phase: 'Failed' }),
    makePod('other', { spec: { schedulerName: 'my-scheduler' } }),
  ];
  for (const p of cases) assert.equal(c.applyPod('ADDED', p).pending, undefined, p.metadata.name);
  assert.equal(c.applyPod('ADDED', makePod('mine', { spec: { schedulerName: 'default-scheduler' } })).pending, 'added');
  assert.equal(c.counts.pending, 1);
});

test('a pending pod counts as changed only when its spec or labels change', t, () => {
  const c = new SchedulerCache();
  const pod = makePod('p');
  c.applyPod('ADDED', pod);
  const statusOnly = { ...pod, status: { phase: 'Pending' as const, conditions: [{ type: 'PodScheduled', status: 'False' as const }] } };
  assert.equal(c.applyPod('MODIFIED', statusOnly).pending, undefined);
  const tolerating = { ...pod, spec: { ...pod.spec, tolerations: [{ operator: 'Exists' as const }] } };
  assert.equal(c.applyPod('MODIFIED', tolerating).pending, 'changed');
  const labelled = { ...tolerating, metadata: { ...tolerating.metadata, labels: { a: 'b' } } };
  assert.equal(c.applyPod('MODIFIED', labelled).pending, 'changed');
});

test('an assumed pod counts on its node until the watch shows it bound, or the binding fails', t, () => {
  const c = new SchedulerCache();
  c.applyNode('ADDED', makeNode('n1'));
  const pod = makePod('p', { cpu: '1' });
  c.applyPod('ADDED', pod);
  c.assume(podInfo(pod), 'n1');
  assert.ok(c.isAssumed('default/p'));
  assert.equal(c.nodeInfo('n1')!.requestedMilliCpu, 1000);

  // An older unbound revision arriving meanwhile neither re-queues nor un-counts it.
  assert.deepEqual(c.applyPod('MODIFIED', pod), { freed: false });
  assert.equal(c.nodeInfo('n1')!.requestedMilliCpu, 1000);

  c.applyPod('MODIFIED', withNode(pod, 'n1'));
  assert.ok(!c.isAssumed('default/p'));
  assert.equal(c.nodeInfo('n1')!.requestedMilliCpu, 1000, 'counted once');

  const other = makePod('q', { cpu: '1' });
  c.applyPod('ADDED', other);
  c.assume(podInfo(other), 'n1');
  c.forget('default/q', 'some-other-uid');
  assert.ok(c.isAssumed('default/q'), 'forget ignores a different pod of the same name');
  c.forget('default/q', other.metadata.uid);
  assert.equal(c.nodeInfo('n1')!.requestedMilliCpu, 1000);
  assert.equal(c.placement('default/q'), undefined);
});

test('node changes that matter to filters are reported; heartbeats are not', t, () => {
  const c = new SchedulerCache();
  const node = makeNode('n1');
  assert.equal(c.applyNode('ADDED', node), true);
  const heartbeat = { ...node, status: { ...node.status, conditions: [{ type: 'Ready', status: 'True' as const, lastHeartbeatTime: '2026-01-01T00:00:10Z' }] } };
  assert.equal(c.applyNode('MODIFIED', heartbeat), false);
  assert.equal(c.applyNode('MODIFIED', { ...node, spec: { unschedulable: true } }), true);
  assert.equal(c.applyNode('MODIFIED', { ...node, metadata: { ...node.metadata, labels: { disk: 'ssd' } } }), true);
});

test('the cache knows whether any node has a NoSchedule or NoExecute taint, so the taint filter can be skipped', t, () => {
  const c = new SchedulerCache();
  c.applyNode('ADDED', makeNode('n1'));
  assert.equal(c.hasHardTaints, false, 'no node is tainted');
  const tainted = makeNode('n2', { taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] });
  c.applyNode('ADDED', tainted);
  assert.equal(c.hasHardTaints, true, 'n2 has a NoSchedule taint');
  for (let i = 0; i < 2; i++) {
    const r = schedulePod(podInfo(makePod(`p${i}`)), c, { plugins: defaultPlugins, startIndex: i });
    assert.equal(r.ok && r.nodeName, 'n1', 'the pod avoids the tainted node, wherever filtering starts');
  }
  c.applyNode('MODIFIED', makeNode('n2', { taints: [{ key: 'gpu', value: 'true', effect: 'PreferNoSchedule' }] }));
  assert.equal(c.hasHardTaints, false, 'a PreferNoSchedule taint does not turn pods away');
  c.applyNode('MODIFIED', tainted);
  c.applyNode('DELETED', tainted);
  assert.equal(c.hasHardTaints, false, 'the tainted node is gone');
});

test('pods bound to a node that is gone stay counted and count again when it returns', t, () => {
  const c = new SchedulerCache();
  const node = makeNode('n1');
  c.applyNode('ADDED', node);
  c.applyNode('ADDED', makeNode('n2'));
  c.applyPod('ADDED', withNode(makePod('p', { cpu: '1' }), 'n1'));
  c.applyNode('DELETED', node);
  assert.deepEqual(c.nodes.map((n) => n.name), ['n2']);
  assert.equal(c.nodeInfo('n1'), undefined);
  c.applyNode('ADDED', node);
  assert.equal(c.nodeInfo('n1')!.requestedMilliCpu, 1000);
  assert.deepEqual(c.nodes.map((n) => n.name).sort(), ['n1', 'n2']);
});

test('a fresh list replaces everything but keeps assumed pods whose binding is not seen yet', t, () => {
  const c = new SchedulerCache();
  c.resetNodes([makeNode('n1'), makeNode('n2')]);
  const a = makePod('a', { cpu: '1' });
  const b = makePod('b', { cpu: '1' });
  c.applyPod('ADDED', a);
  c.applyPod('ADDED', b);
  c.assume(podInfo(a), 'n1');
  c.resetNodes([makeNode('n1')]);
  assert.deepEqual(c.nodes.map((n) => n.name), ['n1']);
  const waiting = c.resetPods([a, b, withNode(makePod('c', { cpu: '2' }), 'n1')]);
  assert.deepEqual(waiting, ['default/b']);
  assert.ok(c.isAssumed('default/a'));
  assert.equal(c.nodeInfo('n1')!.requestedMilliCpu, 3000);
});

test("the owner index answers per node and survives nodes leaving and their slots being reused", t, () => {
  const c = new SchedulerCache();
  c.resetNodes([makeNode('n1'), makeNode('n2')]);
  c.applyPod('ADDED', withNode(makePod('a', { ownerUid: 'rs' }), 'n1'));
  c.applyPod('ADDED', withNode(makePod('b', { ownerUid: 'rs' }), 'n1'));
  c.applyPod('ADDED', withNode(makePod('c', { ownerUid: 'rs' }), 'n2'));
  const n1 = c.nodeInfo('n1')!;
  const n2 = c.nodeInfo('n2')!;
  assert.deepEqual([c.ownerPodsOn('rs', n1), c.ownerPodsOn('rs', n2), c.ownerPodsOn('other', n1)], [2, 1, 0]);

  // n2 goes with its pod; a new node takes its slot and must start at zero.
  c.applyPod('DELETED', withNode(makePod('c', { ownerUid: 'rs' }), 'n2'));
  c.applyNode('DELETED', makeNode('n2'));
  c.applyNode('ADDED', makeNode('n3'));
  const n3 = c.nodeInfo('n3')!;
  assert.equal(n3.slot, n2.slot);
  assert.equal(c.ownerPodsOn('rs', n3), 0);
  assert.equal(c.ownerPodsOn('rs', n1), 2);
  c.applyPod('DELETED', withNode(makePod('a', { ownerUid: 'rs' }), 'n1'));
  assert.equal(c.ownerPodsOn('rs', n1), 1);
});
