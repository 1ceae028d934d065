// Scheduler benchmark, in process against a level store on disk (fsync on): N nodes, M pods
// created while the scheduler runs; prints pods bound per second, creation-to-binding latency
// (p50, p99), CPU time and peak RSS. A second run creates the pods first and then starts the
// scheduler, measuring decisions and binding writes alone.
// Run: node --import tsx scripts/bench/scheduler.ts [--nodes 1000] [--pods 30000]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import type { KObject, Pod } from '../../src/api/types.js';
import { startScheduler } from '../../src/scheduler/scheduler.js';
import { openLevelStore } from '../../src/store/level-store.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const nodeCount = flag('nodes', 1000);
const podCount = flag('pods', 30_000);

const node = (i: number): KObject => {
  const allocatable = { cpu: '4', memory: '8Gi', pods: '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: `node-${i}`, labels: { 'kubernetes.io/hostname': `node-${i}`, zone: `zone-${i % 3}` } },
    spec: {},
    status: { capacity: allocatable, allocatable, conditions: [{ type: 'Ready', status: 'True' }] },
  };
};

const pod = (i: number): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: `p-${i}`,
    namespace: 'default',
    labels: { app: `app-${i % 100}` },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `app-${i % 100}`, uid: `rs-${i % 100}`, controller: true }],
  },
  spec: {
    containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36', resources: { requests: { cpu: '10m', memory: '16Mi' } } }],
    schedulerName: 'default-scheduler',
    tolerations: [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    ],
  },
  status: { phase: 'Pending' },
});

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function createAll(count: number, make: (i: number) => KObject, create: (o: KObject) => Promise<unknown>, onCreated?: (i: number) => void): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < count) {
        const i = next++;
        await create(make(i));
        onCreated?.(i);
      }
    }),
  );
}

async function run(mode: 'while-creating' | 'backlog'): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-scheduler-'));
  const store = await openLevelStore(dir);
  try {
    await createAll(nodeCount, node, (o) => store.create('nodes', o));
    const createdAt = new Float64Array(podCount);
    const boundAt = new Float64Array(podCount);
    let bound = 0;
    let lastBound = 0;
    const allBound = new Promise<void>((resolve) => {
      void (async () => {
        for await (const e of store.watch('pods')) {
          const p = e.object as Pod;
          const i = Number(p.metadata.name!.slice(2));
          if (p.spec.nodeName && boundAt[i] === 0) {
            boundAt[i] = lastBound = performance.now();
            if (++bound === podCount) return resolve();
          }
        }
      })();
    });
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

    let scheduler = mode === 'while-creating' ? startScheduler(store, { log: pino({ level: 'warn' }) }) : undefined;
    await scheduler?.ready;
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    await createAll(podCount, pod, (o) => store.create('pods', o), (i) => (createdAt[i] = performance.now()));
    const createdBy = performance.now();
    let schedStart = start;
    if (!scheduler) {
      schedStart = performance.now();
      createdAt.fill(schedStart);
      scheduler = startScheduler(store, { log: pino({ level: 'warn' }) });
    }
    await allBound;
    const cpu = process.cpuUsage(cpuStart);
    clearInterval(sampler);
    const stats = scheduler.stats();
    await scheduler.stop();

    const latencies = Array.from(boundAt, (b, i) => b - createdAt[i]);
    const seconds = (lastBound - schedStart) / 1000;
    console.log(`${mode}: ${fmt(nodeCount)} nodes, ${fmt(podCount)} pods`);
    if (mode === 'while-creating') console.log(`  pods created in ${((createdBy - start) / 1000).toFixed(2)} s (${fmt(podCount / ((createdBy - start) / 1000))}/s)`);
    console.log(`  bound ${fmt(stats.bound)} in ${seconds.toFixed(2)} s: ${fmt(podCount / seconds)} pods/s`);
    console.log(`  ${mode === 'backlog' ? 'scheduler start' : 'creation'} to binding: p50 ${fmt(percentile(latencies, 50))} ms, p99 ${fmt(percentile(latencies, 99))} ms`);
    console.log(`  CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s (store, scheduler and this harness together), peak RSS ${fmt(peakRss / 2 ** 20)} MiB`);
    const perNode = new Map<string, number>();
    for (const p of (await store.list('pods')).items) {
      const n = (p as Pod).spec.nodeName!;
      perNode.set(n, (perNode.get(n) ?? 0) + 1);
    }
    const counts = [...perNode.values()];
    console.log(`  pods per node: min ${Math.min(...counts)}, max ${Math.max(...counts)} over ${perNode.size} nodes`);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await run('while-creating');
await run('backlog');
