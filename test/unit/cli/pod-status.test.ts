import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ContainerStatus, Pod, PodStatus } from '../../../src/api/types.js';
import { summarizePod } from '../../../src/cli/printers/pod-status.js';

const now = Date.parse('2024-05-01T12:00:00Z');

function pod(status: PodStatus, opts: { init?: number; containers?: number; deleting?: boolean; sidecar?: boolean } = {}): Pod {
  const containers = Array.from({ length: opts.containers ?? 1 }, (_, i) => ({ name: `c${i}`, image: 'busybox' }));
  const initContainers = Array.from({ length: opts.init ?? 0 }, (_, i) => ({
    name: `i${i}`,
    image: 'busybox',
    ...(opts.sidecar && i === 0 ? { restartPolicy: 'Always' } : {}),
  }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', creationTimestamp: '2024-05-01T11:00:00Z', ...(opts.deleting ? { deletionTimestamp: '2024-05-01T11:59:00Z' } : {}) },
    spec: { containers, ...(initContainers.length ? { initContainers } : {}) },
    status,
  };
}

function cs(name: string, state: ContainerStatus['state'], extra: Partial<ContainerStatus> = {}): ContainerStatus {
  return { name, state, ready: false, restartCount: 0, image: 'busybox', imageID: '', ...extra };
}

const status = (p: Pod) => summarizePod(p, now).status;

test('phase, or the pod-level reason when one is set', { timeout: 5_000 }, () => {
  assert.equal(status(pod({ phase: 'Pending' })), 'Pending');
  assert.equal(status(pod({ phase: 'Failed', reason: 'Evicted' })), 'Evicted');
  assert.equal(
    status(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] })),
    'SchedulingGated',
  );
});

test('running and ready containers are counted in READY', { timeout: 5_000 }, () => {
  const p = pod(
    {
      phase: 'Running',
      containerStatuses: [
        cs('c0', { running: { startedAt: '2024-05-01T11:00:00Z' } }, { ready: true }),
        cs('c1', { running: { startedAt: '2024-05-01T11:00:00Z' } }, { ready: false }),
      ],
    },
    { containers: 2 },
  );
  assert.deepEqual(summarizePod(p, now), { ready: '1/2', status: 'Running', restarts: '0' });
});

test('waiting reasons of containers show through', { timeout: 5_000 }, () => {
  assert.equal(status(pod({ phase: 'Pending', containerStatuses: [cs('c0', { waiting: { reason: 'ContainerCreating' } })] })), 'ContainerCreating');
  assert.equal(status(pod({ phase: 'Running', containerStatuses: [cs('c0', { waiting: { reason: 'CrashLoopBackOff' } })] })), 'CrashLoopBackOff');
  assert.equal(status(pod({ phase: 'Pending', containerStatuses: [cs('c0', { waiting: { reason: 'ImagePullBackOff' } })] })), 'ImagePullBackOff');
});

test('terminated containers: their reason, else Signal:N, else ExitCode:N', { timeout: 5_000 }, () => {
  assert.equal(status(pod({ phase: 'Succeeded', containerStatuses: [cs('c0', { terminated: { exitCode: 0, reason: 'Completed' } })] })), 'Completed');
  assert.equal(status(pod({ phase: 'Failed', containerStatuses: [cs('c0', { terminated: { exitCode: 1, reason: 'Error' } })] })), 'Error');
  assert.equal(status(pod({ phase: 'Running', containerStatuses: [cs('c0', { terminated: { exitCode: 137, reason: 'OOMKilled' } })] })), 'OOMKilled');
  assert.equal(status(pod({ phase: 'Failed', containerStatuses: [cs('c0', { terminated: { exitCode: 137, signal: 9 } })] })), 'Signal:9');
  assert.equal(status(pod({ phase: 'Failed', containerStatuses: [cs('c0', { terminated: { exitCode: 3 } })] })), 'ExitCode:3');
});

