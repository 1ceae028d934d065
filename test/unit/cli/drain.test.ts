import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '../../../src/api/types.js';
import { planDrain, runDrain } from '../../../src/cli/drain.js';
import type { RestClient } from '../../../src/cli/rest-client.js';

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

test('drain evicts through the Eviction API with the grace period asked for, then waits for the pods to go', quick, async () => {
  let onNode: Pod[] = [pod('web', { owner: 'ReplicaSet' })];
  const evictions: { namespace: string; name: string; grace?: number }[] = [];
  const client = {
    get: async () => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {} }),
    patch: async () => ({}),
    list: async () => ({ items: onNode }),
    evict: async (namespace: string, name: string, opts: { gracePeriodSeconds?: number }) => {
      evictions.push({ namespace, name, grace: opts.gracePeriodSeconds });
      onNode = [];
      return { kind: 'Status', status: 'Success' };
    },
    delete: async () => assert.fail('drain should evict, not delete'),
  } as unknown as RestClient;
  let out = '';
  const io = { out: (s: string) => (out += s), err: () => undefined } as never;
  const code = await runDrain(client, io, 'n1', { ...none, gracePeriodSeconds: 5, timeoutMs: 5_000, pollMs: 10 });
  assert.equal(code, 0, 'drain should succeed');
  assert.deepEqual(evictions, [{ namespace: 'default', name: 'web', grace: 5 }], 'the pod should be evicted once with the given grace period');
  assert.match(out, /evicting pod default\/web\npod\/web evicted\nnode\/n1 drained\n$/, 'drain should report as kubectl does');
});
