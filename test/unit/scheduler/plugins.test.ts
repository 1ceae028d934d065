import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NodeSelectorTerm, Pod, Toleration } from '../../../src/api/types.js';
import { nodeInfoOf, type NodeInfo } from '../../../src/scheduler/node-info.js';
import { podInfo } from '../../../src/scheduler/pod-info.js';
import {
  defaultNormalize,
  nodeAffinity,
  nodePorts,
  nodeReady,
  nodeResourcesFit,
  nodeUnschedulable,
  ownerSpread,
  taintToleration,
  type FilterResult,
  type Plugin,
  snapshotOf,
} from '../../../src/scheduler/plugins.js';
import { makeNode, makePod } from './fixtures.js';

const t = { timeout: 5_000 };


function runFilter(plugin: Plugin, pod: Pod, node: NodeInfo): FilterResult {
  return plugin.filter!(podInfo(pod), node, snapshotOf([node]));
}

const ok: FilterResult = { ok: true };
const no = (...reasons: string[]): FilterResult => ({ ok: false, reasons });

interface FilterCase {
  name: string;
  pod: Pod;
  node: NodeInfo;
  want: FilterResult;
}

function table(plugin: Plugin, cases: FilterCase[]): void {
  describe(plugin.name, () => {
    for (const c of cases) {
      test(c.name, t, () => assert.deepEqual(runFilter(plugin, c.pod, c.node), c.want));
    }
  });
}

const tolerate = (...tolerations: Toleration[]) => ({ spec: { tolerations } });

