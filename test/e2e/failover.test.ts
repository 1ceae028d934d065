import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { resourceByKind } from '../../src/api/resources.js';
import type { RestClient } from '../../src/cli/rest-client.js';
import { importImage } from '../../src/cri/image-import.js';
import { testImages } from '../../src/cri/local-images.js';
import { writeOciArchive } from '../../src/cri/oci-image.js';
import { freePort, sleep, TestCluster, type CtlProcess } from './harness.js';

// A lost node end to end, with the control plane's defaults (15 s grace, 10 s tolerations): two
// agents with their own containerd, a Deployment with a pod on each, one agent killed with
// SIGKILL. Its pod is evicted and replaced on the other node; the old pod stays Terminating
// until the agent comes back on the same data directory, stops it, and the object goes.

interface Agent {
  name: string;
  dataDir: string;
  bridge: string;
  podCidr: string;
  proc: CtlProcess;
}

let cluster: TestCluster;
let client: RestClient;
const podInfo = resourceByKind('Pod')!;
const nodeInfo = resourceByKind('Node')!;
let joinArgs: string[];
const agents = new Map<string, Agent>();
const subnet = 20 + Math.floor(Math.random() * 200);

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: docker.io/library/busybox:1.36
        imagePullPolicy: Never
        command: ['sh', '-c', 'while true; do sleep 1; done']
`;

function startAgent(name: string, i: number): Agent {
  const existing = agents.get(name);
  const a = existing ?? { name, dataDir: cluster.tempDir(`agent-${name}`), bridge: `sk${randomBytes(4).toString('hex')}`, podCidr: `10.${subnet}.${i}.0/24` };
  const flags = ['--data-dir', a.dataDir, '--node-status-update-frequency', '500ms', '--cni-bridge', a.bridge, '--pod-cidr', a.podCidr];
  // The first start joins; a restart is the systemd unit's `ctl agent` on the saved identity.
  const proc = cluster.spawnCtl(existing ? ['agent', ...flags] : [...joinArgs, '--node-name', name, ...flags]);
  const agent = { ...a, proc };
  agents.set(name, agent);
  return agent;
}

interface PodView {
  name: string;
  node?: string;
  phase?: string;
  deleting: boolean;
  ready: boolean;
}

/** Read through the API directly: a `ctl` process per poll would blur the timing measured here. */
async function pods(): Promise<PodView[]> {
  const list = await client.list(podInfo, { namespace: 'default', labelSelector: 'app=web' });
  return list.items.map((p: any) => ({
    name: p.metadata.name,
    node: p.spec.nodeName,
    phase: p.status?.phase,
    deleting: !!p.metadata.deletionTimestamp,
    ready: !!p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
  }));
}

async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    last = await pods().catch((e) => e);
    await sleep(100);
  }
  const agentLogs = [...agents.values()].map((a) => `${a.name}:\n${a.proc.stderr.slice(-1500)}`).join('\n');
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; pods: ${JSON.stringify(last)}\n${cluster.log.slice(-3000)}\n${agentLogs}`);
}

/** `Ready`, `NotReady` or '' (no such node yet), as `ctl get nodes` shows it. */
async function nodeReady(name: string): Promise<string> {
  const node = (await client.get(nodeInfo, '', name).catch(() => undefined)) as any;
  if (!node) return '';
  return node.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ? 'Ready' : 'NotReady';
}

before(async () => {
  cluster = await TestCluster.start({ serverArgs: ['--nats-port', String(await freePort())] });
  const token = await cluster.ctl(['token', 'create', '--description', 'e2e failover', '--print-join-command']);
  assert.equal(token.code, 0, `token create: ${token.stderr}`);
  joinArgs = token.stdout.trim().split(' ').slice(1);
  client = cluster.client();
  const archive = join(cluster.tempDir('failover-images'), 'images.tar');
  await writeOciArchive(await testImages(), archive);
  for (const [i, name] of ['e2e-fo-a', 'e2e-fo-b'].entries()) {
    const a = startAgent(name, i);
    await waitFor(`${name} to be Ready`, 60_000, async () => (await nodeReady(name)) === 'Ready');
    const config = readFileSync(join(a.dataDir, 'containerd', 'config.toml'), 'utf8');
    const snapshotter = /^\s*snapshotter\s*=\s*"([^"]+)"/m.exec(config)?.[1] ?? 'overlayfs';
    await importImage(join(a.dataDir, 'containerd', 'containerd.sock'), archive, { snapshotter });
  }
}, { timeout: 180_000 });

