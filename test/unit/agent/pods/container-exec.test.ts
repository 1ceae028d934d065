import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execInContainer, maxOutputBytes } from '../../../../src/agent/pods/container-exec.js';
import type { PodExecRequest } from '../../../../src/bus/messages.js';
import type { CriRuntime } from '../../../../src/cri/runtime.js';
import type { Container, ContainerFilter } from '../../../../src/cri/types.js';

const req: PodExecRequest = { v: 1, namespace: 'default', name: 'web', uid: 'u1', container: 'app', command: ['sh', '-c', 'x'], timeoutSeconds: 5 };

function fakeRuntime(containers: Partial<Container>[], stdout = Buffer.from('out')) {
  const calls: { filter?: ContainerFilter; execIn?: string } = {};
  const runtime = {
    listContainers: async (filter?: ContainerFilter) => {
      calls.filter = filter;
      return containers as Container[];
    },
    execSync: async (id: string) => {
      calls.execIn = id;
      return { stdout, stderr: Buffer.from('err'), exitCode: 3 };
    },
  } as unknown as CriRuntime;
  return { runtime, calls };
}

test('runs in the newest running container of that name and returns output and exit code', { timeout: 2_000 }, async () => {
  const { runtime, calls } = fakeRuntime([{ id: 'old', createdAt: 1 }, { id: 'new', createdAt: 2 }]);
  const r = await execInContainer(runtime, req);
  assert.ok(r.ok, 'answered');
  assert.equal(calls.execIn, 'new');
  assert.deepEqual(calls.filter?.state, { state: 'CONTAINER_RUNNING' });
  assert.equal(Buffer.from(r.stdout, 'base64').toString(), 'out');
  assert.equal(Buffer.from(r.stderr, 'base64').toString(), 'err');
  assert.equal(r.exitCode, 3);
  assert.equal(r.truncated, false);
});

test('no running container is refused as the kubelet words it; big output is cut and marked', { timeout: 2_000 }, async () => {
  const none = await execInContainer(fakeRuntime([]).runtime, req);
  assert.ok(!none.ok, 'refused');
  assert.equal(none.error.message, 'unable to upgrade connection: container not found ("app")');
  const big = await execInContainer(fakeRuntime([{ id: 'c', createdAt: 1 }], Buffer.alloc(maxOutputBytes + 10, 'a')).runtime, req);
  assert.ok(big.ok, 'answered');
  assert.equal(big.truncated, true);
  assert.equal(Buffer.from(big.stdout, 'base64').length, maxOutputBytes);
});