table(nodeUnschedulable, [
  { name: 'schedulable node', pod: makePod('p'), node: nodeInfoOf(makeNode('n')), want: ok },
  { name: 'cordoned node', pod: makePod('p'), node: nodeInfoOf(makeNode('n', { unschedulable: true })), want: no('node(s) were unschedulable') },
  {
    name: 'cordoned node, pod tolerates node.kubernetes.io/unschedulable',
    pod: makePod('p', tolerate({ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' })),
    node: nodeInfoOf(makeNode('n', { unschedulable: true })),
    want: ok,
  },
]);

table(nodeReady, [
  { name: 'Ready=True', pod: makePod('p'), node: nodeInfoOf(makeNode('n')), want: ok },
  { name: 'Ready=False', pod: makePod('p'), node: nodeInfoOf(makeNode('n', { ready: 'False' })), want: no('node(s) had untolerated taint {node.kubernetes.io/not-ready: }') },
  { name: 'Ready=Unknown', pod: makePod('p'), node: nodeInfoOf(makeNode('n', { ready: 'Unknown' })), want: no('node(s) had untolerated taint {node.kubernetes.io/unreachable: }') },
  { name: 'no Ready condition yet', pod: makePod('p'), node: nodeInfoOf(makeNode('n', { ready: undefined })), want: no('node(s) had untolerated taint {node.kubernetes.io/unreachable: }') },
  {
    name: 'NoExecute tolerations (added to every pod) do not cover NoSchedule',
    pod: makePod('p', tolerate({ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 })),
    node: nodeInfoOf(makeNode('n', { ready: 'False' })),
    want: no('node(s) had untolerated taint {node.kubernetes.io/not-ready: }'),
  },
  { name: 'a tolerate-everything pod may go to a not-ready node', pod: makePod('p', tolerate({ operator: 'Exists' })), node: nodeInfoOf(makeNode('n', { ready: 'False' })), want: ok },
]);

const gpuTaint = { key: 'gpu', value: 'true', effect: 'NoSchedule' as const };
table(taintToleration, [
  { name: 'no taints', pod: makePod('p'), node: nodeInfoOf(makeNode('n')), want: ok },
  { name: 'untolerated NoSchedule', pod: makePod('p'), node: nodeInfoOf(makeNode('n', { taints: [gpuTaint] })), want: no('node(s) had untolerated taint {gpu: true}') },
  {
    name: 'untolerated NoExecute',
    pod: makePod('p'),
    node: nodeInfoOf(makeNode('n', { taints: [{ key: 'dedicated', effect: 'NoExecute' }] })),
    want: no('node(s) had untolerated taint {dedicated: }'),
  },
  { name: 'PreferNoSchedule does not filter', pod: makePod('p'), node: nodeInfoOf(makeNode('n', { taints: [{ key: 'soft', effect: 'PreferNoSchedule' }] })), want: ok },
  { name: 'Equal toleration with matching value', pod: makePod('p', tolerate({ key: 'gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' })), node: nodeInfoOf(makeNode('n', { taints: [gpuTaint] })), want: ok },
  { name: 'operator defaults to Equal', pod: makePod('p', tolerate({ key: 'gpu', value: 'true' })), node: nodeInfoOf(makeNode('n', { taints: [gpuTaint] })), want: ok },
  {
    name: 'Equal toleration with another value',
    pod: makePod('p', tolerate({ key: 'gpu', operator: 'Equal', value: 'false', effect: 'NoSchedule' })),
    node: nodeInfoOf(makeNode('n', { taints: [gpuTaint] })),
    want: no('node(s) had untolerated taint {gpu: true}'),
  },
  { name: 'Exists toleration ignores the value', pod: makePod('p', tolerate({ key: 'gpu', operator: 'Exists' })), node: nodeInfoOf(makeNode('n', { taints: [gpuTaint] })), want: ok },
  {
    name: 'toleration for another effect',
    pod: makePod('p', tolerate({ key: 'gpu', operator: 'Exists', effect: 'NoExecute' })),
    node: nodeInfoOf(makeNode('n', { taints: [gpuTaint] })),
    want: no('node(s) had untolerated taint {gpu: true}'),
  },
  {
    name: 'the first untolerated taint is reported',
    pod: makePod('p', tolerate({ key: 'gpu', operator: 'Exists' })),
    node: nodeInfoOf(makeNode('n', { taints: [gpuTaint, { key: 'zone', value: 'edge', effect: 'NoSchedule' }, { key: 'x', effect: 'NoExecute' }] })),
    want: no('node(s) had untolerated taint {zone: edge}'),
  },
]);

const inZone = (op: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist' | 'Gt' | 'Lt', key: string, values?: string[]): NodeSelectorTerm => ({
  matchExpressions: [{ key, operator: op, ...(values ? { values } : {}) }],
});
const required = (...terms: NodeSelectorTerm[]) => ({ spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } } });
const edge = nodeInfoOf(makeNode('edge-1', { labels: { zone: 'edge', cores: '8' } }));
const affinityMismatch = no("node(s) didn't match Pod's node affinity/selector");

