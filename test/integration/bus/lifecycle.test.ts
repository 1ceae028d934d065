import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent } from '../../../src/agent/agent.js';
import { loadIdentity } from '../../../src/agent/identity.js';
import { joinCluster } from '../../../src/agent/join.js';
import type { Pod } from '../../../src/api/types.js';
import { codecs } from '../../../src/bus/messages.js';
import { subjects } from '../../../src/bus/subjects.js';
import { eventually, getNode, log, readyStatus, startHarness, within, type Harness } from './harness.js';
import { nodeJoinCrypto } from '../../../src/agent/node-key.js';

// Liveness: NotReady after the grace period without renewals, Ready again on the next one,
// survival of a nats-server crash, and revocation when a Node is deleted or joins again.

const graceMs = 2000;
let h: Harness;
let scratch: string;
let token: string;
const running = new Set<Agent>();

before(async () => {
  h = await startHarness({ gracePeriodMs: graceMs });
  scratch = mkdtempSync(join(tmpdir(), 'skiff-life-'));
  token = (await h.plane.tokens.create({})).token;
});
after(async () => {
  for (const a of running) await a.stop();
  await h?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function joinAndRun(nodeName: string, dataDir = join(scratch, nodeName)): Promise<Agent> {
  await joinCluster({ server: h.url, token, caCertHash: h.caCertHash, nodeName, dataDir, labels: {}, crypto: nodeJoinCrypto, log });
  return runAgent(dataDir);
}

async function runAgent(dataDir: string): Promise<Agent> {
  const agent = new Agent({ identity: await loadIdentity(dataDir), version: 'v0.1.0', log, heartbeatIntervalMs: 300 });
  running.add(agent);
  await agent.start();
  return agent;
}

const ready = (name: string, want: string) => async () => readyStatus(await getNode(h.store, name)) === want;

test('a stopped agent turns NotReady within the grace period and comes back without a token', { timeout: 30_000 }, async () => {
  const agent = await joinAndRun('life-1');
  await eventually('Ready', 10_000, ready('life-1', 'True'));
  await agent.stop();
  running.delete(agent);
  const stoppedAt = Date.now();
  await eventually('Ready=Unknown', graceMs + 2000, ready('life-1', 'Unknown'));
  const elapsed = Date.now() - stoppedAt;
  assert.ok(elapsed >= graceMs - 500, `not before the grace period (${elapsed} ms)`);
  const cond = (await getNode(h.store, 'life-1'))!.status!.conditions!.find((c) => c.type === 'Ready')!;
  assert.equal(cond.reason, 'NodeStatusUnknown');
  assert.equal(cond.message, 'Kubelet stopped posting node status.');

  await runAgent(join(scratch, 'life-1'));
  await eventually('Ready again', 10_000, ready('life-1', 'True'));
});

test('nats-server killed with SIGKILL is restarted and agents renew again within 15 s', { timeout: 30_000 }, async () => {
  await joinAndRun('life-2');
  await eventually('Ready', 10_000, ready('life-2', 'True'));
  // Statuses sent while the control plane was cut off are lost, so it asks nodes to resend.
  const resyncs = h.plane.nc.subscribe(subjects.toNode('life-2', 'resync'));
  const askedAgain = (async () => {
    for await (const m of resyncs) {
      const req = codecs.resyncRequest.decode(m.data);
      if (req.ok && req.value.reason === 'control plane reconnected') return req.value.reason;
    }
    return undefined;
  })();
  const oldPid = h.plane.supervisor.pid!;
  process.kill(oldPid, 'SIGKILL');
  const newPid = await eventually('a new nats-server', 10_000, () => {
    const p = h.plane.supervisor.pid;
    return p !== undefined && p !== oldPid && p;
  });
  assert.notEqual(newPid, oldPid);
  // A renewal seen by the control plane's own connection proves both sides reconnected.
  const sub = h.plane.nc.subscribe(subjects.fromNode('life-2', 'lease'), { max: 1 });
  const renewed = (async () => {
    for await (const m of sub) return m.subject;
    return undefined;
  })();
  assert.equal(await within(renewed, 15_000, 'no renewal'), 'skiff.from.life-2.lease');
  sub.unsubscribe();
  assert.equal(await within(askedAgain, 15_000, 'no resync request after the reconnect'), 'control plane reconnected');
  resyncs.unsubscribe();
  await eventually('Ready after the restart', 15_000, ready('life-2', 'True'));
});

test('deleting the Node revokes its NATS credentials', { timeout: 30_000 }, async () => {
  const agent = await joinAndRun('life-3');
  await eventually('Ready', 10_000, ready('life-3', 'True'));
  const closed = agent.closed().then(
    () => 'closed without error',
    (e: Error) => e.message,
  );
  await h.store.delete({ resource: 'nodes', namespace: '', name: 'life-3' });
  const why = await within(closed, 15_000, 'still connected');
  assert.match(why, /authorization|permissions|auth/i);
  running.delete(agent);
  assert.equal(await getNode(h.store, 'life-3'), undefined, 'the agent does not recreate its Node');
});

test('joining again with the same name replaces the old credentials', { timeout: 30_000 }, async () => {
  const first = await joinAndRun('life-4', join(scratch, 'life-4-first'));
  await eventually('Ready', 10_000, ready('life-4', 'True'));
  const closed = first.closed().then(
    () => 'closed without error',
    (e: Error) => e.message,
  );
  await joinAndRun('life-4', join(scratch, 'life-4-second'));
  const why = await within(closed, 15_000, 'still connected');
  assert.match(why, /authorization|auth/i);
  running.delete(first);
  await eventually('Ready with the new identity', 10_000, ready('life-4', 'True'));
});

test("a node that stops renewing has its pods' Ready turned False, other nodes' pods untouched", { timeout: 30_000 }, async () => {
  const agent = await joinAndRun('life-pods');
  await eventually('Ready', 10_000, ready('life-pods', 'True'));
  const pod = (name: string, nodeName: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox:1' }] },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
  });
  await h.store.create('pods', pod('on-lost', 'life-pods'));
  await h.store.create('pods', pod('on-other', 'some-other-node'));
  await agent.stop();
  running.delete(agent);
  await eventually('Ready=Unknown', graceMs + 3000, ready('life-pods', 'Unknown'));
  const readyOf = async (name: string) => ((await h.store.get({ resource: 'pods', namespace: 'default', name })) as Pod | undefined)?.status?.conditions?.find((c) => c.type === 'Ready');
  const marked = await eventually('the lost node’s pod not Ready', 3000, async () => {
    const c = await readyOf('on-lost');
    return c?.status === 'False' && c;
  });
  assert.notEqual(marked.lastTransitionTime, '2026-01-01T00:00:00Z', 'the transition time moves with the change');
  assert.equal((await readyOf('on-other'))?.status, 'True', "another node's pod keeps its Ready");
});
