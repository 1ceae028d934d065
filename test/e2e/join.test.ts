import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, sleep, TestCluster, type CtlProcess } from './harness.js';

// `ctl join` end to end: a real control plane with its nats-server, agents as separate `ctl`
// processes, everything checked through `ctl get nodes` as a user would.
//
// Not yet picked up by the test command (which runs *.test.ts): it needs `ctl server` to start
// the NATS plane (startNatsPlane, token routes, --nats-port and --node-monitor-grace-period).
// Rename it to join.test.ts in the change that wires those in.

const graceSeconds = 3;
let cluster: TestCluster;
let natsPort: number;
let joinLine: string;
let token: string;
let caHash: string;
const agents = new Map<string, { dataDir: string; proc: CtlProcess }>();

before(async () => {
  natsPort = await freePort();
  cluster = await TestCluster.start({ serverArgs: ['--nats-port', String(natsPort), '--node-monitor-grace-period', `${graceSeconds}s`] });
  const created = await cluster.ctl(['token', 'create', '--description', 'e2e', '--print-join-command']);
  assert.equal(created.code, 0, created.stderr);
  joinLine = created.stdout.trim();
  const m = /^ctl join (nats:\/\/\S+) --token (\S+) --discovery-token-ca-cert-hash (sha256:[0-9a-f]{64})$/.exec(joinLine);
  assert.ok(m, `a pasteable join command: ${joinLine}`);
  assert.equal(m[1], `nats://127.0.0.1:${natsPort}`);
  token = m[2];
  caHash = m[3];
});
after(async () => {
  await cluster?.stop();
  for (const b of bridges) spawnSync('ip', ['link', 'del', b], { stdio: 'ignore' });
});

// Each agent runs its own containerd; a bridge and subnet of its own keep them apart.
const bridges: string[] = [];

function startJoin(name: string): void {
  const dataDir = cluster.tempDir(`agent-${name}`);
  const args = joinLine.split(' ').slice(1);
  const bridge = `sk${randomBytes(4).toString('hex')}`;
  bridges.push(bridge);
  const podCidr = `10.87.${randomInt(0, 256)}.0/24`;
  const proc = cluster.spawnCtl([
    ...args,
    ...['--node-name', name, '--data-dir', dataDir, '--node-status-update-frequency', '500ms', '--labels', 'tier=edge'],
    ...['--cni-bridge', bridge, '--pod-cidr', podCidr],
  ]);
  agents.set(name, { dataDir, proc });
}

async function nodeStatuses(): Promise<Map<string, string>> {
  const r = await cluster.ctl(['get', 'nodes', '--no-headers']);
  assert.equal(r.code, 0, r.stderr);
  return new Map(r.stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)).map((cols) => [cols[0], cols[1]]));
}

async function waitStatus(want: Record<string, string>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = new Map<string, string>();
  while (Date.now() < deadline) {
    last = await nodeStatuses();
    if (Object.entries(want).every(([n, s]) => last.get(n) === s)) return;
    await sleep(200);
  }
  throw new Error(`nodes not ${JSON.stringify(want)} within ${timeoutMs} ms: ${JSON.stringify([...last])}\n${cluster.log.slice(-4000)}`);
}

test('two agents join with the same token and are Ready within 10 s', { timeout: 60_000 }, async () => {
  const t0 = Date.now();
  startJoin('e2e-a');
  startJoin('e2e-b');
  await waitStatus({ 'e2e-a': 'Ready', 'e2e-b': 'Ready' }, 10_000);
  assert.ok(Date.now() - t0 < 10_000);
  const wide = await cluster.ctl(['get', 'nodes', '-o', 'wide']);
  assert.match(wide.stdout, /INTERNAL-IP\s+.*OS-IMAGE\s+.*KERNEL-VERSION\s+.*CONTAINER-RUNTIME/);
  assert.match(wide.stdout, /e2e-a\s+Ready\s+<none>\s+\S+\s+v\d+\.\d+\.\d+\s+\S+\s+<none>\s+.+containerd:\/\/\d\S*/);
  const labels = await cluster.ctl(['get', 'node', 'e2e-a', '-o', 'json']);
  const node = JSON.parse(labels.stdout);
  assert.equal(node.metadata.labels.tier, 'edge');
  assert.equal(node.metadata.labels['kubernetes.io/hostname'], 'e2e-a');
});

