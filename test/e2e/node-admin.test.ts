// Node administration end to end: cordon, label, taint and drain through the built `ctl` against
// a real `ctl server`. No agent runs; the Node is created with `ctl apply` and stays Ready
// because the node-monitor grace period is long, so the scheduler treats it as a live node.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestCluster, sleep, type CtlResult } from './harness.js';

const quick = { timeout: 60_000 };

function ok(r: CtlResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

function nodeManifest(name: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: {
      capacity: { cpu: '4', memory: '8Gi', pods: '110' },
      allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
    },
  });
}

function podManifest(name: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36' }], ...extra },
  });
}

describe('node administration through ctl', { timeout: 300_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.start({ serverArgs: ['--node-monitor-grace-period', '1h'] });
    ok(await cluster.ctl(['apply', '-f', '-'], { stdin: nodeManifest('edge-1') }), 'apply node');
  }, { timeout: 120_000 });

  after(async () => {
    await cluster?.stop();
  }, { timeout: 60_000 });

  async function json(args: string[]): Promise<any> {
    const r = await cluster.ctl([...args, '-o', 'json']);
    ok(r, args.join(' '));
    return JSON.parse(r.stdout);
  }

  /** Polls the pod until its PodScheduled condition message matches. */
  async function waitPending(name: string, pattern: RegExp): Promise<string> {
    const deadline = Date.now() + 20_000;
    let last = '';
    while (Date.now() < deadline) {
      const pod = await json(['get', 'pod', name]);
      assert.equal(pod.spec.nodeName, undefined, `pod ${name} was bound to ${pod.spec.nodeName}`);
      last = pod.status?.conditions?.find((c: { type: string }) => c.type === 'PodScheduled')?.message ?? '';
      if (pattern.test(last)) return last;
      await sleep(200);
    }
    assert.fail(`pod ${name} never showed ${pattern}; last message: ${last}`);
  }

  async function waitBound(name: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if ((await json(['get', 'pod', name])).spec.nodeName === 'edge-1') return;
      await sleep(200);
    }
    assert.fail(`pod ${name} was not bound to edge-1`);
  }

  test('cordon keeps new pods off the node, uncordon lets them on', quick, async () => {
    const c1 = await cluster.ctl(['cordon', 'edge-1']);
    ok(c1, 'cordon');
    assert.equal(c1.stdout, 'node/edge-1 cordoned\n');
    assert.equal((await cluster.ctl(['cordon', 'edge-1'])).stdout, 'node/edge-1 already cordoned\n');

    const table = await cluster.ctl(['get', 'nodes', 'edge-1']);
    ok(table, 'get nodes');
    assert.match(table.stdout, /edge-1\s+Ready,SchedulingDisabled\s/);

    ok(await cluster.ctl(['apply', '-f', '-'], { stdin: podManifest('while-cordoned') }), 'apply pod');
    await waitPending('while-cordoned', /0\/1 nodes are available: 1 node\(s\) were unschedulable/);

    const u = await cluster.ctl(['uncordon', 'edge-1']);
    ok(u, 'uncordon');
    assert.equal(u.stdout, 'node/edge-1 uncordoned\n');
    assert.equal((await json(['get', 'node', 'edge-1'])).spec?.unschedulable, undefined, 'spec.unschedulable still set');
    await waitBound('while-cordoned');
    ok(await cluster.ctl(['delete', 'pod', 'while-cordoned', '--grace-period', '0']), 'delete pod');
  });

  test('label: add, a change without --overwrite is refused naming the key, overwrite, remove; pods too', quick, async () => {
    const add = await cluster.ctl(['label', 'nodes', 'edge-1', 'disktype=ssd', 'zone=a']);
    ok(add, 'label add');
    assert.equal(add.stdout, 'node/edge-1 labeled\n');

    const clash = await cluster.ctl(['label', 'nodes', 'edge-1', 'disktype=hdd']);
    assert.equal(clash.code, 1, `changing a label without --overwrite succeeded:\n${clash.stdout}`);
    assert.match(clash.stderr, /'disktype' already has a value \(ssd\), and --overwrite is false/);
    assert.equal((await json(['get', 'node', 'edge-1'])).metadata.labels.disktype, 'ssd');

    ok(await cluster.ctl(['label', 'nodes', 'edge-1', 'disktype=hdd', '--overwrite']), 'label --overwrite');
    const rm = await cluster.ctl(['label', 'node/edge-1', 'zone-']);
    ok(rm, 'label remove');
    assert.equal(rm.stdout, 'node/edge-1 unlabeled\n');
    const labels = (await json(['get', 'node', 'edge-1'])).metadata.labels;
    assert.equal(labels.disktype, 'hdd');
    assert.equal(labels.zone, undefined, 'zone label still present');
    assert.equal(labels['kubernetes.io/hostname'], 'edge-1', 'a label set by someone else was lost');

    // nodeSelector steers onto the label that is there, and away from one that is not.
    ok(await cluster.ctl(['apply', '-f', '-'], { stdin: podManifest('wants-ssd', { nodeSelector: { disktype: 'ssd' } }) }), 'apply pod');
    await waitPending('wants-ssd', /didn't match Pod's node affinity\/selector/);
    ok(await cluster.ctl(['label', 'nodes', 'edge-1', 'disktype=ssd', '--overwrite']), 'relabel');
    await waitBound('wants-ssd');
    ok(await cluster.ctl(['delete', 'pod', 'wants-ssd', '--grace-period', '0']), 'delete pod');

    ok(await cluster.ctl(['apply', '-f', '-'], { stdin: podManifest('labelled-pod') }), 'apply pod');
    const pl = await cluster.ctl(['label', 'pods', 'labelled-pod', 'team=edge']);
    ok(pl, 'label pod');
    assert.equal(pl.stdout, 'pod/labelled-pod labeled\n');
    assert.equal((await json(['get', 'pod', 'labelled-pod'])).metadata.labels.team, 'edge');
    ok(await cluster.ctl(['delete', 'pod', 'labelled-pod', '--grace-period', '0']), 'delete pod');
  });

  test('taint keeps pods without a toleration off the node; untaint lets them on', quick, async () => {
    const t = await cluster.ctl(['taint', 'nodes', 'edge-1', 'dedicated=gpu:NoSchedule']);
    ok(t, 'taint');
    assert.equal(t.stdout, 'node/edge-1 tainted\n');
    assert.deepEqual((await json(['get', 'node', 'edge-1'])).spec.taints, [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]);

    const bad = await cluster.ctl(['taint', 'nodes', 'edge-1', 'dedicated=gpu:Sometimes']);
    assert.equal(bad.code, 1, 'an unknown effect was accepted');
    assert.match(bad.stderr, /invalid taint effect: Sometimes/);
    const again = await cluster.ctl(['taint', 'nodes', 'edge-1', 'dedicated=db:NoSchedule']);
    assert.equal(again.code, 1, 'a second taint with the same key and effect was accepted without --overwrite');
    assert.match(again.stderr, /--overwrite is false/);

    ok(await cluster.ctl(['apply', '-f', '-'], { stdin: podManifest('intolerant') }), 'apply pod');
    await waitPending('intolerant', /1 node\(s\) had untolerated taint \{dedicated: gpu\}/);
    ok(
      await cluster.ctl(['apply', '-f', '-'], {
        stdin: podManifest('tolerant', { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }] }),
      }),
      'apply tolerant pod',
    );
    await waitBound('tolerant');

    const u = await cluster.ctl(['taint', 'nodes', 'edge-1', 'dedicated:NoSchedule-']);
    ok(u, 'untaint');
    assert.equal(u.stdout, 'node/edge-1 untainted\n');
    assert.equal((await json(['get', 'node', 'edge-1'])).spec?.taints, undefined, 'taints left after removing the only one');
    await waitBound('intolerant');
    const missing = await cluster.ctl(['taint', 'nodes', 'edge-1', 'dedicated-']);
    assert.equal(missing.code, 1, 'removing an absent taint succeeded');
    assert.match(missing.stderr, /taint "dedicated" not found/);
    ok(await cluster.ctl(['delete', 'pod', 'intolerant', 'tolerant', '--grace-period', '0']), 'delete pods');
  });

  describe('drain', () => {
    const container = { name: 'c', image: 'docker.io/library/busybox:1.36' };

    function boundPod(name: string, node: string, meta: object = {}): string {
      return JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, ...meta }, spec: { nodeName: node, containers: [container] } });
    }

    /**
     * A pod bound to `node` that a ReplicationController owns: the pod comes first and the
     * controller adopts it, so the controller never creates one of its own on a schedulable node.
     */
    async function managedPod(name: string, node: string): Promise<void> {
      ok(await cluster.ctl(['apply', '-f', '-'], { stdin: boundPod(name, node, { labels: { app: name } }) }), 'apply pod');
      const rc = { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name }, spec: { replicas: 1, selector: { app: name }, template: { metadata: { labels: { app: name } }, spec: { containers: [container] } } } };
      ok(await cluster.ctl(['apply', '-f', '-'], { stdin: JSON.stringify(rc) }), 'apply replicationcontroller');
      const deadline = Date.now() + 15_000;
      while (!(await json(['get', 'pod', name])).metadata.ownerReferences?.some((r: { controller?: boolean }) => r.controller)) {
        assert.ok(Date.now() < deadline, `the ReplicationController never adopted pod ${name}`);
        await sleep(100);
      }
    }

    /** A pod owned by a DaemonSet object that exists (no DaemonSet controller runs to act on it). */
    async function daemonSetPod(name: string, node: string): Promise<void> {
      const ds = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name }, spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [container] } } } };
      ok(await cluster.ctl(['apply', '-f', '-'], { stdin: JSON.stringify(ds) }), 'apply daemonset');
      const uid = (await json(['get', 'daemonset', name])).metadata.uid;
      const owner = { apiVersion: 'apps/v1', kind: 'DaemonSet', name, uid, controller: true };
      ok(await cluster.ctl(['apply', '-f', '-'], { stdin: boundPod(`${name}-pod`, node, { labels: { app: name }, ownerReferences: [owner] }) }), 'apply pod');
    }

    async function podNames(node: string): Promise<string[]> {
      const list = await json(['get', 'pods', '-A', '--field-selector', `spec.nodeName=${node}`]);
      return list.items.map((p: { metadata: { name: string } }) => p.metadata.name).sort();
    }

    test('refuses unmanaged and DaemonSet pods by name; with --force --ignore-daemonsets --grace-period 0 it empties the node', quick, async () => {
      ok(await cluster.ctl(['apply', '-f', '-'], { stdin: nodeManifest('edge-2') }), 'apply node');
      await managedPod('web-1', 'edge-2');
      ok(await cluster.ctl(['apply', '-f', '-'], { stdin: boundPod('bare', 'edge-2') }), 'apply pod');
      await daemonSetPod('agent-x', 'edge-2');

      const refused = await cluster.ctl(['drain', 'edge-2']);
      assert.equal(refused.code, 1, `drain with an unmanaged pod succeeded:\n${refused.stdout}`);
      assert.equal(refused.stdout, 'node/edge-2 cordoned\n');
      assert.match(refused.stderr, /cannot delete DaemonSet-managed Pods \(use --ignore-daemonsets to ignore\): default\/agent-x-pod/);
      assert.match(refused.stderr, /cannot delete Pods declare no controller \(use --force to override\): default\/bare/);
      assert.deepEqual(await podNames('edge-2'), ['agent-x-pod', 'bare', 'web-1'], 'a refused drain deleted pods');
      assert.equal((await json(['get', 'node', 'edge-2'])).spec.unschedulable, true, 'a refused drain left the node schedulable');

      const drained = await cluster.ctl(['drain', 'edge-2', '--ignore-daemonsets', '--force', '--grace-period', '0', '--timeout', '20s']);
      ok(drained, 'drain --force');
      const lines = drained.stdout.trim().split('\n');
      assert.equal(lines[0], 'node/edge-2 already cordoned');
      assert.equal(lines.at(-1), 'node/edge-2 drained');
      for (const name of ['web-1', 'bare']) {
        assert.ok(lines.includes(`evicting pod default/${name}`), `no evicting line for ${name}:\n${drained.stdout}`);
        assert.ok(lines.includes(`pod/${name} evicted`), `no evicted line for ${name}:\n${drained.stdout}`);
      }
      assert.match(drained.stderr, /Warning: ignoring DaemonSet-managed Pods: default\/agent-x-pod/);
      assert.match(drained.stderr, /Warning: deleting Pods that declare no controller: default\/bare/);
      assert.deepEqual(await podNames('edge-2'), ['agent-x-pod'], 'drain left pods other than the DaemonSet one');
      ok(await cluster.ctl(['delete', 'pod', 'agent-x-pod', '--grace-period', '0']), 'delete pod');
    });

    test('waits while a pod terminates on its node, and finishes once it is gone', quick, async () => {
      ok(await cluster.ctl(['apply', '-f', '-'], { stdin: nodeManifest('edge-3') }), 'apply node');
      await managedPod('slow', 'edge-3');

      // With the pod's own grace period the server marks the pod and leaves it to its node.
      const drain = cluster.spawnCtl(['drain', 'edge-3', '--timeout', '30s']);
      await drain.waitForOutput(/evicting pod default\/slow\n/);
      const deadline = Date.now() + 10_000;
      while (!(await json(['get', 'pod', 'slow'])).metadata.deletionTimestamp) {
        assert.ok(Date.now() < deadline, 'the pod never got a deletionTimestamp');
        await sleep(100);
      }
      await sleep(500);
      assert.doesNotMatch(drain.stdout, /evicted|drained/, `drain finished while the pod was still there:\n${drain.stdout}`);

      // No agent runs here, so stand in for the node confirming the stop: remove the pod at once.
      ok(await cluster.ctl(['delete', 'pod', 'slow', '--grace-period', '0']), 'force delete');
      await drain.waitForOutput(/pod\/slow evicted\nnode\/edge-3 drained\n/);
      const exited = drain.child.exitCode !== null ? drain.child.exitCode : await new Promise((r) => drain.child.once('exit', r));
      assert.equal(exited, 0, `drain exited ${exited}:\n${drain.stderr}`);
    });

    test('gives up after --timeout naming the pods still terminating', quick, async () => {
      ok(await cluster.ctl(['apply', '-f', '-'], { stdin: nodeManifest('edge-4') }), 'apply node');
      await managedPod('stuck', 'edge-4');
      const started = Date.now();
      const r = await cluster.ctl(['drain', 'edge-4', '--timeout', '1s']);
      assert.equal(r.code, 1, `drain of a node that never confirms succeeded:\n${r.stdout}`);
      assert.ok(Date.now() - started < 15_000, 'drain did not stop at its timeout');
      assert.match(r.stdout, /evicting pod default\/stuck\n/);
      assert.match(r.stderr, /unable to drain node "edge-4": timed out after 1s waiting for default\/stuck to terminate/);
      ok(await cluster.ctl(['delete', 'pod', 'stuck', '--grace-period', '0']), 'force delete');
    });
  });
});