table(nodeAffinity, [
  { name: 'no constraints', pod: makePod('p'), node: edge, want: ok },
  { name: 'nodeSelector matches', pod: makePod('p', { spec: { nodeSelector: { zone: 'edge' } } }), node: edge, want: ok },
  { name: 'nodeSelector value differs', pod: makePod('p', { spec: { nodeSelector: { zone: 'core' } } }), node: edge, want: affinityMismatch },
  { name: 'nodeSelector label missing', pod: makePod('p', { spec: { nodeSelector: { disk: 'ssd' } } }), node: edge, want: affinityMismatch },
  { name: 'In', pod: makePod('p', required(inZone('In', 'zone', ['edge', 'core']))), node: edge, want: ok },
  { name: 'In, no match', pod: makePod('p', required(inZone('In', 'zone', ['core']))), node: edge, want: affinityMismatch },
  { name: 'NotIn', pod: makePod('p', required(inZone('NotIn', 'zone', ['core']))), node: edge, want: ok },
  { name: 'NotIn, excluded', pod: makePod('p', required(inZone('NotIn', 'zone', ['edge']))), node: edge, want: affinityMismatch },
  { name: 'Exists', pod: makePod('p', required(inZone('Exists', 'zone'))), node: edge, want: ok },
  { name: 'DoesNotExist', pod: makePod('p', required(inZone('DoesNotExist', 'zone'))), node: edge, want: affinityMismatch },
  { name: 'Gt', pod: makePod('p', required(inZone('Gt', 'cores', ['4']))), node: edge, want: ok },
  { name: 'Lt', pod: makePod('p', required(inZone('Lt', 'cores', ['4']))), node: edge, want: affinityMismatch },
  { name: 'terms are ORed', pod: makePod('p', required(inZone('In', 'zone', ['core']), inZone('Exists', 'cores'))), node: edge, want: ok },
  {
    name: 'expressions within a term are ANDed',
    pod: makePod('p', required({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['edge'] }, { key: 'cores', operator: 'Gt', values: ['16'] }] })),
    node: edge,
    want: affinityMismatch,
  },
  { name: 'matchFields on metadata.name', pod: makePod('p', required({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['edge-1'] }] })), node: edge, want: ok },
  { name: 'an empty term matches nothing', pod: makePod('p', required({})), node: edge, want: affinityMismatch },
  {
    name: 'nodeSelector and affinity must both hold',
    pod: makePod('p', { spec: { nodeSelector: { zone: 'edge' }, affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [inZone('In', 'zone', ['core'])] } } } } }),
    node: edge,
    want: affinityMismatch,
  },
]);

const portsTaken = no("node(s) didn't have free ports for the requested pod ports");
const withPort = (hostPort: number, hostIP?: string, protocol: 'TCP' | 'UDP' = 'TCP') =>
  makePod(`p${hostPort}${hostIP ?? ''}${protocol}`, { containers: [{ name: 'c', ports: [{ containerPort: 80, hostPort, protocol, ...(hostIP ? { hostIP } : {}) }] }] });
const onNode = (pod: Pod) => podInfo({ ...pod, spec: { ...pod.spec, nodeName: 'n' } });

table(nodePorts, [
  { name: 'no host ports', pod: makePod('p'), node: nodeInfoOf(makeNode('n'), [onNode(withPort(8080))]), want: ok },
  { name: 'free port', pod: withPort(8081), node: nodeInfoOf(makeNode('n'), [onNode(withPort(8080))]), want: ok },
  { name: 'same port and protocol', pod: withPort(8080), node: nodeInfoOf(makeNode('n'), [onNode(withPort(8080))]), want: portsTaken },
  { name: 'same port, other protocol', pod: withPort(8080, undefined, 'UDP'), node: nodeInfoOf(makeNode('n'), [onNode(withPort(8080))]), want: ok },
  { name: 'distinct addresses', pod: withPort(8080, '10.0.0.2'), node: nodeInfoOf(makeNode('n'), [onNode(withPort(8080, '10.0.0.1'))]), want: ok },
  { name: 'wanted on all addresses, held on one', pod: withPort(8080), node: nodeInfoOf(makeNode('n'), [onNode(withPort(8080, '10.0.0.1'))]), want: portsTaken },
  { name: 'wanted on one address, held on all', pod: withPort(8080, '10.0.0.1'), node: nodeInfoOf(makeNode('n'), [onNode(withPort(8080))]), want: portsTaken },
  {
    name: 'a finished pod holds no port',
    pod: withPort(8080),
    node: nodeInfoOf(makeNode('n'), [podInfo({ ...withPort(8080), spec: { ...withPort(8080).spec, nodeName: 'n' }, status: { phase: 'Succeeded' } })]),
    want: ok,
  },
]);

const bound = (name: string, input: Parameters<typeof makePod>[1]) => podInfo(makePod(name, { ...input, nodeName: 'n' }));