test('refusals name the failed check, exit 1 and create nothing', { timeout: 60_000 }, async () => {
  const url = `nats://127.0.0.1:${natsPort}`;
  const cases: [string, string[], RegExp][] = [
    ['wrong-hash', ['--token', token, '--discovery-token-ca-cert-hash', `sha256:${'1'.repeat(64)}`], /CA certificate hash mismatch/],
    ['bad-hash', ['--token', token, '--discovery-token-ca-cert-hash', 'sha256:xyz'], /--discovery-token-ca-cert-hash "sha256:xyz" is malformed/],
    ['unknown-token', ['--token', 'qqqqqq.0123456789abcdef', '--discovery-token-ca-cert-hash', caHash], /bootstrap token "qqqqqq" was not found/],
    ['wrong-secret', ['--token', `${token.split('.')[0]}.0000000000000000`, '--discovery-token-ca-cert-hash', caHash], /token secret mismatch/],
  ];
  for (const [name, flags, message] of cases) {
    const dataDir = cluster.tempDir(`refused-${name}`);
    const r = await cluster.ctl(['join', url, ...flags, '--node-name', `refused-${name}`, '--data-dir', dataDir]);
    assert.equal(r.code, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, message, name);
    assert.equal(existsSync(join(dataDir, 'identity')), false, `${name}: nothing saved`);
  }
  const nodes = await nodeStatuses();
  assert.deepEqual([...nodes.keys()].filter((n) => n.startsWith('refused-')), []);
});

test('token list shows ids but never secrets; deleted tokens are refused', { timeout: 30_000 }, async () => {
  const created = await cluster.ctl(['token', 'create', '--ttl', '1h']);
  const [id, secret] = created.stdout.trim().split('.');
  const list = await cluster.ctl(['token', 'list']);
  assert.match(list.stdout, /^TOKEN-ID\s+TTL\s+EXPIRES\s+DESCRIPTION/);
  assert.match(list.stdout, new RegExp(`^${id}\\s+(59m|1h)`, 'm'));
  assert.ok(!list.stdout.includes(secret));
  assert.equal((await cluster.ctl(['token', 'delete', id])).code, 0);
  const dataDir = cluster.tempDir('refused-deleted');
  const r = await cluster.ctl(['join', `nats://127.0.0.1:${natsPort}`, '--token', `${id}.${secret}`, '--discovery-token-ca-cert-hash', caHash, '--node-name', 'refused-deleted', '--data-dir', dataDir]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`bootstrap token "${id}" was not found`));
});

test('a stopped agent turns NotReady within the grace period; ctl agent brings it back', { timeout: 60_000 }, async () => {
  const a = agents.get('e2e-a')!;
  await a.proc.stop();
  await waitStatus({ 'e2e-a': 'NotReady', 'e2e-b': 'Ready' }, graceSeconds * 1000 + 3000);
  const proc = cluster.spawnCtl(['agent', '--data-dir', a.dataDir, '--node-status-update-frequency', '500ms']);
  agents.set('e2e-a', { dataDir: a.dataDir, proc });
  await waitStatus({ 'e2e-a': 'Ready' }, 10_000);
});

test('nats-server killed with SIGKILL is restarted; agents are Ready again within 15 s', { timeout: 60_000 }, async () => {
  const pidFile = join(cluster.dataDir, 'nats', 'nats-server.pid');
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  process.kill(pid, 'SIGKILL');
  const deadline = Date.now() + 15_000;
  let newPid = pid;
  while (Date.now() < deadline && (newPid === pid || !Number.isFinite(newPid))) {
    await sleep(100);
    newPid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : pid;
  }
  assert.notEqual(newPid, pid, 'a new nats-server runs');
  await waitStatus({ 'e2e-a': 'Ready', 'e2e-b': 'Ready' }, 15_000);
  // Still Ready after the grace period: the agents renew through the new nats-server.
  await sleep(graceSeconds * 1000 + 1000);
  await waitStatus({ 'e2e-a': 'Ready', 'e2e-b': 'Ready' }, 1000);
});

test('ctl reset removes the identity and says the Node stays until deleted', { timeout: 30_000 }, async () => {
  const b = agents.get('e2e-b')!;
  await b.proc.stop();
  const r = await cluster.ctl(['reset', '--data-dir', b.dataDir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ctl delete node e2e-b/);
  assert.equal(existsSync(join(b.dataDir, 'identity')), false);
  const again = await cluster.ctl(['agent', '--data-dir', b.dataDir]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /has not joined a cluster/);
});
