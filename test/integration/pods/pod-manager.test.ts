import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import type { Container, Pod, PodStatus } from '../../../src/api/types.js';
import { Backoff } from '../../../src/agent/pods/backoff.js';
import { labels } from '../../../src/agent/pods/labels.js';
import { CriPodManager } from '../../../src/agent/pods/manager.js';
import { startTestContainerd, TEST_IMAGE, type TestContainerd } from '../../helpers/containerd.js';

// The pod manager against a real containerd: init order, shared network namespace, emptyDir,
// phases by restartPolicy, crash-loop back-off, OOM, graceful deletion and adoption after restart.

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

function makePod(name: string, containers: Container[], extra: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: randomUUID() },
    spec: { containers, restartPolicy: 'Always', terminationGracePeriodSeconds: 30, nodeName: 'node-a', ...extra },
  };
}

const sh = (name: string, script: string, more: Partial<Container> = {}): Container => ({ name, image: TEST_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script], ...more });

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('pod manager on containerd', { timeout: 240_000 }, () => {
  let ctd: TestContainerd;
  let dataDir: string;
  let manager: CriPodManager;
  const statuses = new Map<string, PodStatus>();
  const history = new Map<string, PodStatus[]>();
  const terminated = new Set<string>();
  let desired: Pod[] = [];

  const newManager = () => {
    const m = new CriPodManager({
      runtime: ctd.runtime,
      dataDir,
      nodeName: 'node-a',
      hostIP: '127.0.0.1',
      log,
      relistIntervalMs: 200,
      resyncIntervalMs: 2000,
      backoff: new Backoff({ initialMs: 1000, maxMs: 4000 }),
    });
    m.onStatus((pod, status, gone) => {
      const uid = pod.metadata.uid!;
      statuses.set(uid, status);
      (history.get(uid) ?? history.set(uid, []).get(uid)!).push(status);
      if (gone) terminated.add(uid);
    });
    return m;
  };
  const run = (...pods: Pod[]) => {
    desired = [...desired, ...pods];
    manager.setDesired(desired);
  };
  const statusOf = (p: Pod) => statuses.get(p.metadata.uid!);

  before(async () => {
    ctd = await startTestContainerd();
    dataDir = mkdtempSync(join(tmpdir(), 'skiff-pods-'));
    manager = newManager();
    await manager.startLocal();
  });

  after(async () => {
    await manager?.stop();
    await ctd?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('init containers run in order, then two app containers share the pod network and an emptyDir', { timeout: 60_000 }, async () => {
    const pod = makePod(
      'web',
      [
        sh('server', 'mkdir -p /www && echo hello-from-server > /www/index.html && exec httpd -f -p 8080 -h /www'),
        sh('client', 'until wget -q -O /shared/got http://127.0.0.1:8080/; do sleep 0.2; done; exec sleep 3600', { volumeMounts: [{ name: 'shared', mountPath: '/shared' }] }),
      ],
      {
        volumes: [{ name: 'shared', emptyDir: {} }],
        initContainers: [
          sh('init-1', 'sleep 0.3; touch /shared/one', { volumeMounts: [{ name: 'shared', mountPath: '/shared' }] }),
          sh('init-2', 'test -f /shared/one && touch /shared/two', { volumeMounts: [{ name: 'shared', mountPath: '/shared' }] }),
        ],
      },
    );
    run(pod);
    const st = await waitFor('web Running', () => statusOf(pod)?.phase === 'Running' && statusOf(pod)!.containerStatuses!.every((c) => c.ready) && statusOf(pod));
    const uid = pod.metadata.uid!;
    const shared = join(dataDir, 'pods', uid, 'volumes', 'empty-dir', 'shared');
    await waitFor('client fetched from server', () => existsSync(join(shared, 'got')) && readFileSync(join(shared, 'got'), 'utf8').includes('hello-from-server'));
    assert.ok(existsSync(join(shared, 'two')), 'init-2 ran after init-1 succeeded');

    assert.deepEqual(
      st.initContainerStatuses!.map((c) => [c.name, c.state?.terminated?.exitCode, c.state?.terminated?.reason, c.ready]),
      [
        ['init-1', 0, 'Completed', true],
        ['init-2', 0, 'Completed', true],
      ],
    );
    for (const c of st.containerStatuses!) {
      assert.ok(c.state?.running?.startedAt, `${c.name} running`);
      assert.match(c.containerID!, /^containerd:\/\/[0-9a-f]{64}$/);
      assert.match(c.imageID, /^sha256:/);
      assert.equal(c.restartCount, 0);
      assert.equal(c.started, true);
    }
    assert.match(st.podIP!, /^10\.88\.\d+\.\d+$/);
    assert.equal(st.hostIP, '127.0.0.1');
    assert.ok(st.startTime, 'startTime set');
    const cond = Object.fromEntries(st.conditions!.map((c) => [c.type, c.status]));
    assert.deepEqual(cond, { Initialized: 'True', Ready: 'True', ContainersReady: 'True', PodScheduled: 'True' });

    // The statuses seen on the way: initializing first, Running last.
    const seen = history.get(uid)!;
    assert.equal(seen[0].phase, 'Pending');
    assert.ok(seen.some((s) => s.initContainerStatuses?.[0].state?.running || s.initContainerStatuses?.[0].state?.waiting), 'init-1 seen before it finished');
    assert.ok(seen.some((s) => s.conditions?.find((c) => c.type === 'Initialized')?.status === 'False'), 'Initialized False at first');
  });

  test('restartPolicy Never: exit 0 is Succeeded, exit 1 is Failed with reason Error', { timeout: 60_000 }, async () => {
    const ok = makePod('ok', [sh('main', 'exit 0')], { restartPolicy: 'Never' });
    const bad = makePod('bad', [sh('main', 'echo failing; exit 1')], { restartPolicy: 'Never' });
    run(ok, bad);
    const okSt = await waitFor('ok Succeeded', () => statusOf(ok)?.phase === 'Succeeded' && statusOf(ok));
    assert.equal(okSt.containerStatuses![0].state?.terminated?.reason, 'Completed');
    assert.equal(okSt.containerStatuses![0].state?.terminated?.exitCode, 0);
    assert.equal(okSt.conditions!.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
    const badSt = await waitFor('bad Failed', () => statusOf(bad)?.phase === 'Failed' && statusOf(bad));
    assert.equal(badSt.containerStatuses![0].state?.terminated?.reason, 'Error');
    assert.equal(badSt.containerStatuses![0].state?.terminated?.exitCode, 1);
    assert.equal(badSt.containerStatuses![0].restartCount, 0);
    // Terminal pods are not restarted, and their sandbox is stopped.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(statusOf(bad)!.containerStatuses![0].restartCount, 0);
    const sbs = await ctd.runtime.listPodSandbox({ labelSelector: { [labels.podUid]: bad.metadata.uid! } });
    assert.ok(sbs.every((s) => s.state === 'SANDBOX_NOTREADY'), 'sandbox stopped');
  });

  test('restartPolicy Always: a crashing container restarts with growing back-off and shows CrashLoopBackOff', { timeout: 60_000 }, async () => {
    const crash = makePod('crash', [sh('main', 'exit 3')]);
    run(crash);
    await waitFor('restartCount ≥ 2', () => (statusOf(crash)?.containerStatuses?.[0].restartCount ?? 0) >= 2, 30_000);
    const loop = await waitFor('CrashLoopBackOff', () => history.get(crash.metadata.uid!)?.find((s) => s.containerStatuses?.[0].state?.waiting?.reason === 'CrashLoopBackOff'));
    const cs = loop.containerStatuses![0];
    assert.match(cs.state!.waiting!.message!, /^back-off \d+s restarting failed container=main pod=crash_default\(/);
    assert.equal(cs.lastState?.terminated?.exitCode, 3);
    assert.equal(cs.lastState?.terminated?.reason, 'Error');
    assert.equal(loop.phase, 'Running');
    assert.equal(loop.conditions!.find((c) => c.type === 'Ready')?.status, 'False');
  });

  test('a container over its memory limit is OOMKilled', { timeout: 60_000 }, async () => {
    const hog = makePod('hog', [sh('main', 'tail /dev/zero', { resources: { limits: { memory: '16Mi' } } })], { restartPolicy: 'Never' });
    run(hog);
    const st = await waitFor('hog Failed', () => statusOf(hog)?.phase === 'Failed' && statusOf(hog), 45_000);
    assert.equal(st.containerStatuses![0].state?.terminated?.reason, 'OOMKilled');
    assert.equal(st.containerStatuses![0].state?.terminated?.exitCode, 137);
  });

  test('image pull policy: Never with a missing image, and a failed pull backing off', { timeout: 30_000 }, async () => {
    const never = makePod('never', [{ name: 'main', image: 'docker.io/library/absent:1', imagePullPolicy: 'Never' }]);
    // A registry on a closed loopback port: the pull fails at once without leaving the machine.
    const unreachable = makePod('unreachable', [{ name: 'main', image: '127.0.0.1:1/absent:1', imagePullPolicy: 'IfNotPresent' }]);
    run(never, unreachable);
    const n = await waitFor('ErrImageNeverPull', () => statusOf(never)?.containerStatuses?.[0].state?.waiting?.reason === 'ErrImageNeverPull' && statusOf(never));
    assert.equal(n.containerStatuses![0].state!.waiting!.message, 'Container image "docker.io/library/absent:1" is not present with pull policy of Never');
    assert.equal(n.phase, 'Pending');
    await waitFor('ErrImagePull', () => history.get(unreachable.metadata.uid!)?.some((s) => s.containerStatuses?.[0].state?.waiting?.reason === 'ErrImagePull'));
    await waitFor('ImagePullBackOff', () => statusOf(unreachable)?.containerStatuses?.[0].state?.waiting?.reason === 'ImagePullBackOff');
    desired = desired.filter((p) => p !== never && p !== unreachable);
    manager.setDesired(desired);
    await waitFor('both removed', () => terminated.has(never.metadata.uid!) && terminated.has(unreachable.metadata.uid!), 15_000);
  });

  test('the agent restarting adopts running containers without restarting them', { timeout: 60_000 }, async () => {
    const steady = makePod('steady', [sh('main', 'exec sleep 3600')]);
    run(steady);
    const before = await waitFor('steady Running', () => statusOf(steady)?.phase === 'Running' && statusOf(steady));
    await manager.stop();
    statuses.delete(steady.metadata.uid!);
    manager = newManager();
    await manager.startLocal();
    const after = await waitFor('steady reported again', () => statusOf(steady));
    assert.equal(after.phase, 'Running');
    assert.equal(after.containerStatuses![0].containerID, before.containerStatuses![0].containerID);
    assert.equal(after.containerStatuses![0].restartCount, 0);
    assert.equal(after.podIP, before.podIP);
    assert.deepEqual(manager.desiredPods().map((p) => p.metadata.uid).sort(), desired.map((p) => p.metadata.uid).sort());
  });

  test('deletion: SIGTERM, the grace period, SIGKILL, then the sandbox goes and the pod reports terminated', { timeout: 60_000 }, async () => {
    const polite = makePod('polite', [sh('main', "trap 'exit 0' TERM; while :; do sleep 0.1; done")]);
    const stubborn = makePod('stubborn', [sh('main', "trap '' TERM; while :; do sleep 0.1; done")]);
    run(polite, stubborn);
    await waitFor('both Running', () => statusOf(polite)?.phase === 'Running' && statusOf(stubborn)?.phase === 'Running');
    const del = (p: Pod, grace: number): Pod => ({ ...p, metadata: { ...p.metadata, deletionTimestamp: new Date(Date.now() + grace * 1000).toISOString(), deletionGracePeriodSeconds: grace } });
    const t0 = Date.now();
    desired = desired.map((p) => (p === polite ? del(p, 10) : p === stubborn ? del(p, 2) : p));
    manager.setDesired(desired);
    await waitFor('polite terminated', () => terminated.has(polite.metadata.uid!), 15_000);
    const politeMs = Date.now() - t0;
    assert.ok(politeMs < 5000, `a container that exits on SIGTERM goes at once (${politeMs} ms)`);
    await waitFor('stubborn terminated', () => terminated.has(stubborn.metadata.uid!), 15_000);
    const stubbornMs = Date.now() - t0;
    assert.ok(stubbornMs >= 2000, `SIGKILL waits for the grace period (${stubbornMs} ms)`);
    for (const p of [polite, stubborn]) {
      assert.deepEqual(await ctd.runtime.listPodSandbox({ labelSelector: { [labels.podUid]: p.metadata.uid! } }), []);
      assert.ok(!existsSync(join(dataDir, 'pods', p.metadata.uid!)), `${p.metadata.name}: pod directory removed`);
    }
    assert.equal(statusOf(polite)!.containerStatuses![0].state?.terminated?.exitCode, 0);
    assert.equal(statusOf(stubborn)!.containerStatuses![0].state?.terminated?.exitCode, 137);
  });

  test('a pod gone from the list is stopped and removed', { timeout: 30_000 }, async () => {
    const gone = makePod('gone', [sh('main', 'exec sleep 3600')]);
    run(gone);
    await waitFor('gone Running', () => statusOf(gone)?.phase === 'Running');
    desired = desired.filter((p) => p !== gone);
    manager.setDesired(desired);
    await waitFor('gone terminated', () => terminated.has(gone.metadata.uid!), 15_000);
    assert.deepEqual(await ctd.runtime.listPodSandbox({ labelSelector: { [labels.podUid]: gone.metadata.uid! } }), []);
  });
});
