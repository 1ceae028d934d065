import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent } from '../../../src/agent/agent.js';
import { identityDir, loadIdentity } from '../../../src/agent/identity.js';
import { joinCluster, JoinError, type JoinOptions } from '../../../src/agent/join.js';
import { eventually, getNode, log, readyStatus, startHarness, type Harness } from '../bus/harness.js';
import { nodeJoinCrypto } from '../../../src/agent/node-key.js';

let h: Harness;
let scratch: string;
before(async () => {
  h = await startHarness();
  scratch = mkdtempSync(join(tmpdir(), 'skiff-join-'));
});
after(async () => {
  await h?.close();
  rmSync(scratch, { recursive: true, force: true });
});

let n = 0;
function options(over: Partial<JoinOptions>): JoinOptions {
  return {
    server: h.url,
    token: '',
    caCertHash: h.caCertHash,
    nodeName: `node-${++n}`,
    dataDir: join(scratch, `agent-${n}`),
    labels: {},
    crypto: nodeJoinCrypto,
    log,
    ...over,
  };
}

async function refused(over: Partial<JoinOptions>, message: RegExp): Promise<void> {
  const o = options(over);
  await assert.rejects(joinCluster(o), (e: Error) => {
    assert.ok(e instanceof JoinError, `expected a JoinError, got ${e}`);
    assert.match(e.message, message);
    return true;
  });
  assert.equal(await getNode(h.store, o.nodeName), undefined, 'no Node is created');
  assert.equal(existsSync(o.dataDir), false, 'nothing is written on the node');
}

test('two nodes join with the same token and become Ready', { timeout: 30_000 }, async () => {
  const { token } = await h.plane.tokens.create({ description: 'test' });
  const agents: Agent[] = [];
  try {
    for (const name of ['alpha', 'beta.lan']) {
      const o = options({ token, nodeName: name, labels: { tier: 'edge' } });
      const id = await joinCluster(o);
      assert.equal(id.nodeName, name);
      for (const f of readdirSync(identityDir(o.dataDir))) {
        assert.equal(statSync(join(identityDir(o.dataDir), f)).mode & 0o777, 0o600, `${f} is 0600`);
      }
      assert.equal(statSync(identityDir(o.dataDir)).mode & 0o777, 0o700);
      const agent = new Agent({ identity: await loadIdentity(o.dataDir), version: 'v0.1.0', log, heartbeatIntervalMs: 500 });
      agents.push(agent);
      await agent.start();
    }
    for (const name of ['alpha', 'beta.lan']) {
      const node = await eventually(`${name} Ready`, 10_000, async () => {
        const nd = await getNode(h.store, name);
        return readyStatus(nd) === 'True' && nd;
      });
      assert.equal(node.metadata.labels?.['kubernetes.io/hostname'], name);
      assert.equal(node.metadata.labels?.tier, 'edge');
      assert.ok(['amd64', 'arm64', 'arm'].includes(node.status!.nodeInfo!.architecture));
      assert.equal(node.status!.nodeInfo!.kubeletVersion, 'v0.1.0');
      assert.equal(node.status!.nodeInfo!.containerRuntimeVersion, 'containerd://unknown');
      assert.equal(node.status!.capacity!.pods, '110');
      assert.ok(node.status!.addresses!.some((a) => a.type === 'InternalIP'));
    }
  } finally {
    for (const a of agents) await a.stop();
  }
});

test('a malformed CA hash is refused before anything is contacted', { timeout: 10_000 }, async () => {
  const { token } = await h.plane.tokens.create({});
  await refused({ token, caCertHash: 'sha256:abc' }, /--discovery-token-ca-cert-hash "sha256:abc" is malformed/);
  await refused({ token, caCertHash: 'md5:00' }, /is malformed/);
});

test('a wrong CA hash is refused, naming both hashes', { timeout: 10_000 }, async () => {
  const { token } = await h.plane.tokens.create({});
  await refused({ token, caCertHash: `sha256:${'0'.repeat(64)}` }, /CA certificate hash mismatch: .* presented a CA with hash sha256:[0-9a-f]{64}, but --discovery-token-ca-cert-hash is sha256:0{64}/);
});

test('an unknown token is refused', { timeout: 10_000 }, async () => {
  await refused({ token: 'zzzzzz.0123456789abcdef' }, /bootstrap token "zzzzzz" was not found/);
});

test('a wrong secret is refused: the control plane cannot prove the token', { timeout: 10_000 }, async () => {
  const { token } = await h.plane.tokens.create({});
  await refused({ token: `${token.slice(0, 7)}${'x'.repeat(16)}` }, /token secret mismatch/);
});

test('an expired token is refused and then cleaned up', { timeout: 10_000 }, async () => {
  const { id, token } = await h.plane.tokens.create({ ttlSeconds: 1 });
  await new Promise((r) => setTimeout(r, 1100));
  await refused({ token }, new RegExp(`bootstrap token "${id}" expired at`));
  assert.ok((await h.plane.tokens.sweepExpired()) >= 1);
  assert.ok(!(await h.plane.tokens.list()).some((t) => t.id === id));
});

test('a deleted token is refused', { timeout: 10_000 }, async () => {
  const { id, token } = await h.plane.tokens.create({});
  await h.plane.tokens.delete(id);
  await refused({ token }, new RegExp(`bootstrap token "${id}" was not found: it was never created or has been deleted`));
});

test('a malformed token is refused without contacting the server', { timeout: 10_000 }, async () => {
  await refused({ token: 'nope' }, /--token: token "nope" is malformed/);
});
