// Whole-cluster scheduling benchmark: a real `ctl server` process (HTTPS API, level store,
// scheduler, controllers, its nats-server) and N simulated nodes (`ctl join --simulate N`, its
// own process) that join through the real NATS path, renew leases and report their pods
// Running. M pods are created through the API (`--via api`, `--concurrency` requests in flight) or by Deployments of up to
// 1,000 replicas each (`--via deployment`: the controllers create the pods, so the scheduler, not
// the API client, sets the pace); a watch sees each pod appear and get its node. Prints pods bound
// per second, creation-to-binding latency (p50, p99), time to Running, the control plane's RSS
// and the CPU time of each process.
// Build first (npm run build). Run: node --import tsx scripts/bench/cluster.ts [--nodes 1000] [--pods 30000]
// [--via api|deployment] [--concurrency 100] [--cpu-prof DIR] (the control plane and the simulated nodes write V8 CPU profiles there on exit)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { resourceByKind } from '../../src/api/resources.js';
import type { KObject, Node, Pod } from '../../src/api/types.js';
import { loadClientConfig } from '../../src/cli/config.js';
import { RestClient } from '../../src/cli/rest-client.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const nodeCount = flag('nodes', 1000);
const podCount = flag('pods', 30_000);
const inFlight = flag('concurrency', 100);
const viaIndex = process.argv.indexOf('--via');
const via = viaIndex >= 0 ? process.argv[viaIndex + 1] : 'api';
if (via !== 'api' && via !== 'deployment') throw new Error(`--via must be api or deployment, not ${via}`);
const profIndex = process.argv.indexOf('--cpu-prof');
const profDir = profIndex >= 0 ? resolve(process.argv[profIndex + 1]) : undefined;
const nodeFlags = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
const quietEnv = { ...process.env, SKIFF_LOG_LEVEL: 'warn', SKIFF_LOG_FORMAT: 'json' };
const repo = resolve(fileURLToPath(import.meta.url), '../../..');
const ctl = join(repo, 'dist/cmd/ctl.js');
if (!existsSync(ctl)) throw new Error('dist/cmd/ctl.js is missing: run npm run build first');

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** User plus system CPU seconds a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The control plane's V8 heap from its /metrics: what of its RSS is live JavaScript objects. */
async function heapMiB(): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  return `V8 heap ${fmt(value('nodejs_heap_size_used_bytes'))} MiB used of ${fmt(value('nodejs_heap_size_total_bytes'))} MiB, external ${fmt(value('nodejs_external_memory_bytes'))} MiB`;
}

function childPids(pid: number): number[] {
  const out = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout ?? '';
  return out.split('\n').filter(Boolean).map(Number);
}

