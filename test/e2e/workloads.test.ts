// Deployments end to end through the built `ctl` against a real `ctl server` with its
// controllers: a Deployment makes a ReplicaSet and pods; `delete --cascade=orphan` keeps them,
// a plain delete takes them away. No nodes join, so pods stay Pending (and go at once on delete).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isApiError } from '../../src/api/errors.js';
import { resolveResource } from '../../src/cli/kinds.js';
import { sleep, TestCluster, type CtlResult } from './harness.js';

// Generous: every ctl run is a Node start, which takes seconds on a busy small machine.
const quick = { timeout: 180_000 };

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

describe('workloads: Deployment, ReplicaSet and garbage collection through ctl', { timeout: 600_000 }, () => {
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

  test('rollout status fails past the progress deadline or the timeout; the scale subresource; pause, resume and their errors', quick, async () => {
    const file = join(cluster.tempDir('manifests'), 'stuck.yaml');
    writeFileSync(file, deployment.replace('name: web\n', 'name: stuck\n').replace('replicas: 2\n', 'replicas: 2\n  progressDeadlineSeconds: 2\n'));
    ok(await cluster.ctl(['apply', '-f', file]), 'apply');
    await until('the stuck deployment to have its replica set', async () => (await names('rs')).some((n) => n.startsWith('replicaset.apps/stuck-')));
    const all = await cluster.ctl(['get', 'all', '-A']);
    ok(all, 'get all -A');
    assert.match(all.stdout, /^NAMESPACE\s+NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\ndefault\s+deployment\.apps\/stuck\s+0\/2\s/m, `get all -A: namespace first, kind-prefixed names:\n${all.stdout}`);
    assert.match(all.stdout, /^default\s+pod\/stuck-[a-z0-9]+-[a-z0-9]+\s+0\/1\s+Pending\s/m, `get all -A lists the pods:\n${all.stdout}`);
    // No node runs the pods, so the rollout cannot finish: first the timeout, then the deadline.
    const timedOut = await cluster.ctl(['rollout', 'status', 'deployment/stuck', '--timeout', '1s']);
    assert.equal(timedOut.code, 1, `a rollout that does not finish in time fails:\n${timedOut.stdout}${timedOut.stderr}`);
    assert.match(timedOut.stderr, /^error: (timed out waiting for the condition|deployment "stuck" exceeded its progress deadline)\n$/, `kubectl's words: ${timedOut.stderr}`);
    const stuck = await cluster.ctl(['rollout', 'status', 'deployment/stuck', '--timeout', '40s'], { timeoutMs: 50_000 });
    assert.equal(stuck.code, 1, `a rollout past its deadline fails:\n${stuck.stdout}${stuck.stderr}`);
    assert.equal(stuck.stderr, 'error: deployment "stuck" exceeded its progress deadline\n', `kubectl's words: ${stuck.stderr}`);
    const once = await cluster.ctl(['rollout', 'status', 'deploy', 'stuck', '--watch=false']);
    assert.equal(once.code, 1, 'the deadline also fails a single look');

    const client = cluster.client();
    try {
      const deployments = resolveResource('deployments');
      const scale = await client.getScale(deployments, 'default', 'stuck');
      assert.equal(scale.kind, 'Scale', 'GET …/scale answers a Scale');
      assert.deepEqual([scale.apiVersion, (scale.spec as { replicas: number }).replicas, (scale.status as { selector: string }).selector], ['autoscaling/v1', 2, 'app=web'], 'with the replicas and the selector');
      await assert.rejects(
        client.updateScale(deployments, 'default', 'stuck', { ...scale, metadata: { ...scale.metadata, resourceVersion: '1' }, spec: { replicas: 4 } }),
        (e: Error) => isApiError(e, 'Conflict'),
        'a Scale with a stale resourceVersion is refused with Conflict',
      );
      await assert.rejects(client.patchScale(deployments, 'default', 'stuck', { spec: { replicas: -1 } }), (e: Error) => isApiError(e, 'Invalid') && /spec\.replicas/.test(e.message), 'negative replicas are invalid, naming the field');
      const scaled = await cluster.ctl(['scale', 'deploy/stuck', '--replicas=1', '--current-replicas=2']);
      ok(scaled, 'scale with a precondition');
      assert.equal(scaled.stdout, 'deployment.apps/stuck scaled\n', 'scale prints what kubectl prints');
      const after = await client.get(deployments, 'default', 'stuck');
      assert.equal((after.spec as { replicas: number }).replicas, 1, 'scale wrote spec.replicas');
    } finally {
      client.close();
    }

    const pause = await cluster.ctl(['rollout', 'pause', 'deployment/stuck']);
    assert.equal(pause.stdout, 'deployment.apps/stuck paused\n', `pause: ${pause.stderr}`);
    const again = await cluster.ctl(['rollout', 'pause', 'deployment/stuck']);
    assert.equal(again.stderr, 'error: deployments.apps "stuck" is already paused\n', 'pausing twice is an error');
    const restart = await cluster.ctl(['rollout', 'restart', 'deployment/stuck']);
    assert.equal(restart.stderr, 'error: deployments.apps "stuck" can\'t restart paused deployment (run rollout resume first)\n', 'a paused deployment is not restarted');
    const undo = await cluster.ctl(['rollout', 'undo', 'deployment/stuck']);
    assert.match(undo.stderr, /^error: you cannot rollback a paused deployment; resume it first/, `a paused deployment is not rolled back: ${undo.stderr}`);
    const resume = await cluster.ctl(['rollout', 'resume', 'deployment/stuck']);
    assert.equal(resume.stdout, 'deployment.apps/stuck resumed\n', `resume: ${resume.stderr}`);
    const noHistory = await cluster.ctl(['rollout', 'undo', 'deployment/stuck']);
    assert.match(noHistory.stderr, /no rollout history found for deployment "stuck"/, `one revision has nothing to go back to: ${noHistory.stderr}`);
    const rsStatus = await cluster.ctl(['rollout', 'status', 'rs/whatever']);
    assert.match(rsStatus.stderr, /no status viewer has been implemented for replicasets\.apps/, `only deployments have rollouts: ${rsStatus.stderr}`);
    ok(await cluster.ctl(['delete', 'deployment', 'stuck']), 'delete');
    await until('no pods left', async () => (await names('pods')).length === 0);
  });
});
