import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent } from '../../../src/agent/agent.js';
import { loadIdentity } from '../../../src/agent/identity.js';
import { joinCluster } from '../../../src/agent/join.js';
import { nodeJoinCrypto } from '../../../src/agent/node-key.js';
import type { Node } from '../../../src/api/types.js';
import { eventually, getNode, log, readyStatus, startHarness, type Harness } from './harness.js';

// The node-failure taint on a real store and NATS: a silent agent's Node gets
// node.kubernetes.io/unreachable:NoExecute with its Ready=Unknown, loses it when the agent is
// back, and taints set by users stay throughout.

const graceMs = 1500;
let h: Harness;
let scratch: string;
let agent: Agent | undefined;

before(async () => {
  h = await startHarness({ gracePeriodMs: graceMs });
  scratch = mkdtempSync(join(tmpdir(), 'skiff-taints-'));
});
after(async () => {
  await agent?.stop();
  await h?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function runAgent(dataDir: string): Promise<Agent> {
  const a = new Agent({ identity: await loadIdentity(dataDir), version: 'v0.1.0', log, heartbeatIntervalMs: 300 });
  await a.start();
  return a;
}

const taintKeys = (node: Node | undefined) => (node?.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();

test('Ready=Unknown adds the unreachable NoExecute taint and Ready again removes it, keeping user taints', { timeout: 30_000 }, async () => {
  const token = (await h.plane.tokens.create({})).token;
  const dataDir = join(scratch, 'taint-1');
  await joinCluster({ server: h.url, token, caCertHash: h.caCertHash, nodeName: 'taint-1', dataDir, labels: {}, crypto: nodeJoinCrypto, log });
  agent = await runAgent(dataDir);
  await eventually('Ready', 10_000, async () => readyStatus(await getNode(h.store, 'taint-1')) === 'True');
  assert.deepEqual(taintKeys(await getNode(h.store, 'taint-1')), [], 'a Ready node has a condition taint');

  const dedicated = { key: 'dedicated', value: 'edge', effect: 'NoSchedule' as const };
  await h.store.guaranteedUpdate({ resource: 'nodes', namespace: '', name: 'taint-1' }, (cur) => ({ ...cur, spec: { ...(cur as Node).spec, taints: [dedicated] } }));

  await agent.stop();
  agent = undefined;
  const lost = await eventually('Ready=Unknown', graceMs + 5_000, async () => {
    const n = await getNode(h.store, 'taint-1');
    return readyStatus(n) === 'Unknown' && n;
  });
  assert.deepEqual(taintKeys(lost), ['dedicated:NoSchedule', 'node.kubernetes.io/unreachable:NoExecute']);
  const unreachable = lost.spec!.taints!.find((t) => t.key === 'node.kubernetes.io/unreachable')!;
  assert.ok(unreachable.timeAdded && Date.now() - Date.parse(unreachable.timeAdded) < 10_000, `timeAdded not set to now: ${unreachable.timeAdded}`);

  // Removed by hand while the node is still gone: the next check puts it back.
  await h.store.guaranteedUpdate({ resource: 'nodes', namespace: '', name: 'taint-1' }, (cur) => ({ ...cur, spec: { ...(cur as Node).spec, taints: [dedicated] } }));
  await eventually('the taint restored', 5_000, async () => taintKeys(await getNode(h.store, 'taint-1')).includes('node.kubernetes.io/unreachable:NoExecute'));

  agent = await runAgent(dataDir);
  const back = await eventually('Ready again', 10_000, async () => {
    const n = await getNode(h.store, 'taint-1');
    return readyStatus(n) === 'True' && n;
  });
  assert.deepEqual(taintKeys(back), ['dedicated:NoSchedule'], 'the condition taint outlived Ready, or a user taint was lost');
});
