import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { failureMessage, numFeasibleNodesToFind, schedulePod, scoreNodes } from '../../../src/scheduler/algorithm.js';
import { nodeInfoOf } from '../../../src/scheduler/node-info.js';
import { podInfo } from '../../../src/scheduler/pod-info.js';
import { defaultPlugins, snapshotOf } from '../../../src/scheduler/plugins.js';
import { makeNode, makePod } from './fixtures.js';

const t = { timeout: 5_000 };


describe('failure message', () => {
  test("kube-scheduler's shape: reasons counted and sorted as strings, ending in a full stop", t, () => {
    const counts = new Map([
      ['node(s) were unschedulable', 1],
      ['Insufficient cpu', 2],
    ]);
    assert.equal(failureMessage(3, counts), '0/3 nodes are available: 1 node(s) were unschedulable, 2 Insufficient cpu.');
  });

  test('sorting is by the whole string, count first, as Go sort.Strings does', t, () => {
    const counts = new Map([
      ['Insufficient memory', 10],
      ['Insufficient cpu', 2],
      ["node(s) didn't match Pod's node affinity/selector", 2],
    ]);
    assert.equal(failureMessage(14, counts), "0/14 nodes are available: 10 Insufficient memory, 2 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.");
  });

  test('no nodes at all', t, () => {
    assert.equal(failureMessage(0, new Map()), 'no nodes available to schedule pods');
  });
});