after(async () => {
  if (cluster) {
    // Pods go through their agents first, so no container outlives the test.
    for (const [i, name] of [...agents.keys()].entries()) if (agents.get(name)!.proc.child.exitCode !== null || agents.get(name)!.proc.child.signalCode !== null) startAgent(name, i);
    await cluster.ctl(['delete', 'deployment', 'web']).catch(() => undefined);
    await waitFor('every pod to be gone', 60_000, async () => (await pods()).length === 0).catch(() => undefined);
    for (const a of agents.values()) await a.proc.stop();
    // A containerd whose agent was killed is ended by the next agent; one left by a failed run is ended here, by its recorded pid.
    for (const a of agents.values()) {
      const pidFile = join(a.dataDir, 'containerd', 'containerd.pid');
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
      if (Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(a.dataDir)) process.kill(pid, 'SIGKILL');
    }
    client.close();
    await cluster.stop();
  }
  for (const a of agents.values()) spawnSync('ip', ['link', 'del', a.bridge], { stdio: 'ignore' });
}, { timeout: 180_000 });

test('kill -9 of an agent: its Deployment pod is Running on the other node within 30 s, and goes when the node comes back', { timeout: 180_000 }, async () => {
  const file = join(cluster.tempDir('failover-manifests'), 'web.yaml');
  writeFileSync(file, deployment);
  const applied = await cluster.ctl(['apply', '-f', file]);
  assert.equal(applied.code, 0, `apply: ${applied.stderr}`);
  const placed = await waitFor('2 running pods, one per node', 60_000, async () => {
    const ps = await pods();
    const running = ps.filter((p) => p.phase === 'Running' && p.ready && !p.deleting);
    return running.length === 2 && new Set(running.map((p) => p.node)).size === 2 ? running : undefined;
  });
  const victim = agents.get('e2e-fo-a')!;
  const lost = placed.find((p) => p.node === victim.name)!;
  assert.ok(lost, `a pod runs on ${victim.name}: ${JSON.stringify(placed)}`);

  const killedAt = Date.now();
  process.kill(victim.proc.child.pid!, 'SIGKILL');
  const moved = await waitFor('2 running replicas on the other node', 30_000, async () => {
    const running = (await pods()).filter((p) => p.phase === 'Running' && p.ready && !p.deleting && p.node === 'e2e-fo-b');
    return running.length === 2 ? running : undefined;
  });
  const tookMs = Date.now() - killedAt;
  assert.ok(tookMs <= 30_000, `replaced within 30 s (took ${tookMs} ms)`);
  assert.ok(!moved.some((p) => p.name === lost.name), 'the replacement is a new pod, not the lost one');
  assert.equal(await nodeReady(victim.name), 'NotReady', 'the killed node is NotReady');
  const old = (await pods()).find((p) => p.name === lost.name);
  assert.ok(old?.deleting, `the lost pod is Terminating while its node cannot confirm: ${JSON.stringify(old)}`);
  assert.ok(!old.ready, 'the lost pod is no longer Ready');
  const node = (await client.get(nodeInfo, '', victim.name)) as any;
  assert.ok(node.spec.taints?.some((t: any) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute'), 'the lost node has the unreachable NoExecute taint');

  // The node comes back: the agent stops the pod that is no longer its, and the object goes.
  startAgent(victim.name, 0);
  await waitFor(`${victim.name} to be Ready again`, 30_000, async () => (await nodeReady(victim.name)) === 'Ready');
  await waitFor('the lost pod object to be gone', 30_000, async () => !(await pods()).some((p) => p.name === lost.name));
  const after = (await pods()).filter((p) => !p.deleting);
  assert.equal(after.length, 2, `the Deployment still has exactly 2 pods: ${JSON.stringify(after)}`);
});
