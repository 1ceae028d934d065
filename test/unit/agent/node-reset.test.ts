import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { saveIdentity, type AgentIdentity } from '../../../src/agent/identity.js';
import { resetNode, runningAgentPid, type HostNetworkCleanup } from '../../../src/agent/node-reset.js';

// ctl reset's bookkeeping on a data dir without a containerd: what it removes and keeps, and
// which host network state it asks to remove (through a fake, so the host is never touched).

const log = pino({ level: 'silent' });
const identity: AgentIdentity = {
  nodeName: 'n1',
  server: 'nats://127.0.0.1:4222',
  labels: {},
  cniBridge: 'sktest0',
  joinedAt: new Date().toISOString(),
  caPem: 'ca',
  certPem: 'cert',
  keyPem: 'key',
  nkeySeed: 'SU',
};

function fakeNet(links: string[], routes: number): HostNetworkCleanup & { deleted: string[]; flushed: number } {
  const net = {
    deleted: [] as string[],
    flushed: 0,
    async deleteLink(name: string) {
      net.deleted.push(name);
      return links.includes(name);
    },
    async flushPodRoutes() {
      net.flushed++;
      return routes;
    },
  };
  return net;
}

test("reset removes the node's entries, its bridge and routes, and keeps anything else", { timeout: 10_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-reset-'));
  try {
    await saveIdentity(dir, identity);
    mkdirSync(join(dir, 'state'));
    mkdirSync(join(dir, 'pods', 'uid-1'), { recursive: true });
    writeFileSync(join(dir, 'unrelated.txt'), 'keep me');
    const net = fakeNet(['sktest0'], 2);
    const r = await resetNode(dir, { log, net });
    assert.equal(r.nodeName, 'n1', 'names the node');
    assert.deepEqual(r.removed.sort(), ['identity', 'pods', 'state'].map((e) => join(dir, e)), 'identity, pod dirs and local state');
    assert.deepEqual(net.deleted, ['sktest0'], 'the saved --cni-bridge');
    assert.deepEqual(r.steps, ['deleted the pod bridge sktest0', "removed 2 route(s) to other nodes' pod subnets"], 'reported');
    assert.ok(existsSync(join(dir, 'unrelated.txt')), 'a file Skiff did not make stays');
    const again = await resetNode(dir, { log, net: fakeNet([], 0) });
    assert.deepEqual([again.removed, again.steps], [[], []], 'a second reset has nothing to do');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an emptied data dir goes too; a stale pid file does not count as a running agent', { timeout: 10_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-reset-'));
  try {
    await saveIdentity(dir, identity);
    // A pid that is not an agent (this test's own parent) or no longer exists.
    writeFileSync(join(dir, 'agent.pid'), `${process.ppid}\n`);
    assert.equal(runningAgentPid(dir), undefined, 'the parent is not an agent');
    writeFileSync(join(dir, 'agent.pid'), '999999999\n');
    assert.equal(runningAgentPid(dir), undefined, 'no such process');
    const r = await resetNode(dir, { log, net: fakeNet([], 0) });
    assert.ok(r.removed.includes(dir), `the data dir itself: ${r.removed.join(' ')}`);
    assert.equal(existsSync(dir), false, 'gone');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