table(nodeResourcesFit, [
  { name: 'fits an empty node', pod: makePod('p', { cpu: '1', memory: '1Gi' }), node: nodeInfoOf(makeNode('n', { cpu: '2', memory: '2Gi' })), want: ok },
  { name: 'exactly fills the node', pod: makePod('p', { cpu: '2', memory: '2Gi' }), node: nodeInfoOf(makeNode('n', { cpu: '2', memory: '2Gi' })), want: ok },
  { name: 'too much cpu', pod: makePod('p', { cpu: '2001m' }), node: nodeInfoOf(makeNode('n', { cpu: '2' })), want: no('Insufficient cpu') },
  { name: 'too much memory', pod: makePod('p', { memory: '3Gi' }), node: nodeInfoOf(makeNode('n', { memory: '2Gi' })), want: no('Insufficient memory') },
  { name: 'both, reported together', pod: makePod('p', { cpu: '3', memory: '3Gi' }), node: nodeInfoOf(makeNode('n', { cpu: '2', memory: '2Gi' })), want: no('Insufficient cpu', 'Insufficient memory') },
  {
    name: 'counts the requests of pods already there',
    pod: makePod('p', { cpu: '600m' }),
    node: nodeInfoOf(makeNode('n', { cpu: '1' }), [bound('a', { cpu: '500m' })]),
    want: no('Insufficient cpu'),
  },
  {
    name: 'finished pods free their requests',
    pod: makePod('p', { cpu: '600m' }),
    node: nodeInfoOf(makeNode('n', { cpu: '1' }), [bound('a', { cpu: '500m', phase: 'Succeeded' })]),
    want: ok,
  },
  { name: 'pod count limit', pod: makePod('p'), node: nodeInfoOf(makeNode('n', { pods: '2' }), [bound('a', {}), bound('b', {})]), want: no('Too many pods') },
  {
    name: 'a pod requesting nothing fits an overcommitted node',
    pod: makePod('p'),
    node: nodeInfoOf(makeNode('n', { cpu: '1' }), [bound('a', { cpu: '2' })]),
    want: ok,
  },
  {
    name: 'init containers: the largest init container counts when bigger than the app containers',
    pod: makePod('p', {
      initContainers: [{ name: 'init', resources: { requests: { cpu: '1500m' } } }],
      containers: [{ name: 'a', resources: { requests: { cpu: '500m' } } }, { name: 'b', resources: { requests: { cpu: '500m' } } }],
    }),
    node: nodeInfoOf(makeNode('n', { cpu: '1200m' })),
    want: no('Insufficient cpu'),
  },
  {
    name: 'init containers: app containers together count when bigger',
    pod: makePod('p', {
      initContainers: [{ name: 'init', resources: { requests: { cpu: '200m' } } }],
      containers: [{ name: 'a', resources: { requests: { cpu: '500m' } } }, { name: 'b', resources: { requests: { cpu: '500m' } } }],
    }),
    node: nodeInfoOf(makeNode('n', { cpu: '1' })),
    want: ok,
  },
]);

function scores(plugin: Plugin, pod: Pod, nodes: NodeInfo[]): number[] {
  const info = podInfo(pod);
  const snap = snapshotOf(nodes);
  const raw = nodes.map((n) => plugin.score!(info, n, snap));
  plugin.normalize?.(raw);
  return raw;
}

