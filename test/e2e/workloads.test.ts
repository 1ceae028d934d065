// Deployments end to end through the built `ctl` against a real `ctl server` with its
// controllers: a Deployment makes a ReplicaSet and pods; `delete --cascade=orphan` keeps them,
// a plain delete takes them away. No nodes join, so pods stay Pending (and go at once on delete).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sleep, TestCluster, type CtlResult } from './harness.js';

const quick = { timeout: 60_000 };

function ok(r: CtlResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: busybox:1
`;

describe('workloads: Deployment, ReplicaSet and garbage collection through ctl', { timeout: 300_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start();
  }, { timeout: 120_000 });

  after(async () => {
    await cluster?.stop();
  }, { timeout: 60_000 });

  const names = async (kind: string): Promise<string[]> => {
    const r = await cluster.ctl(['get', kind, '-o', 'name']);
    ok(r, `get ${kind}`);
    return r.stdout.split('\n').filter(Boolean);
  };

  async function until(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await sleep(200);
    }
  }

  test('a Deployment gets a ReplicaSet and 2 pods; --cascade=orphan keeps them, a plain delete removes them', quick, async () => {
    const file = join(cluster.tempDir('manifests'), 'web.yaml');
    writeFileSync(file, deployment);
    ok(await cluster.ctl(['apply', '-f', file]), 'apply');
    await until('a replica set and 2 pods', async () => (await names('rs')).length === 1 && (await names('pods')).length === 2);
    const [rs] = await names('rs');
    assert.match(rs, /^replicaset\.apps\/web-[a-z0-9]+$/);

    ok(await cluster.ctl(['delete', 'deployment', 'web', '--cascade=orphan']), 'delete --cascade=orphan');
    await sleep(1000);
    assert.deepEqual(await names('rs'), [rs], 'the orphaned replica set stays');
    assert.equal((await names('pods')).length, 2, 'its pods stay');

    const bad = await cluster.ctl(['delete', 'rs', rs.split('/')[1], '--cascade=sometimes']);
    assert.notEqual(bad.code, 0, 'an unknown --cascade mode is refused');

    ok(await cluster.ctl(['delete', rs]), 'delete the replica set');
    await until('no pods left', async () => (await names('pods')).length === 0);
  });
});