describe('schedulePod', () => {
  test('every failing node is counted once per reason; a node short of cpu and memory counts for both', t, () => {
    const nodes = [
      nodeInfoOf(makeNode('cordoned', { unschedulable: true })),
      nodeInfoOf(makeNode('small', { cpu: '1', memory: '1Gi' })),
      nodeInfoOf(makeNode('cpu-only', { cpu: '1', memory: '64Gi' })),
      nodeInfoOf(makeNode('tainted', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] })),
      nodeInfoOf(makeNode('down', { ready: 'Unknown' })),
    ];
    const r = schedulePod(podInfo(makePod('big', { cpu: '2', memory: '16Gi' })), snapshotOf(nodes), { plugins: defaultPlugins });
    assert.equal(r.ok, false);
    assert.equal(
      !r.ok && r.message,
      '0/5 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint {dedicated: db}, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) were unschedulable, 2 Insufficient cpu.',
    );
  });

  test('no nodes', t, () => {
    const r = schedulePod(podInfo(makePod('p')), snapshotOf([]), { plugins: defaultPlugins });
    assert.deepEqual(r, { ok: false, message: 'no nodes available to schedule pods', processed: 0 });
  });

  test('the only node that fits is chosen', t, () => {
    const nodes = [nodeInfoOf(makeNode('a', { cpu: '1' })), nodeInfoOf(makeNode('b', { cpu: '8' })), nodeInfoOf(makeNode('c', { unschedulable: true }))];
    const r = schedulePod(podInfo(makePod('p', { cpu: '2' })), snapshotOf(nodes), { plugins: defaultPlugins });
    assert.deepEqual(r, { ok: true, nodeName: 'b', processed: 3, feasible: 1 });
  });

  test('the emptier node wins', t, () => {
    const busy = nodeInfoOf(makeNode('busy'), [podInfo(makePod('x', { cpu: '3', nodeName: 'busy' }))]);
    const idle = nodeInfoOf(makeNode('idle'));
    const r = schedulePod(podInfo(makePod('p', { cpu: '100m' })), snapshotOf([busy, idle]), { plugins: defaultPlugins });
    assert.equal(r.ok && r.nodeName, 'idle');
  });

  test('a preferred node outweighs a slightly emptier one', t, () => {
    const preferred = nodeInfoOf(makeNode('ssd', { labels: { disk: 'ssd' } }), [podInfo(makePod('x', { cpu: '1', nodeName: 'ssd' }))]);
    const plain = nodeInfoOf(makeNode('hdd'));
    const pod = makePod('p', {
      spec: { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } }] } } },
    });
    const r = schedulePod(podInfo(pod), snapshotOf([plain, preferred]), { plugins: defaultPlugins });
    assert.equal(r.ok && r.nodeName, 'ssd');
  });

  test('ties are broken by the pod, deterministically, and spread different pods', t, () => {
    const nodes = ['a', 'b', 'c', 'd'].map((n) => nodeInfoOf(makeNode(n)));
    const chosen = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const pod = podInfo(makePod(`p-${i}`));
      const first = schedulePod(pod, snapshotOf(nodes), { plugins: defaultPlugins });
      const again = schedulePod(pod, snapshotOf(nodes), { plugins: defaultPlugins });
      assert.deepEqual(first, again);
      if (first.ok) chosen.add(first.nodeName);
    }
    assert.equal(chosen.size, 4, `identical nodes should all get pods, got ${[...chosen]}`);
  });

  test("pods of one owner spread: placing them one by one fills every node before doubling up", t, () => {
    const nodes = ['a', 'b', 'c'].map((n) => nodeInfoOf(makeNode(n)));
    for (let i = 0; i < 6; i++) {
      const pod = podInfo(makePod(`web-${i}`, { ownerUid: 'rs-web', cpu: '10m' }));
      const r = schedulePod(pod, snapshotOf(nodes), { plugins: defaultPlugins });
      assert.ok(r.ok);
      nodes.find((n) => n.name === r.nodeName)!.addPod({ ...pod, nodeName: r.nodeName });
    }
    assert.deepEqual(
      nodes.map((n) => n.ownerCounts.get('rs-web')),
      [2, 2, 2],
    );
  });

  test('large clusters: filtering stops once enough nodes are feasible, starting where asked', t, () => {
    const nodes = Array.from({ length: 1000 }, (_, i) => nodeInfoOf(makeNode(`n${i}`)));
    const r = schedulePod(podInfo(makePod('p')), snapshotOf(nodes), { plugins: defaultPlugins, startIndex: 990 });
    assert.equal(r.ok && r.feasible, 420);
    assert.equal(r.processed, 420);
    const all = schedulePod(podInfo(makePod('p')), snapshotOf(nodes), { plugins: defaultPlugins, percentageOfNodesToScore: 100 });
    assert.equal(all.ok && all.feasible, 1000);
  });

  test('when nothing fits every node is checked, whatever the share', t, () => {
    const nodes = Array.from({ length: 300 }, (_, i) => nodeInfoOf(makeNode(`n${i}`, { cpu: '1' })));
    const r = schedulePod(podInfo(makePod('p', { cpu: '2' })), snapshotOf(nodes), { plugins: defaultPlugins, startIndex: 7 });
    assert.deepEqual(r, { ok: false, message: '0/300 nodes are available: 300 Insufficient cpu.', processed: 300 });
  });

  test('scores are weighted sums, leaving out plugins that rate every node alike for this pod', t, () => {
    const nodes = [nodeInfoOf(makeNode('a')), nodeInfoOf(makeNode('b', { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] }))];
    const owned = podInfo(makePod('p', { cpu: '1', memory: '2Gi', ownerUid: 'rs' }));
    // Least allocated (75 + 75)/2 = 75 ×1, taints 100 or 0 ×3, spread 100 ×2; no preferred affinity, so it is skipped.
    assert.deepEqual(scoreNodes(owned, nodes, snapshotOf(nodes), defaultPlugins), [75 + 300 + 200, 75 + 0 + 200]);
    const orphan = podInfo(makePod('p', { cpu: '1', memory: '2Gi' }));
    assert.deepEqual(scoreNodes(orphan, nodes, snapshotOf(nodes), defaultPlugins), [75 + 300, 75]);
    const untainted = [nodeInfoOf(makeNode('a')), nodeInfoOf(makeNode('b'))];
    assert.deepEqual(scoreNodes(orphan, untainted, snapshotOf(untainted), defaultPlugins), [75, 75]);
  });
});

test('feasible nodes to find follows kube-scheduler', t, () => {
  assert.equal(numFeasibleNodesToFind(50), 50);
  assert.equal(numFeasibleNodesToFind(99), 99);
  assert.equal(numFeasibleNodesToFind(100), 100);
  assert.equal(numFeasibleNodesToFind(1000), 420);
  assert.equal(numFeasibleNodesToFind(5000), 500);
  assert.equal(numFeasibleNodesToFind(10000), 500);
  assert.equal(numFeasibleNodesToFind(1000, 10), 100);
  assert.equal(numFeasibleNodesToFind(1000, 100), 1000);
});
