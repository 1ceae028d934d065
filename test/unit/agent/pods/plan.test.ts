import assert from 'node:assert/strict';
import { test } from 'node:test';
import { computePodActions, type PlanInput } from '../../../../src/agent/pods/plan.js';
import { ctr, obs, pod } from './fixtures.js';

const noBackoff = { backoffRemaining: () => 0, backoffDelay: () => 0 };
const plan = (input: Omit<PlanInput, 'backoffRemaining' | 'backoffDelay'> & Partial<PlanInput>) => computePodActions({ ...noBackoff, ...input });

test('a new pod gets a sandbox and its first container', { timeout: 5000 }, () => {
  const a = plan({ pod: pod(), observed: { sandboxes: [], containers: [] } });
  assert.deepEqual(a.createSandbox, { attempt: 0 });
  assert.deepEqual(a.start, [{ name: 'main', kind: 'app', attempt: 0 }]);
});

test('init containers start one at a time, app containers only after all succeeded', { timeout: 5000 }, () => {
  const p = pod({ initContainers: [{ name: 'i1' }, { name: 'i2' }], containers: [{ name: 'a' }, { name: 'b' }] });
  assert.deepEqual(plan({ pod: p, observed: obs([]) }).start.map((s) => s.name), ['i1']);
  assert.deepEqual(plan({ pod: p, observed: obs([ctr('i1', 'running')]) }).start, []);
  assert.deepEqual(plan({ pod: p, observed: obs([ctr('i1', 'exited')]) }).start.map((s) => s.name), ['i2']);
  assert.deepEqual(plan({ pod: p, observed: obs([ctr('i1', 'exited'), ctr('i2', 'exited')]) }).start.map((s) => s.name), ['a', 'b']);
  assert.deepEqual(plan({ pod: p, observed: obs([ctr('i1', 'exited'), ctr('i2', 'exited'), ctr('a', 'running')]) }).start.map((s) => s.name), ['b']);
});

test('running containers are kept; exited ones restart by restartPolicy with a new attempt', { timeout: 5000 }, () => {
  const crashed = [ctr('main', 'exited', { exitCode: 1, attempt: 2 })];
  assert.deepEqual(plan({ pod: pod(), observed: obs([ctr('main', 'running')]) }).start, []);
  assert.deepEqual(plan({ pod: pod(), observed: obs(crashed) }).start, [{ name: 'main', kind: 'app', attempt: 3 }]);
  assert.deepEqual(plan({ pod: pod({ restartPolicy: 'OnFailure' }), observed: obs(crashed) }).start.length, 1);
  const never = plan({ pod: pod({ restartPolicy: 'Never' }), observed: obs(crashed) });
  assert.deepEqual(never.start, []);
  assert.equal(never.stopSandbox, 'sb1', 'a finished pod stops its sandbox');
  assert.deepEqual(plan({ pod: pod({ restartPolicy: 'OnFailure' }), observed: obs([ctr('main', 'exited')]) }).start, []);
});

test('back-off holds a restart and says when to look again', { timeout: 5000 }, () => {
  const a = computePodActions({ pod: pod(), observed: obs([ctr('main', 'exited', { exitCode: 1, attempt: 1 })]), backoffRemaining: () => 7000, backoffDelay: () => 10_000 });
  assert.deepEqual(a.start, []);
  assert.equal(a.waiting.main.reason, 'CrashLoopBackOff');
  assert.equal(a.waiting.main.message, 'back-off 10s restarting failed container=main pod=p_default(u1)');
  assert.equal(a.wakeInMs, 7000);
});

test('a dead sandbox is replaced and what ran in it is stopped; image errors hold a start', { timeout: 5000 }, () => {
  const running = ctr('main', 'running');
  const a = plan({ pod: pod(), observed: obs([running], false) });
  assert.deepEqual(a.createSandbox, { attempt: 1 });
  assert.deepEqual(a.removeSandboxes, ['sb1']);
  assert.deepEqual(a.kill.map((c) => c.id), [running.id]);
  assert.deepEqual(a.start, [{ name: 'main', kind: 'app', attempt: 1 }]);
  const held = plan({ pod: pod(), observed: obs([]), imageErrors: { main: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } } });
  assert.deepEqual(held.start, []);
  assert.equal(held.waiting.main.reason, 'ImagePullBackOff');
});

test('old exited attempts beyond the previous one are garbage', { timeout: 5000 }, () => {
  const cs = [0, 1, 2, 3].map((attempt) => ctr('main', 'exited', { attempt, exitCode: 1 }));
  assert.deepEqual(plan({ pod: pod(), observed: obs(cs) }).garbage.sort(), [cs[0].id, cs[1].id].sort());
});
