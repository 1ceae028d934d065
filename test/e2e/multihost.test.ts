import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Node, Pod } from '../../src/api/types.js';
import { importImage } from '../../src/cri/image-import.js';
import { TEST_IMAGE, testImages } from '../../src/cri/local-images.js';
import { writeOciArchive } from '../../src/cri/oci-image.js';
import { ctlPath, CtlProcess, freePort, repoRoot, pollUntil, stopProcess, TestCluster } from './harness.js';

// Three hosts on one machine: each is a network namespace (ip netns) joined by a veth to a test
// bridge on the host, with its own containerd and `ctl join` agent inside; the server listens on the
// bridge's address. Nothing here passes --pod-cidr: the subnets come from the control plane and
// the agents' host-gw routes carry pod traffic between the namespaces.

const id = randomBytes(3).toString('hex');
const subnet = `10.123.${randomInt(0, 256)}`;
const hostBridge = `skbr${id}`;
const serverIp = `${subnet}.1`;
const hosts = [1, 2, 3].map((i) => ({
  name: `mh-${id}-h${i}`,
  netns: `skiff-test-${id}-h${i}`,
  hostVeth: `skv${id}h${i}`,
  ip: `${subnet}.${10 + i}`,
  dataDir: '',
  agent: undefined as CtlProcess | undefined,
}));
const graceSeconds = 3;
let cluster: TestCluster | undefined;
let joinArgs: string[] = [];

function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
const quiet = (cmd: string, args: string[]) => spawnSync(cmd, args, { stdio: 'ignore' });