test('Completed with another container still running reads Running or NotReady', { timeout: 5_000 }, () => {
  const statuses = [
    cs('c0', { running: {} }, { ready: true }),
    cs('c1', { terminated: { exitCode: 0, reason: 'Completed' } }),
  ];
  assert.equal(status(pod({ phase: 'Running', containerStatuses: statuses, conditions: [{ type: 'Ready', status: 'True' }] }, { containers: 2 })), 'Running');
  assert.equal(status(pod({ phase: 'Running', containerStatuses: statuses }, { containers: 2 })), 'NotReady');
});

test('init containers: Init:N/M while they run, Init:<reason> when they fail or wait', { timeout: 5_000 }, () => {
  const done = cs('i0', { terminated: { exitCode: 0, reason: 'Completed' } });
  assert.equal(status(pod({ phase: 'Pending', initContainerStatuses: [done, cs('i1', { running: {} })] }, { init: 2 })), 'Init:1/2');
  assert.equal(status(pod({ phase: 'Pending', initContainerStatuses: [cs('i0', { waiting: { reason: 'PodInitializing' } })] }, { init: 2 })), 'Init:0/2');
  assert.equal(status(pod({ phase: 'Pending', initContainerStatuses: [cs('i0', { terminated: { exitCode: 1, reason: 'Error' } })] }, { init: 1 })), 'Init:Error');
  assert.equal(
    status(pod({ phase: 'Pending', initContainerStatuses: [cs('i0', { waiting: { reason: 'CrashLoopBackOff' } })] }, { init: 1 })),
    'Init:CrashLoopBackOff',
  );
  assert.equal(status(pod({ phase: 'Pending', initContainerStatuses: [cs('i0', { terminated: { exitCode: 2 } })] }, { init: 1 })), 'Init:ExitCode:2');
  assert.equal(status(pod({ phase: 'Pending', initContainerStatuses: [cs('i0', { terminated: { exitCode: 2, signal: 15 } })] }, { init: 1 })), 'Init:Signal:15');
});

test('after init: PodInitializing from the main containers', { timeout: 5_000 }, () => {
  const p = pod(
    {
      phase: 'Pending',
      initContainerStatuses: [cs('i0', { terminated: { exitCode: 0, reason: 'Completed' } })],
      containerStatuses: [cs('c0', { waiting: { reason: 'PodInitializing' } })],
    },
    { init: 1 },
  );
  assert.equal(status(p), 'PodInitializing');
});

test('a started sidecar init container counts as a container and does not block', { timeout: 5_000 }, () => {
  const p = pod(
    {
      phase: 'Running',
      conditions: [{ type: 'Initialized', status: 'True' }],
      initContainerStatuses: [cs('i0', { running: {} }, { started: true, ready: true })],
      containerStatuses: [cs('c0', { running: {} }, { ready: true })],
    },
    { init: 1, sidecar: true },
  );
  assert.deepEqual(summarizePod(p, now), { ready: '2/2', status: 'Running', restarts: '0' });
});

test('Terminating once deletion started, unless the pod already finished; Unknown when its node is lost', { timeout: 5_000 }, () => {
  assert.equal(status(pod({ phase: 'Running' }, { deleting: true })), 'Terminating');
  assert.equal(status(pod({ phase: 'Succeeded', containerStatuses: [cs('c0', { terminated: { exitCode: 0, reason: 'Completed' } })] }, { deleting: true })), 'Completed');
  assert.equal(status(pod({ phase: 'Running', reason: 'NodeLost' }, { deleting: true })), 'Unknown');
});

test('restarts add up, with the time since the last one when known', { timeout: 5_000 }, () => {
  const p = pod(
    {
      phase: 'Running',
      containerStatuses: [
        cs('c0', { running: {} }, { ready: true, restartCount: 2, lastState: { terminated: { exitCode: 1, finishedAt: '2024-05-01T11:55:00Z' } } }),
        cs('c1', { running: {} }, { ready: true, restartCount: 1 }),
      ],
    },
    { containers: 2 },
  );
  assert.equal(summarizePod(p, now).restarts, '3 (5m ago)');
  assert.equal(summarizePod(pod({ phase: 'Running', containerStatuses: [cs('c0', { running: {} }, { restartCount: 4 })] }), now).restarts, '4');
});
