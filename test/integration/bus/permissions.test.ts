import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, Events, type NatsConnection } from 'nats';
import { Agent } from '../../../src/agent/agent.js';
import { joinCluster } from '../../../src/agent/join.js';
import type { AgentIdentity } from '../../../src/agent/identity.js';
import { connectBus } from '../../../src/bus/connection.js';
import { codecs } from '../../../src/bus/messages.js';
import { subjects } from '../../../src/bus/subjects.js';
import { eventually, getNode, log, readyStatus, startHarness, type Harness } from './harness.js';
import { nodeJoinCrypto } from '../../../src/agent/node-key.js';

// Least privilege is enforced by nats-server: node A's credentials cannot speak for node B
// or read B's subjects, and a client without credentials reaches only the bootstrap subjects.

let h: Harness;
let scratch: string;
let a: AgentIdentity;
let b: AgentIdentity;
const agents: Agent[] = [];

before(async () => {
  h = await startHarness();
  scratch = mkdtempSync(join(tmpdir(), 'skiff-perm-'));
  const { token } = await h.plane.tokens.create({});
  const joinAs = (nodeName: string) =>
    joinCluster({ server: h.url, token, caCertHash: h.caCertHash, nodeName, dataDir: join(scratch, nodeName), labels: {}, crypto: nodeJoinCrypto, log });
  a = await joinAs('node-a');
  b = await joinAs('node-b');
  for (const id of [a, b]) {
    const agent = new Agent({ identity: id, version: 'v0.1.0', log, heartbeatIntervalMs: 500 });
    agents.push(agent);
    await agent.start();
  }
  await eventually('both nodes Ready', 10_000, async () => readyStatus(await getNode(h.store, 'node-b')) === 'True' && readyStatus(await getNode(h.store, 'node-a')) === 'True');
});
after(async () => {
  for (const agent of agents) await agent.stop();
  await h?.close();
  rmSync(scratch, { recursive: true, force: true });
});

interface Violation {
  operation: string;
  subject: string;
}

/** Connects with `id`'s credentials and records the permission violations the server reports. */
async function connectAs(id: AgentIdentity, inboxPrefix = subjects.nodeInboxPrefix(id.nodeName)): Promise<{ nc: NatsConnection; violations: Violation[] }> {
  const nc = await connectBus({ servers: h.url, name: 'test', trust: { kind: 'ca', caPem: id.caPem }, nkeySeed: id.nkeySeed, inboxPrefix, persistent: false, log });
  const violations: Violation[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      const ctx = (s as { permissionContext?: Violation }).permissionContext;
      if (s.type === Events.Error && s.data === 'PERMISSIONS_VIOLATION' && ctx) violations.push(ctx);
    }
  })();
  return { nc, violations };
}

test("node A cannot publish node B's status: nats-server refuses it", { timeout: 15_000 }, async () => {
  const { nc, violations } = await connectAs(a);
  try {
    nc.publish(subjects.fromNode('node-b', 'status'), codecs.nodeStatusReport.encode({ ...sampleReport('node-b'), labels: { forged: 'yes' } }));
    await nc.flush();
    const v = await eventually('a publish violation', 5000, () => violations.find((x) => x.operation === 'publish'));
    assert.equal(v.subject, 'skiff.from.node-b.status');
    assert.equal((await getNode(h.store, 'node-b'))?.metadata.labels?.forged, undefined);
  } finally {
    await nc.close();
  }
});

test('a node may read what goes to every node, but not publish it', { timeout: 15_000 }, async () => {
  const { nc, violations } = await connectAs(a);
  try {
    nc.subscribe(subjects.toAllNodesAll);
    nc.publish(subjects.toAllNodes('network'), codecs.podNetwork.encode({ v: 1, nodes: [] }));
    await nc.flush();
    const v = await eventually('a publish violation', 5000, () => violations.find((x) => x.operation === 'publish'));
    assert.equal(v.subject, 'skiff.all.network', 'the publish is refused');
    assert.deepEqual(violations.filter((x) => x.operation === 'subscription'), [], 'the subscription is allowed');
  } finally {
    await nc.close();
  }
});