function buildNetwork(): void {
  sh('ip', ['link', 'add', hostBridge, 'type', 'bridge']);
  sh('ip', ['addr', 'add', `${serverIp}/24`, 'dev', hostBridge]);
  sh('ip', ['link', 'set', hostBridge, 'up']);
  for (const h of hosts) {
    sh('ip', ['netns', 'add', h.netns]);
    sh('ip', ['link', 'add', h.hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.netns]);
    sh('ip', ['link', 'set', h.hostVeth, 'master', hostBridge, 'up']);
    const inNs = (...args: string[]) => sh('ip', ['netns', 'exec', h.netns, ...args]);
    inNs('ip', 'link', 'set', 'lo', 'up');
    inNs('ip', 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0');
    inNs('ip', 'link', 'set', 'eth0', 'up');
    // A host forwards between its pod bridge and its uplink, as a real node is set up to.
    inNs('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
  }
}

function startAgent(h: (typeof hosts)[number]): void {
  // nsenter enters the network namespace only: `ip netns exec` would also remount /sys, hiding
  // the cgroup mounts runc needs.
  const child = spawn(
    'nsenter',
    [
      ...[`--net=/run/netns/${h.netns}`, '--', process.execPath, ctlPath, 'join', ...joinArgs],
      ...['--node-name', h.name, '--data-dir', h.dataDir, '--node-ip', h.ip, '--node-status-update-frequency', '500ms'],
    ],
    { cwd: repoRoot, env: { ...process.env, KUBECONFIG: undefined, SKIFF_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  cluster!.addProcess(child);
  h.agent = new CtlProcess(child);
}

before(async () => {
  buildNetwork();
  const natsPort = await freePort();
  cluster = await TestCluster.start({
    serverArgs: ['--bind-address', serverIp, '--nats-port', String(natsPort), '--node-monitor-grace-period', `${graceSeconds}s`, '--cluster-cidr', '10.44.0.0/16'],
  });
  const token = await cluster.ctl(['token', 'create', '--description', 'multihost', '--print-join-command']);
  assert.equal(token.code, 0, token.stderr);
  joinArgs = token.stdout.trim().split(' ').slice(2);
  assert.equal(joinArgs[0], `nats://${serverIp}:${natsPort}`, `the join command names the bridge address: ${token.stdout}`);
  for (const h of hosts) {
    h.dataDir = cluster.tempDir(`multihost-h${hosts.indexOf(h) + 1}`);
    startAgent(h);
  }
});

after(async () => {
  if (cluster) {
    await cluster.ctl(['delete', 'deployment', 'web', '--ignore-not-found'], { timeoutMs: 60_000 }).catch(() => undefined);
    await waitFor('every pod gone', 90_000, async () => (await cluster!.ctl(['get', 'pods', '--no-headers'])).stdout.trim() === '').catch(() => undefined);
    for (const h of hosts) if (h.agent) await stopProcess(h.agent.child);
    // containerd-shims are the agents' grandchildren; any left (a pod that did not go) die by pid.
    for (const pid of leftoverPids(hosts.map((h) => h.dataDir).filter(Boolean))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    await cluster.stop();
  }
  for (const h of hosts) {
    quiet('ip', ['link', 'del', h.hostVeth]);
    quiet('ip', ['netns', 'del', h.netns]);
  }
  quiet('ip', ['link', 'del', hostBridge]);
});

/** Processes whose command line names one of this test's data dirs. */
function leftoverPids(dirs: string[]): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (dirs.some((d) => cmdline.includes(d))) out.push(Number(entry));
    } catch {
      // exited
    }
  }
  return out;
}

function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const agents = () => hosts.map((h) => `${h.name}:\n${h.agent?.stderr.slice(-1500)}`).join('\n');
  return pollUntil(what, timeoutMs, check, () => `server:\n${cluster?.log.slice(-3000)}\n${agents()}`, 300);
}

async function nodes(): Promise<Node[]> {
  const r = await cluster!.ctl(['get', 'nodes', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim() ? (JSON.parse(r.stdout) as { items: Node[] }).items : [];
}

const readyOf = (n: Node) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status;

async function waitReady(name: string, want: 'True' | 'Unknown', timeoutMs: number): Promise<void> {
  await waitFor(`${name} Ready=${want}`, timeoutMs, async () => readyOf((await nodes()).find((n) => n.metadata.name === name) ?? ({} as Node)) === want);
}

async function pods(): Promise<Pod[]> {
  const r = await cluster!.ctl(['get', 'pods', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim() ? (JSON.parse(r.stdout) as { items: Pod[] }).items : [];
}

test('three hosts join, each with its own pod subnet and routes to the others', { timeout: 180_000 }, async () => {
  await waitFor('all three nodes Ready', 90_000, async () => {
    const ns = await nodes();
    return hosts.every((h) => readyOf(ns.find((n) => n.metadata.name === h.name) ?? ({} as Node)) === 'True');
  });
  const ns = await nodes();
  const cidrs = hosts.map((h) => ns.find((n) => n.metadata.name === h.name)!.spec?.podCIDR);
  assert.ok(cidrs.every((c) => c && /^10\.44\.\d+\.0\/24$/.test(c)), `each node has a /24 of --cluster-cidr: ${cidrs.join(' ')}`);
  assert.equal(new Set(cidrs).size, 3, `no two nodes share a subnet: ${cidrs.join(' ')}`);
  for (const h of hosts) {
    const addr = ns.find((n) => n.metadata.name === h.name)!.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    assert.equal(addr, h.ip, `${h.name} reports its --node-ip`);
  }
  // Images come in through each node's containerd socket, which the host reaches as a file.
  const archive = join(cluster!.tempDir('multihost-images'), 'images.tar');
  await writeOciArchive(await testImages(), archive);
  for (const h of hosts) {
    const config = readFileSync(join(h.dataDir, 'containerd', 'config.toml'), 'utf8');
    const snapshotter = /^\s*snapshotter\s*=\s*"([^"]+)"/m.exec(config)?.[1] ?? 'overlayfs';
    await importImage(join(h.dataDir, 'containerd', 'containerd.sock'), archive, { snapshotter });
  }
  await waitFor('host-gw routes in host 1 to hosts 2 and 3', 30_000, async () => {
    const routes = sh('ip', ['netns', 'exec', hosts[0].netns, 'ip', '-4', 'route', 'show', 'proto', '211']);
    return routes.includes(`${cidrs[1]} via ${hosts[1].ip}`) && routes.includes(`${cidrs[2]} via ${hosts[2].ip}`);
  });
});

test('a Deployment spreads over the three hosts and a pod on host 1 reaches a pod on host 3 over HTTP', { timeout: 240_000 }, async () => {
  const manifest = join(cluster!.tempDir('multihost-manifests'), 'web.yaml');
  writeFileSync(
    manifest,
    `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: ${TEST_IMAGE}
        command: ["sh", "-c", "mkdir -p /www && echo served-by-$(hostname) > /www/index.html && exec httpd -f -p 8080 -h /www"]
`,
  );
  const applied = await cluster!.ctl(['apply', '-f', manifest]);
  assert.equal(applied.code, 0, applied.stderr);
  let running: Pod[] = [];
  await waitFor('3 web pods Running with IPs', 120_000, async () => {
    running = (await pods()).filter((p) => p.status?.phase === 'Running' && p.status.podIP);
    return running.length === 3;
  });
  const byNode = new Map(running.map((p) => [p.spec.nodeName!, p]));
  assert.deepEqual([...byNode.keys()].sort(), hosts.map((h) => h.name).sort(), 'one replica on each host');
  const from = byNode.get(hosts[0].name)!;
  const to = byNode.get(hosts[2].name)!;
  let last = '';
  await waitFor(`pod ${from.metadata.name} on host 1 to fetch from ${to.status!.podIP} on host 3`, 60_000, async () => {
    // An HTTP GET by hand: the static busybox's wget crashes (its resolver needs glibc's NSS).
    const get = `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${to.status!.podIP} 8080`;
    const r = await cluster!.ctl(['exec', from.metadata.name!, '--', 'sh', '-c', get], { timeoutMs: 20_000 });
    last = `${r.code} ${r.stdout} ${r.stderr}`;
    return r.code === 0 && /^HTTP\/1\.[01] 200 /.test(r.stdout) && r.stdout.trim().endsWith(`served-by-${to.metadata.name}`);
  }).catch((e: Error) => assert.fail(`${e.message.split('\n')[0]}; last try: ${last}`));
});

test("host 2's link down: NotReady, its pod moves; back up: Ready, and no duplicate pods", { timeout: 240_000 }, async () => {
  const h2 = hosts[1];
  const live = (ps: Pod[]) => ps.filter((p) => !p.metadata.deletionTimestamp);
  sh('ip', ['link', 'set', h2.hostVeth, 'down']);
  try {
    await waitReady(h2.name, 'Unknown', 30_000);
    const others = await nodes();
    for (const h of [hosts[0], hosts[2]]) assert.equal(readyOf(others.find((n) => n.metadata.name === h.name)!), 'True', `${h.name} stays Ready`);
    // Evicted after the default unreachable toleration, replaced by the ReplicaSet elsewhere.
    await waitFor('3 web pods Running on hosts 1 and 3', 90_000, async () => {
      const running = live(await pods()).filter((p) => p.status?.phase === 'Running' && p.spec.nodeName !== h2.name);
      return running.length === 3;
    });
  } finally {
    sh('ip', ['link', 'set', h2.hostVeth, 'up']);
  }
  await waitReady(h2.name, 'True', 60_000);
  // Back, host 2 stops the pod that is no longer its own and the object goes: three pods, not four.
  await waitFor('the evicted pod to be gone, leaving 3 web pods', 90_000, async () => {
    const all = await pods();
    return all.length === 3 && all.every((p) => p.spec.nodeName !== h2.name && p.status?.phase === 'Running');
  });
});

test('a control-plane restart keeps every node its subnet', { timeout: 120_000 }, async () => {
  const beforeRestart = new Map((await nodes()).map((n) => [n.metadata.name, n.spec?.podCIDR]));
  await cluster!.restartServer();
  await waitFor('all three nodes Ready after the restart', 60_000, async () => {
    const ns = await nodes();
    return hosts.every((h) => readyOf(ns.find((n) => n.metadata.name === h.name) ?? ({} as Node)) === 'True');
  });
  const afterRestart = new Map((await nodes()).map((n) => [n.metadata.name, n.spec?.podCIDR]));
  assert.deepEqual(afterRestart, beforeRestart, 'the subnets come from the store, unchanged');
});
