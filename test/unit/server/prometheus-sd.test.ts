import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Node } from '../../../src/api/types.js';
import { labelName, nodeTarget, prometheusTargets } from '../../../src/server/prometheus-sd.js';
import { matchRoute } from '../../../src/server/routes.js';

// Prometheus HTTP discovery from Node objects, and the metrics.k8s.io paths `ctl top` reads.

const node = (name: string, extra: Partial<Node['metadata']> = {}, status: Node['status'] = {}): Node =>
  ({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': 'shed' }, ...extra }, status }) as Node;

test('each node with a metrics endpoint is a target with its name and labels; the control plane is one too', () => {
  const groups = prometheusTargets(
    [
      node('pi-1', { annotations: { 'skiff.io/metrics-endpoint': '10.0.0.5:10249' } }),
      node('pi-2', {}, { addresses: [{ type: 'InternalIP', address: 'fd00::2' }], daemonEndpoints: { kubeletEndpoint: { Port: 10249 } } }),
      node('never-reported'),
    ],
    { target: '10.0.0.1:10251' },
  );
  assert.deepEqual(groups[0], { targets: ['10.0.0.1:10251'], labels: { job: 'skiff-control-plane', __meta_skiff_role: 'control-plane' } }, 'the control plane first');
  assert.deepEqual(groups[1].targets, ['10.0.0.5:10249'], 'the endpoint the agent reported');
  assert.equal(groups[1].labels.node, 'pi-1', 'the node name as a target label');
  assert.equal(groups[1].labels.job, 'skiff-nodes', 'agents are their own job');
  assert.equal(groups[1].labels.__meta_kubernetes_node_label_topology_kubernetes_io_zone, 'shed', "labels under kubernetes_sd's meta names");
  assert.equal(groups[1].labels.__meta_kubernetes_node_labelpresent_topology_kubernetes_io_zone, 'true', 'and their presence');
  assert.deepEqual(groups[2].targets, ['[fd00::2]:10249'], 'else InternalIP and the kubelet endpoint port, IPv6 in brackets');
  assert.equal(groups.length, 3, 'a node that never reported an endpoint is left out');
  assert.equal(nodeTarget(node('x')), undefined, 'no endpoint, no target');
  assert.equal(labelName('app.kubernetes.io/name'), 'app_kubernetes_io_name', 'characters outside [a-zA-Z0-9_] become _');
});

test('metrics.k8s.io paths', () => {
  assert.deepEqual(matchRoute('/apis/metrics.k8s.io/v1beta1/nodes'), { type: 'resourceMetrics', kind: 'nodes' }, 'every node');
  assert.deepEqual(matchRoute('/apis/metrics.k8s.io/v1beta1/nodes/pi-1'), { type: 'resourceMetrics', kind: 'nodes', name: 'pi-1' }, 'one node');
  assert.deepEqual(matchRoute('/apis/metrics.k8s.io/v1beta1/pods'), { type: 'resourceMetrics', kind: 'pods' }, 'pods of every namespace');
  assert.deepEqual(matchRoute('/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web'), { type: 'resourceMetrics', kind: 'pods', namespace: 'default', name: 'web' }, 'one pod');
  assert.equal(matchRoute('/apis/metrics.k8s.io/v1/nodes'), undefined, 'only v1beta1');
  assert.equal(matchRoute('/apis/metrics.k8s.io/v1beta1/nodes/a/b'), undefined, 'nothing below one node');
});