test("node A cannot subscribe to node B's subjects or inbox", { timeout: 15_000 }, async () => {
  const { nc, violations } = await connectAs(a);
  try {
    nc.subscribe(subjects.toNodeAll('node-b'));
    nc.subscribe(subjects.nodeInboxAll('node-b'));
    nc.subscribe(subjects.fromAnyNode('status'));
    await nc.flush();
    await eventually('three subscription violations', 5000, () => violations.filter((v) => v.operation === 'subscription').length >= 3);
    assert.deepEqual(
      violations.filter((v) => v.operation === 'subscription').map((v) => v.subject).sort(),
      ['_INBOX_node-b.>', 'skiff.from.*.status', 'skiff.to.node-b.>'],
    );
  } finally {
    await nc.close();
  }
});

test('a status on A\'s own subject that claims to be B is dropped by the control plane', { timeout: 15_000 }, async () => {
  const { nc, violations } = await connectAs(a);
  try {
    nc.publish(subjects.fromNode('node-a', 'status'), codecs.nodeStatusReport.encode({ ...sampleReport('node-b'), labels: { forged: 'yes' } }));
    // A genuine report sent after it, on the same connection, arrives after it: once that one is
    // applied, the forged one has been seen and dropped.
    nc.publish(subjects.fromNode('node-a', 'status'), codecs.nodeStatusReport.encode({ ...sampleReport('node-a'), labels: { marker: 'after-forgery' } }));
    await nc.flush();
    await eventually('the genuine report applied', 5000, async () => (await getNode(h.store, 'node-a'))?.metadata.labels?.marker === 'after-forgery');
    assert.equal(violations.length, 0, 'publishing on its own subject is allowed');
    assert.equal((await getNode(h.store, 'node-b'))?.metadata.labels?.forged, undefined);
  } finally {
    await nc.close();
  }
});

test('a client without credentials reaches only the bootstrap subjects', { timeout: 15_000 }, async () => {
  const nc = await connect({ servers: h.url, tls: { ca: a.caPem } });
  const violations: Violation[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      const ctx = (s as { permissionContext?: Violation }).permissionContext;
      if (ctx) violations.push(ctx);
    }
  })();
  try {
    nc.publish(subjects.fromNode('node-a', 'lease'), codecs.leaseRenewal.encode({ v: 1, nodeName: 'node-a', renewTime: new Date().toISOString() }));
    nc.subscribe(subjects.bootstrapJoin);
    await nc.flush();
    await eventually('two violations', 5000, () => violations.length >= 2);
    assert.deepEqual(violations.map((v) => `${v.operation} ${v.subject}`).sort(), ['publish skiff.from.node-a.lease', 'subscription skiff.bootstrap.join']);
  } finally {
    await nc.close();
  }
});

function sampleReport(nodeName: string) {
  return {
    v: 1 as const,
    nodeName,
    labels: {},
    addresses: [{ type: 'InternalIP', address: '10.9.9.9' }],
    capacity: { cpu: '1', memory: '1Ki', pods: '110' },
    allocatable: { cpu: '1', memory: '1Ki', pods: '110' },
    nodeInfo: { kernelVersion: 'x', osImage: 'x', containerRuntimeVersion: 'x', kubeletVersion: 'x', operatingSystem: 'linux', architecture: 'amd64' },
  };
}

test('a bootstrap request with a forged reply subject gets no answer on a node subject', { timeout: 15_000 }, async () => {
  const anon = await connect({ servers: h.url, tls: { ca: a.caPem } });
  const watcher = await connectAs(a);
  try {
    const seen: string[] = [];
    watcher.nc.subscribe(subjects.toNodeAll('node-a'), { callback: (_e, m) => seen.push(m.subject) });
    await watcher.nc.flush();
    anon.publish(subjects.bootstrapClusterInfo, codecs.clusterInfoRequest.encode({ v: 1, tokenId: 'abcdef' }), { reply: subjects.toNode('node-a', 'resync') });
    await anon.flush();
    // A real request right after it is answered, so the forged one has been handled by then.
    const r = await anon.request(subjects.bootstrapClusterInfo, codecs.clusterInfoRequest.encode({ v: 1, tokenId: 'abcdef' }), { timeout: 5000 });
    assert.ok(codecs.clusterInfoReply.decode(r.data).ok);
    await watcher.nc.flush();
    // The control plane may push node-a its peer list meanwhile; only the forged reply subject matters.
    assert.deepEqual(seen.filter((subject) => subject === subjects.toNode('node-a', 'resync')), [], 'the forged reply subject must get no answer');
  } finally {
    await anon.close();
    await watcher.nc.close();
  }
});