describe('scores', () => {
  test('least allocated prefers the emptier node and counts unset requests as 100m / 200Mi', t, () => {
    const empty = nodeInfoOf(makeNode('empty', { cpu: '4', memory: '8Gi' }));
    const half = nodeInfoOf(makeNode('half', { cpu: '4', memory: '8Gi' }), [bound('a', { cpu: '2', memory: '4Gi' })]);
    const [e, h] = scores(nodeResourcesFit, makePod('p', { cpu: '1', memory: '1Gi' }), [empty, half]);
    // empty: cpu (4-1)/4 = 75, memory (8-1)/8 = 87 → 81; half: cpu (4-3)/4 = 25, memory (8-5)/8 = 37 → 31
    assert.equal(e, 81);
    assert.equal(h, 31);
    const [bestEffort] = scores(nodeResourcesFit, makePod('p'), [nodeInfoOf(makeNode('n', { cpu: '1', memory: '1Gi' }))]);
    // cpu (1000-100)/1000 = 90, memory (1024-200)/1024 = 80 → 85
    assert.equal(bestEffort, 85);
  });

  test('least allocated gives 0 to a node the pod would overcommit', t, () => {
    const [s] = scores(nodeResourcesFit, makePod('p', { cpu: '8', memory: '16Gi' }), [nodeInfoOf(makeNode('n', { cpu: '4', memory: '8Gi' }))]);
    assert.equal(s, 0);
  });

  test('preferred node affinity: weights of matching terms, scaled to the best node', t, () => {
    const pod = makePod('p', {
      spec: {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 80, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['edge'] }] } },
              { weight: 20, preference: { matchExpressions: [{ key: 'disk', operator: 'Exists' }] } },
            ],
          },
        },
      },
    });
    const nodes = [
      nodeInfoOf(makeNode('both', { labels: { zone: 'edge', disk: 'ssd' } })),
      nodeInfoOf(makeNode('zone', { labels: { zone: 'edge' } })),
      nodeInfoOf(makeNode('disk', { labels: { disk: 'hdd' } })),
      nodeInfoOf(makeNode('none')),
    ];
    assert.deepEqual(scores(nodeAffinity, pod, nodes), [100, 80, 20, 0]);
    assert.deepEqual(scores(nodeAffinity, makePod('q'), nodes), [0, 0, 0, 0]);
  });

  test('taint toleration: fewer untolerated PreferNoSchedule taints score higher', t, () => {
    const soft = (key: string) => ({ key, effect: 'PreferNoSchedule' as const });
    const nodes = [nodeInfoOf(makeNode('clean')), nodeInfoOf(makeNode('one', { taints: [soft('a')] })), nodeInfoOf(makeNode('two', { taints: [soft('a'), soft('b')] }))];
    assert.deepEqual(scores(taintToleration, makePod('p'), nodes), [100, 50, 0]);
    const tolerant = makePod('p', { spec: { tolerations: [{ key: 'a', operator: 'Exists', effect: 'PreferNoSchedule' }] } });
    assert.deepEqual(scores(taintToleration, tolerant, nodes), [100, 100, 0]);
    // A toleration for NoSchedule only does not soften PreferNoSchedule.
    const hardOnly = makePod('p', { spec: { tolerations: [{ key: 'a', operator: 'Exists', effect: 'NoSchedule' }] } });
    assert.deepEqual(scores(taintToleration, hardOnly, nodes), [100, 50, 0]);
  });

  test('owner spread: fewer pods of the same controller is better', t, () => {
    const mine = (name: string) => bound(name, { ownerUid: 'rs-1' });
    const other = (name: string) => bound(name, { ownerUid: 'rs-2' });
    const nodes = [
      nodeInfoOf(makeNode('a'), [mine('m1'), mine('m2')]),
      nodeInfoOf(makeNode('b'), [mine('m3'), other('o1'), other('o2')]),
      nodeInfoOf(makeNode('c'), [other('o3')]),
    ];
    assert.deepEqual(scores(ownerSpread, makePod('p', { ownerUid: 'rs-1' }), nodes), [0, 50, 100]);
    assert.deepEqual(scores(ownerSpread, makePod('p'), nodes), [100, 100, 100], 'a pod without an owner is indifferent');
  });

  test('default normalize', t, () => {
    const a = [0, 5, 10];
    defaultNormalize(a, false);
    assert.deepEqual(a, [0, 50, 100]);
    const b = [0, 5, 10];
    defaultNormalize(b, true);
    assert.deepEqual(b, [100, 50, 0]);
    const c = [0, 0];
    defaultNormalize(c, true);
    assert.deepEqual(c, [100, 100]);
  });
});
