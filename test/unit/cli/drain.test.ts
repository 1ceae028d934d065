import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '../../../src/api/types.js';
import { planDrain } from '../../../src/cli/drain.js';

const quick = { timeout: 5_000 };

function pod(name: string, extra: { owner?: string; phase?: string; emptyDir?: boolean; mirror?: boolean } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      ...(extra.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: extra.owner, name: 'o', uid: 'u', controller: true }] } : {}),
      ...(extra.mirror ? { annotations: { 'kubernetes.io/config.mirror': 'x' } } : {}),
    },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'i' }], ...(extra.emptyDir ? { volumes: [{ name: 'scratch', emptyDir: {} }] } : {}) },
    status: { phase: extra.phase ?? 'Running' },
  } as Pod;
}

const none = { force: false, ignoreDaemonSets: false, deleteEmptyDirData: false };
const names = (ps: Pod[]) => ps.map((p) => p.metadata.name);

test('without flags, unmanaged, DaemonSet and emptyDir pods refuse the drain, each named', quick, () => {
  const plan = planDrain([pod('rs', { owner: 'ReplicaSet' }), pod('bare'), pod('ds', { owner: 'DaemonSet' }), pod('cache', { owner: 'ReplicaSet', emptyDir: true })], none);
  assert.deepEqual(plan.errors, [
    'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/ds',
    'cannot delete Pods declare no controller (use --force to override): default/bare',
    'cannot delete Pods with local storage (use --delete-emptydir-data to override): default/cache',
  ]);
  assert.deepEqual(names(plan.evict), ['rs']);
});

test('with the flags they become warnings; DaemonSet and mirror pods are left alone; finished pods go', quick, () => {
  const plan = planDrain(
    [pod('rs', { owner: 'ReplicaSet' }), pod('bare'), pod('ds', { owner: 'DaemonSet' }), pod('static', { mirror: true }), pod('done', { phase: 'Succeeded' }), pod('cache', { owner: 'ReplicaSet', emptyDir: true })],
    { force: true, ignoreDaemonSets: true, deleteEmptyDirData: true },
  );
  assert.deepEqual(plan.errors, []);
  assert.deepEqual(names(plan.evict), ['rs', 'bare', 'done', 'cache']);
  assert.deepEqual(plan.warnings, [
    'ignoring DaemonSet-managed Pods: default/ds',
    'deleting Pods that declare no controller: default/bare',
    'deleting Pods with local storage: default/cache',
  ]);
});
