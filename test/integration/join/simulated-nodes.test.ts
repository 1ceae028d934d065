import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SimulatedNodes } from '../../../src/agent/simulated-nodes.js';
import type { KObject, Pod } from '../../../src/api/types.js';
import { requestPodDeletion, startPodDispatch, type PodDispatch } from '../../../src/server/pod-dispatch.js';
import { eventually, getNode, log, readyStatus, startHarness, type Harness } from '../bus/harness.js';

// Simulated nodes against a real nats-server and the control plane's NATS side: they join with a
// bootstrap token, turn Ready, run what they are given (reported Running and Ready) and report
// deleted pods gone, so the objects are removed.

let h: Harness;
let dispatch: PodDispatch;
let scratch: string;
let nodes: SimulatedNodes;

before(async () => {
  h = await startHarness();
  dispatch = await startPodDispatch({ nc: h.plane.nc, store: h.store, log });
  scratch = mkdtempSync(join(tmpdir(), 'skiff-simulated-'));
});
after(async () => {
  await nodes?.stop();
  dispatch?.close();
  await h?.close();
  rmSync(scratch, { recursive: true, force: true });
});

test('simulated nodes join through NATS, run their pods and report deleted ones gone', { timeout: 60_000 }, async () => {
  const { token } = await h.plane.tokens.create({ description: 'simulated' });
  let started = 0;
  nodes = new SimulatedNodes({ server: h.url, token, caCertHash: h.caCertHash, count: 3, namePrefix: 'sim', dataDir: scratch, version: 'v0.0.0-test', log, maxPods: 50, cpu: 8, heartbeatIntervalMs: 500, onStarted: (n) => (started = n) });
  await nodes.start();
  assert.equal(started, 3, 'every node reported as started');
  for (const name of ['sim-0', 'sim-1', 'sim-2']) {
    const node = await eventually(`${name} Ready`, 10_000, async () => {
      const n = await getNode(h.store, name);
      return readyStatus(n) === 'True' && n;
    });
    assert.equal(node.status?.capacity?.pods, '50', 'maxPods is the reported pod capacity');
    assert.equal(node.status?.capacity?.cpu, '8', 'the simulated cpu count is reported');
    assert.match(node.status?.nodeInfo?.containerRuntimeVersion ?? '', /^simulated:\/\//, 'the runtime says it is simulated');
  }

  const pod: KObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { nodeName: 'sim-1', containers: [{ name: 'c', image: 'busybox:1' }] }, status: { phase: 'Pending' } };
  await h.store.create('pods', pod);
  const running = await eventually('the pod Running and Ready', 10_000, async () => {
    const p = (await h.store.get({ resource: 'pods', namespace: 'default', name: 'p' })) as Pod | undefined;
    return p?.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && p;
  });
  assert.equal(running.status?.containerStatuses?.[0]?.ready, true, 'its container is ready');
  assert.match(running.status?.hostIP ?? '', /^10\.\d+\.\d+\.\d+$/, 'a host IP per simulated node');

  await requestPodDeletion(h.store, { namespace: 'default', name: 'p' });
  await eventually('the deleted pod removed once its node reports it gone', 10_000, async () => !(await h.store.get({ resource: 'pods', namespace: 'default', name: 'p' })));

  // Started again on the same data directory, they come back without joining (the token is gone).
  await nodes.stop();
  await h.plane.tokens.delete(token.split('.')[0]);
  nodes = new SimulatedNodes({ server: h.url, token, caCertHash: h.caCertHash, count: 3, namePrefix: 'sim', dataDir: scratch, version: 'v0.0.0-test', log });
  await nodes.start();
  assert.equal(nodes.started, 3, 'all three restarted from their saved identities');
});
