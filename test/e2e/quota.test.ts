import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resourceByKind } from '../../src/api/resources.js';
import type { KObject } from '../../src/api/types.js';
import { sleep, TestCluster, type CtlResult } from './harness.js';

// ResourceQuota and LimitRange admission end to end: refusals come back through `ctl apply` in
// Kubernetes' words and leave the store as it was; LimitRange defaults fill pods; the quota
// controller keeps status.used; concurrent creates never overrun a quota. No nodes join, so
// pods stay Pending, which still counts against a quota.

// Generous: each step runs a `ctl` process, which is slow on a busy machine.
const quick = { timeout: 180_000 };

function ok(r: CtlResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

const pod = (name: string, resources?: Record<string, Record<string, string>>) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
  - name: nginx-container
    image: docker.io/library/busybox:1.36
${resources ? `    resources: ${JSON.stringify(resources)}\n` : ''}`;

describe('quota and limit range admission through ctl', { timeout: 900_000 }, () => {
  let cluster: TestCluster;
  let dir: string;

  before(async () => {
    cluster = await TestCluster.start();
    dir = cluster.tempDir('quota-manifests');
  }, { timeout: 120_000 });

  after(async () => {
    await cluster?.stop();
  }, { timeout: 60_000 });

  async function apply(ns: string, name: string, yaml: string): Promise<CtlResult> {
    const file = join(dir, `${ns}-${name}.yaml`);
    writeFileSync(file, yaml);
    return cluster.ctl(['apply', '-n', ns, '-f', file]);
  }

  async function namespace(ns: string): Promise<void> {
    ok(await apply(ns, 'ns', `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`), `create namespace ${ns}`);
  }

  async function podNames(ns: string): Promise<string[]> {
    const r = await cluster.ctl(['get', 'pods', '-n', ns, '-o', 'name']);
    ok(r, 'get pods');
    return r.stdout.split('\n').filter(Boolean).sort();
  }

  async function quotaJson(ns: string, name: string): Promise<any> {
    const r = await cluster.ctl(['get', 'quota', name, '-n', ns, '-o', 'json']);
    ok(r, 'get quota');
    return JSON.parse(r.stdout);
  }

  async function waitUsed(ns: string, name: string, want: Record<string, string>): Promise<any> {
    const deadline = Date.now() + 15_000;
    let last: any;
    while (Date.now() < deadline) {
      last = await quotaJson(ns, name);
      if (Object.entries(want).every(([k, v]) => last.status?.used?.[k] === v)) return last;
      await sleep(200);
    }
    assert.fail(`quota ${name} never showed used ${JSON.stringify(want)}; last status ${JSON.stringify(last?.status)}`);
  }

  test('a pod missing the cpu a quota needs is refused with every missing name, and nothing is stored', quick, async () => {
    await namespace('q-missing');
    ok(await apply('q-missing', 'quota', `apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: mem-cpu-demo\nspec:\n  hard: {requests.cpu: "1", requests.memory: 1Gi, limits.cpu: "2", limits.memory: 2Gi}\n`), 'apply quota');
    await waitUsed('q-missing', 'mem-cpu-demo', { 'requests.cpu': '0', 'limits.memory': '0' });
    const before = await quotaJson('q-missing', 'mem-cpu-demo');
    const r = await apply('q-missing', 'x', pod('x', { requests: { memory: '128Mi' }, limits: { memory: '256Mi' } }));
    assert.equal(r.code, 1, `apply exits 1: ${r.stdout} ${r.stderr}`);
    assert.match(r.stderr, /pods "x" is forbidden: failed quota: mem-cpu-demo: must specify limits\.cpu for: nginx-container; requests\.cpu for: nginx-container/, 'the Kubernetes message');
    assert.deepEqual(await podNames('q-missing'), [], 'no pod was stored');
    const afterRefusal = await quotaJson('q-missing', 'mem-cpu-demo');
    assert.deepEqual(afterRefusal.status, before.status, 'the quota usage is unchanged');
    assert.equal(afterRefusal.metadata.resourceVersion, before.metadata.resourceVersion, 'the quota was not written');

    ok(await apply('q-missing', 'y', pod('y', { requests: { cpu: '500m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } })), 'a pod stating everything');
    await waitUsed('q-missing', 'mem-cpu-demo', { 'requests.cpu': '500m', 'requests.memory': '128Mi', 'limits.cpu': '1', 'limits.memory': '256Mi' });
    const table = await cluster.ctl(['get', 'quota', '-n', 'q-missing']);
    ok(table, 'get quota');
    assert.match(table.stdout, /^NAME\s+AGE\s+REQUEST\s+LIMIT/, 'kubectl columns');
    assert.match(table.stdout, /mem-cpu-demo\s+\S+\s+requests\.cpu: 500m\/1, requests\.memory: 128Mi\/1Gi\s+limits\.cpu: 1\/2, limits\.memory: 256Mi\/2Gi/, 'used/hard per resource');
  });

  test('a pod over the quota is refused with requested, used and limited; deleting a pod frees its share', quick, async () => {
    await namespace('q-over');
    ok(await apply('q-over', 'quota', `apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: q\nspec:\n  hard: {requests.cpu: "2", pods: "5"}\n`), 'apply quota');
    ok(await apply('q-over', 'one', pod('one', { requests: { cpu: '1' } })), 'the first pod fits');
    await waitUsed('q-over', 'q', { 'requests.cpu': '1', pods: '1' });
    const r = await apply('q-over', 'x', pod('x', { requests: { cpu: '2' } }));
    assert.equal(r.code, 1, `apply exits 1: ${r.stderr}`);
    assert.match(r.stderr, /pods "x" is forbidden: exceeded quota: q, requested: requests\.cpu=2, used: requests\.cpu=1, limited: requests\.cpu=2/, 'the Kubernetes message');
    assert.deepEqual(await podNames('q-over'), ['pod/one'], 'only the first pod is stored');
    ok(await cluster.ctl(['delete', 'pod', 'one', '-n', 'q-over']), 'delete the first pod');
    await waitUsed('q-over', 'q', { 'requests.cpu': '0', pods: '0' });
    ok(await apply('q-over', 'x', pod('x', { requests: { cpu: '2' } })), 'the big pod fits once the first is gone');
  });

  test('a quota with a PriorityClass scope selector counts and limits only the pods of that class', quick, async () => {
    await namespace('q-priority');
    const quota = `apiVersion: v1
kind: ResourceQuota
metadata:
  name: pods-high
spec:
  hard: {pods: "1"}
  scopeSelector:
    matchExpressions:
    - {operator: In, scopeName: PriorityClass, values: [high]}
`;
    ok(await apply('q-priority', 'quota', quota), 'apply the scoped quota');
    const classed = (name: string) => pod(name).replace('spec:\n', 'spec:\n  priorityClassName: high\n');
    ok(await apply('q-priority', 'one', classed('one')), 'the first high-priority pod fits');
    ok(await apply('q-priority', 'plain', pod('plain')), 'a pod of no class is outside the quota');
    await waitUsed('q-priority', 'pods-high', { pods: '1' });
    const r = await apply('q-priority', 'two', classed('two'));
    assert.equal(r.code, 1, `apply exits 1: ${r.stdout} ${r.stderr}`);
    assert.match(r.stderr, /pods "two" is forbidden: exceeded quota: pods-high, requested: pods=1, used: pods=1, limited: pods=1/, 'the Kubernetes message');
    assert.deepEqual(await podNames('q-priority'), ['pod/one', 'pod/plain'], 'the refused pod was not stored');
    const bad = await apply('q-priority', 'bad', quota.replace('name: pods-high', 'name: bad').replace('{operator: In, scopeName: PriorityClass, values: [high]}', '{operator: In, scopeName: BestEffort, values: [x]}'));
    assert.equal(bad.code, 1, `a BestEffort scope with In is refused: ${bad.stdout}`);
    assert.match(bad.stderr, /spec\.scopeSelector\.matchExpressions\[0\]\.operator: Invalid value: "In": must be 'Exists' when scope is BestEffort/, 'the field and the fix');
  });

  test('concurrent creates never overrun a quota', quick, async () => {
    await namespace('q-race');
    ok(await apply('q-race', 'quota', `apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: three\nspec:\n  hard: {pods: "3"}\n`), 'apply quota');
    const client = cluster.client();
    try {
      const info = resourceByKind('Pod')!;
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => client.create(info, 'q-race', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}` }, spec: { containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36' }] } } as KObject)),
      );
      const created = results.filter((r) => r.status === 'fulfilled').length;
      const refusals = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String((r.reason as Error).message));
      assert.equal(created, 3, `exactly 3 of 12 concurrent creates succeed; refusals: ${refusals.join(' | ')}`);
      assert.ok(refusals.every((m) => /exceeded quota: three, requested: pods=1, used: pods=3, limited: pods=3/.test(m)), `every refusal is the quota's: ${refusals.join(' | ')}`);
      assert.equal((await podNames('q-race')).length, 3, '3 pods stored');
      await waitUsed('q-race', 'three', { pods: '3' });
    } finally {
      client.close();
    }
  });

  test('LimitRange fills defaults and refuses a request under its minimum', quick, async () => {
    await namespace('lr');
    ok(
      await apply('lr', 'limits', `apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: cpu-limits\nspec:\n  limits:\n  - type: Container\n    min: {cpu: 100m}\n    max: {cpu: "1"}\n    default: {cpu: 500m, memory: 256Mi}\n    defaultRequest: {cpu: 200m, memory: 128Mi}\n`),
      'apply limit range',
    );
    const listed = await cluster.ctl(['get', 'limits', '-n', 'lr']);
    ok(listed, 'get limits');
    assert.match(listed.stdout, /^NAME\s+CREATED AT\ncpu-limits\s+\d{4}-\d{2}-\d{2}T/, 'the limit range is listed with its creation time');
    const r = await apply('lr', 'x', pod('x', { requests: { cpu: '50m' } }));
    assert.equal(r.code, 1, `apply exits 1: ${r.stderr}`);
    assert.match(r.stderr, /pods "x" is forbidden: minimum cpu usage per Container is 100m, but request is 50m/, 'the Kubernetes message');
    assert.deepEqual(await podNames('lr'), [], 'nothing stored');
    ok(await apply('lr', 'plain', pod('plain')), 'a pod without resources');
    const got = JSON.parse((await cluster.ctl(['get', 'pod', 'plain', '-n', 'lr', '-o', 'json'])).stdout);
    assert.deepEqual(got.spec.containers[0].resources, { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '200m', memory: '128Mi' } }, 'defaults filled on create');
    assert.equal(got.status.qosClass, 'Burstable', 'the QoS class follows the filled-in resources');
    assert.deepEqual(
      got.spec.tolerations.filter((t: any) => t.key?.startsWith('node.kubernetes.io/')).map((t: any) => `${t.key}:${t.effect}:${t.tolerationSeconds}`),
      ['node.kubernetes.io/not-ready:NoExecute:10', 'node.kubernetes.io/unreachable:NoExecute:10'],
      'the default tolerations are added with 10 s',
    );
  });

  test('a LimitRange of type Pod bounds the sum of the containers', quick, async () => {
    await namespace('lr-pod');
    ok(await apply('lr-pod', 'limits', `apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: per-pod\nspec:\n  limits:\n  - type: Pod\n    max: {cpu: "1"}\n`), 'apply limit range');
    const twoContainers = (cpu: string) =>
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: two\nspec:\n  containers:\n${['a', 'b'].map((n) => `  - name: ${n}\n    image: docker.io/library/busybox:1.36\n    resources: {limits: {cpu: ${cpu}}}\n`).join('')}`;
    const r = await apply('lr-pod', 'two', twoContainers('600m'));
    assert.equal(r.code, 1, `apply exits 1: ${r.stderr}`);
    assert.match(r.stderr, /pods "two" is forbidden: \[maximum cpu usage per Pod is 1, but limit is 1200m, maximum cpu usage per Pod is 1, but request is 1200m\]/, 'the Kubernetes message with the pod totals (requests default to the limits)');
    assert.deepEqual(await podNames('lr-pod'), [], 'nothing stored');
    ok(await apply('lr-pod', 'two', twoContainers('400m')), 'two containers of 400m fit');
  });
});