const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-cluster-'));
const [apiPort, natsPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
/** A /16 holds 256 node subnets (/24 each): larger simulated clusters get a wider range. */
function clusterCidrFor(n: number): string {
  return n <= 256 ? '10.42.0.0/16' : '10.64.0.0/12';
}

const server = spawn(
  process.execPath,
  [...nodeFlags, ctl, 'server', '--data-dir', join(dir, 'server'), '--bind-address', '127.0.0.1', '--api-port', String(apiPort), '--nats-port', String(natsPort), '--metrics-port', String(metricsPort), '--node-monitor-grace-period', '60s', '--cluster-cidr', clusterCidrFor(nodeCount)],
  { stdio: ['ignore', 'ignore', 'pipe'], env: quietEnv },
);
let serverErr = '';
server.stderr.on('data', (d: Buffer) => (serverErr = (serverErr + d.toString()).slice(-8000)));
let simulated: ReturnType<typeof spawn> | undefined;
let simulatedErr = '';

try {
  const kubeconfig = join(dir, 'server', 'admin.kubeconfig');
  for (let i = 0; !existsSync(kubeconfig); i++) {
    if (i > 600 || server.exitCode !== null) throw new Error(`ctl server did not start:\n${serverErr}`);
    await sleep(100);
  }
  const client = new RestClient(loadClientConfig({ flag: kubeconfig }), 120_000);
  const joinLine = spawnSync(process.execPath, [ctl, '--kubeconfig', kubeconfig, 'token', 'create', '--print-join-command'], { encoding: 'utf8' }).stdout.trim();
  const [, , url, , token, , caHash] = joinLine.split(' ');
  const rssIdle = rssMiB(server.pid!);

  // Nodes.
  const t0 = performance.now();
  simulated = spawn(
    process.execPath,
    [...nodeFlags, ctl, 'join', url, '--token', token, '--discovery-token-ca-cert-hash', caHash, '--node-name', 'sim', '--data-dir', join(dir, 'nodes'), '--simulate', String(nodeCount), '--node-status-update-frequency', '10s'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: quietEnv },
  );
  simulated.stderr!.on('data', (d: Buffer) => (simulatedErr = (simulatedErr + d.toString()).slice(-8000)));
  const nodeInfo = resourceByKind('Node')!;
  for (;;) {
    if (simulated.exitCode !== null) throw new Error(`ctl join --simulate exited:\n${simulatedErr}`);
    const ready = (await client.list(nodeInfo)).items.filter((n) => (n as Node).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
    if (ready === nodeCount) break;
    await sleep(500);
  }
  const joinMs = performance.now() - t0;
  const rssNodes = rssMiB(server.pid!);

  // Pods, seen through one watch: ADDED, then the binding, then Running.
  const podInfo = resourceByKind('Pod')!;
  const seen = new Map<string, { added: number; bound?: number; running?: number }>();
  let bound = 0;
  let running = 0;
  const ac = new AbortController();
  const { metadata } = await client.list(podInfo, { namespace: 'default' });
  let firstCreate = 0;
  let lastBound = 0;
  let allRunning!: () => void;
  const done = new Promise<void>((r) => (allRunning = r));
  let resourceVersion = metadata.resourceVersion;
  let watchRestarts = 0;
  const observe = (p: Pod) => {
    const now = performance.now();
    let s = seen.get(p.metadata.name!);
    if (!s) seen.set(p.metadata.name!, (s = { added: now }));
    if (p.spec.nodeName && s.bound === undefined) {
      s.bound = now;
      lastBound = now;
      bound++;
    }
    if (p.status?.phase === 'Running' && s.running === undefined) {
      s.running = now;
      if (++running === podCount) allRunning();
    }
  };
  // The server ends a watch that falls behind; like a reflector, resume from the last version
  // seen, or list again when that version is gone.
  const watching = (async () => {
    while (!ac.signal.aborted) {
      let gone = false;
      try {
        for await (const ev of client.watch(podInfo, { namespace: 'default', resourceVersion }, ac.signal)) {
          if (ev.type === 'ERROR') {
            gone = true;
            break;
          }
          resourceVersion = ev.object.metadata.resourceVersion ?? resourceVersion;
          if (ev.type !== 'BOOKMARK') observe(ev.object as Pod);
        }
      } catch (e) {
        if (ac.signal.aborted) return;
        console.error(`pod watch ended (${(e as Error).message}); resuming from ${resourceVersion}`);
      }
      if (ac.signal.aborted) return;
      watchRestarts++;
      if (gone) {
        const l = await client.list(podInfo, { namespace: 'default' });
        for (const p of l.items) observe(p as Pod);
        resourceVersion = l.metadata.resourceVersion;
      }
    }
  })();

  const podSpec = { containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] };
  const pod = (i: number): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${i}`, labels: { app: `app-${i % 100}` } }, spec: podSpec });
  const perDeployment = 1000;
  const deployment = (i: number): KObject => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `d-${i}` },
    spec: {
      replicas: Math.min(perDeployment, podCount - i * perDeployment),
      selector: { matchLabels: { app: `d-${i}` } },
      template: { metadata: { labels: { app: `d-${i}` } }, spec: podSpec },
    },
  });
  const natsPids = childPids(server.pid!);
  const cpuBefore = { server: cpuSeconds(server.pid!), nats: natsPids.map(cpuSeconds), nodes: cpuSeconds(simulated.pid!), bench: process.cpuUsage() };
  firstCreate = performance.now();
  let next = 0;
  if (via === 'api') {
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < podCount) await client.create(podInfo, 'default', pod(next++));
      }),
    );
  } else {
    const deployments = resourceByKind('Deployment')!;
    for (let i = 0; i * perDeployment < podCount; i++) await client.create(deployments, 'default', deployment(i));
    await new Promise<void>((r) => {
      const t = setInterval(() => seen.size >= podCount && (clearInterval(t), r()), 50);
    });
  }
  const createdMs = performance.now() - firstCreate;
  const rssCreated = rssMiB(server.pid!);
  let giveUp: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise((r) => (giveUp = setTimeout(r, 600_000)))]);
  clearTimeout(giveUp);
  const runningMs = performance.now() - firstCreate;
  const rssEnd = rssMiB(server.pid!);
  const heapEnd = await heapMiB();
  const natsRss = natsPids.map(rssMiB).filter(Number.isFinite);
  const benchCpu = process.cpuUsage(cpuBefore.bench);
  const cpu = { server: cpuSeconds(server.pid!) - cpuBefore.server, nats: natsPids.map((pid, i) => cpuSeconds(pid) - cpuBefore.nats[i]), nodes: cpuSeconds(simulated.pid!) - cpuBefore.nodes, bench: (benchCpu.user + benchCpu.system) / 1e6 };
  ac.abort();
  await watching;

  const latencies = [...seen.values()].filter((s) => s.bound !== undefined).map((s) => s.bound! - s.added);
  const toRunning = [...seen.values()].filter((s) => s.running !== undefined).map((s) => s.running! - s.added);
  console.log(`nodes ${nodeCount} (simulated, joined through NATS), pods ${podCount}, ${via === 'api' ? `created through the API, ${inFlight} in flight` : `created by ${Math.ceil(podCount / perDeployment)} Deployments`}`);
  console.log(`join: ${(joinMs / 1000).toFixed(1)} s until all ${nodeCount} nodes Ready`);
  console.log(`create: ${(createdMs / 1000).toFixed(1)} s until every pod existed (${fmt(podCount / (createdMs / 1000))} pods/s)`);
  console.log(`bound: ${bound}/${podCount}; ${fmt(bound / ((lastBound - firstCreate) / 1000))} pods/s from the first create to the last binding`);
  console.log(`creation→binding: p50 ${fmt(percentile(latencies, 50))} ms, p99 ${fmt(percentile(latencies, 99))} ms`);
  console.log(`creation→Running (reported by the simulated nodes): p50 ${fmt(percentile(toRunning, 50))} ms, p99 ${fmt(percentile(toRunning, 99))} ms; all ${running} Running after ${(runningMs / 1000).toFixed(1)} s`);
  if (running < podCount) console.log(`not every pod was reported Running; the control plane's last log lines:\n${serverErr}\nthe simulated nodes' last log lines:\n${simulatedErr}`);
  if (watchRestarts) console.log(`(the benchmark's pod watch was resumed ${watchRestarts} times; times seen after a resume are late)`);
  console.log(`CPU from the first create to the end: control plane ${cpu.server.toFixed(1)} s, nats-server ${cpu.nats.map((c) => `${c.toFixed(1)} s`).join(', ')}, simulated nodes ${cpu.nodes.toFixed(1)} s, this process (API client, watch) ${cpu.bench.toFixed(1)} s`);
  console.log(`control plane RSS: ${fmt(rssIdle)} MiB idle, ${fmt(rssNodes)} MiB with nodes, ${fmt(rssCreated)} MiB after creates, ${fmt(rssEnd)} MiB at the end (${heapEnd}); nats-server ${natsRss.map((r) => `${fmt(r)} MiB`).join(', ')}`);
  client.close();
} catch (e) {
  console.error(`control plane output:\n${serverErr}`);
  throw e;
} finally {
  if (simulated && simulated.exitCode === null) {
    simulated.kill('SIGTERM');
    await new Promise((r) => simulated!.once('exit', r));
  }
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  await rm(dir, { recursive: true, force: true });
}
