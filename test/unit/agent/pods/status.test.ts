import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computePodStatus } from '../../../../src/agent/pods/status.js';
import { ctr, obs, pod } from './fixtures.js';

const now = new Date('2026-01-01T00:00:00Z');
const status = (...args: Parameters<typeof pod>) => (o: ReturnType<typeof obs>, waiting = {}) => computePodStatus({ pod: pod(...args), observed: o, waiting, now, hostIP: '192.168.1.2' });

test('phase follows kubelet: waiting is Pending, running is Running', { timeout: 5000 }, () => {
  const s = status();
  assert.equal(s({ sandboxes: [], containers: [] }).phase, 'Pending');
  assert.equal(s({ sandboxes: [], containers: [] }).containerStatuses![0].state?.waiting?.reason, 'ContainerCreating');
  const running = s(obs([ctr('main', 'running')]));
  assert.equal(running.phase, 'Running');
  assert.equal(running.podIP, '10.42.0.5');
  assert.equal(running.hostIP, '192.168.1.2');
  assert.equal(running.containerStatuses![0].ready, true);
  assert.deepEqual(Object.fromEntries(running.conditions!.map((c) => [c.type, c.status])), { Initialized: 'True', Ready: 'True', ContainersReady: 'True', PodScheduled: 'True' });
});

test('restartPolicy decides the phase once every container has exited', { timeout: 5000 }, () => {
  const exited0 = obs([ctr('main', 'exited')]);
  const exited1 = obs([ctr('main', 'exited', { exitCode: 1, reason: 'Error' })]);
  assert.equal(status({ restartPolicy: 'Never' })(exited0).phase, 'Succeeded');
  assert.equal(status({ restartPolicy: 'Never' })(exited1).phase, 'Failed');
  assert.equal(status({ restartPolicy: 'OnFailure' })(exited0).phase, 'Succeeded');
  assert.equal(status({ restartPolicy: 'OnFailure' })(exited1).phase, 'Running');
  assert.equal(status({ restartPolicy: 'Always' })(exited0).phase, 'Running');
  const done = status({ restartPolicy: 'Never' })(exited0);
  assert.equal(done.conditions!.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
  assert.equal(done.containerStatuses![0].state?.terminated?.reason, 'Completed');
});

test('a container in back-off is waiting with its last termination kept', { timeout: 5000 }, () => {
  const crashed = ctr('main', 'exited', { exitCode: 2, reason: 'Error', attempt: 3 });
  const s = status()(obs([crashed]), { main: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container=main pod=p_default(u1)' } });
  const cs = s.containerStatuses![0];
  assert.equal(cs.state?.waiting?.reason, 'CrashLoopBackOff');
  assert.equal(cs.lastState?.terminated?.exitCode, 2);
  assert.equal(cs.restartCount, 3);
  assert.equal(s.phase, 'Running');
  assert.equal(s.conditions!.find((c) => c.type === 'ContainersReady')?.message, 'containers with unready status: [main]');
});

test('init containers: Pending until all succeed; a failed one fails the pod only under Never', { timeout: 5000 }, () => {
  const spec = { initContainers: [{ name: 'i1', image: 'x:1' }, { name: 'i2', image: 'x:1' }] };
  const first = status(spec)(obs([ctr('i1', 'running', { kind: 'init' })]));
  assert.equal(first.phase, 'Pending');
  assert.equal(first.initContainerStatuses![1].state?.waiting?.reason, 'PodInitializing');
  assert.equal(first.containerStatuses![0].state?.waiting?.reason, 'PodInitializing');
  assert.equal(first.conditions!.find((c) => c.type === 'Initialized')?.message, 'containers with incomplete status: [i1 i2]');
  const failed = [ctr('i1', 'exited', { kind: 'init', exitCode: 1, reason: 'Error' })];
  assert.equal(status({ ...spec, restartPolicy: 'Never' })(obs(failed)).phase, 'Failed');
  assert.equal(status({ ...spec, restartPolicy: 'Always' })(obs(failed)).phase, 'Pending');
  const done = status(spec)(obs([ctr('i1', 'exited', { kind: 'init' }), ctr('i2', 'exited', { kind: 'init' }), ctr('main', 'running')]));
  assert.equal(done.phase, 'Running');
  assert.equal(done.initContainerStatuses![1].ready, true);
  assert.equal(done.conditions!.find((c) => c.type === 'Initialized')?.status, 'True');
});

test('OOMKilled and times: the reason comes from CRI, finishedAt never precedes startedAt', { timeout: 5000 }, () => {
  const c = ctr('main', 'exited', { exitCode: 137, reason: 'OOMKilled', startedAt: Date.parse('2026-01-01T00:00:05Z'), finishedAt: Date.parse('2026-01-01T00:00:04Z') });
  const t = status({ restartPolicy: 'Never' })(obs([c])).containerStatuses![0].state!.terminated!;
  assert.equal(t.reason, 'OOMKilled');
  assert.equal(t.startedAt, '2026-01-01T00:00:05Z');
  assert.equal(t.finishedAt, '2026-01-01T00:00:05Z');
  assert.equal(t.containerID, `containerd://${c.id}`);
});

test('transition times stay while a condition keeps its status', { timeout: 5000 }, () => {
  const p = pod();
  const first = computePodStatus({ pod: p, observed: obs([ctr('main', 'running')]), now: new Date('2026-01-01T00:00:00Z') });
  const later = computePodStatus({ pod: p, observed: obs([ctr('main', 'running')]), now: new Date('2026-01-01T01:00:00Z'), previous: first });
  assert.equal(later.conditions!.find((c) => c.type === 'Ready')?.lastTransitionTime, '2026-01-01T00:00:00Z');
  assert.equal(later.startTime, first.startTime);
});
