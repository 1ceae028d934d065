// Store benchmark: writes/s sequential and concurrent with fsync on and off, binding-style
// read-modify-writes among 30,000 pods, list and get at that size, and watch delivery latency
// with 100 watchers. Run: node --import tsx scripts/bench/store.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { KObject } from '../../src/api/types.js';
import { openLevelStore, type LevelStore } from '../../src/store/level-store.js';

const pod = (name: string): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels: { app: 'bench', tier: 'web' } },
  spec: {
    containers: [
      {
        name: 'c',
        image: 'docker.io/library/busybox:1.36',
        command: ['sh', '-c', 'sleep 3600'],
        resources: { requests: { cpu: '10m', memory: '16Mi' } },
      },
    ],
    restartPolicy: 'Always',
  },
  status: { phase: 'Pending' },
});

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Runs `total` operations with `inFlight` of them outstanding at a time; returns operations/s. */
async function rate(inFlight: number, total: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) await op(next++);
    }),
  );
  return total / ((performance.now() - start) / 1000);
}

async function writes(dir: string, sync: boolean): Promise<void> {
  const store = await openLevelStore(join(dir, `writes-${sync}`), { sync });
  const seq = await rate(1, sync ? 1000 : 5000, (i) => store.create('pods', pod(`s${i}`)));
  const conc = await rate(64, 20_000, (i) => store.create('pods', pod(`c${i}`)));
  await store.close();
  console.log(`creates/s, fsync ${sync ? 'on ' : 'off'}: sequential ${fmt(seq)}, 64 in flight ${fmt(conc)}`);
}

/** 30,000 pods, then each one bound to a node by guaranteedUpdate, as the scheduler does. */
async function atScale(dir: string): Promise<void> {
  const store = await openLevelStore(join(dir, 'scale'), { sync: true });
  const n = 30_000;
  const created = await rate(64, n, (i) => store.create('pods', pod(`p${i}`)));
  const bound = await rate(64, n, (i) =>
    store.guaranteedUpdate({ resource: 'pods', namespace: 'default', name: `p${i}` }, (cur) => ({
      ...cur,
      spec: { ...(cur.spec as object), nodeName: `node-${i % 100}` },
    })),
  );
  console.log(`30,000 pods, fsync on, 64 in flight: create ${fmt(created)}/s, bind (guaranteedUpdate) ${fmt(bound)}/s`);

  const time = async (what: string, f: () => Promise<unknown>) => {
    const start = performance.now();
    await f();
    return `${what} ${(performance.now() - start).toFixed(1)} ms`;
  };
  const onNode = (p: KObject) => (p.spec as { nodeName?: string }).nodeName === 'node-7';
  const lists = [
    await time('list all (copies)', () => store.list('pods')),
    await time('list all (frozen)', () => store.list('pods', { frozen: true })),
    await time('list filtered to 300 (copies)', () => store.list('pods', { filter: onNode })),
  ];
  console.log(`30,000 pods: ${lists.join(', ')}`);
  const gets = await rate(1, 100_000, (i) => store.get({ resource: 'pods', namespace: 'default', name: `p${i % n}` }));
  console.log(`30,000 pods: get ${fmt(gets)}/s`);

  const closeStart = performance.now();
  await store.close();
  const openStart = performance.now();
  const reopened = await openLevelStore(join(dir, 'scale'));
  console.log(`30,000 pods: close ${(openStart - closeStart).toFixed(0)} ms, reopen (load into memory) ${(performance.now() - openStart).toFixed(0)} ms`);
  await reopened.close();
}

/** Latency from the start of a write to its event reaching each of `watchers` consumers. */
async function watchLatency(store: LevelStore, watchers: number, writes: number, inFlight: number): Promise<string> {
  const startedAt = new Map<string, number>();
  const latencies: number[] = [];
  const prefix = `w${inFlight}-`;
  const consumers = Array.from({ length: watchers }, async () => {
    const w = store.watch('pods');
    let seen = 0;
    for await (const e of w) {
      const started = startedAt.get(e.object.metadata.name!);
      if (started === undefined) continue;
      latencies.push(performance.now() - started);
      if (++seen === writes) break;
    }
  });
  await rate(inFlight, writes, async (i) => {
    startedAt.set(`${prefix}${i}`, performance.now());
    await store.create('pods', pod(`${prefix}${i}`));
    if (inFlight === 1) await new Promise((r) => setTimeout(r, 2));
  });
  await Promise.all(consumers);
  return `p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms`;
}

const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-store-'));
try {
  for (const sync of [true, false]) await writes(dir, sync);
  await atScale(dir);
  const store = await openLevelStore(join(dir, 'watch'), { sync: true });
  console.log(`watch latency (write start to event), 100 watchers, fsync on, one write at a time: ${await watchLatency(store, 100, 300, 1)}`);
  console.log(`watch latency (write start to event), 100 watchers, fsync on, 64 writes in flight: ${await watchLatency(store, 100, 5000, 64)}`);
  await store.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
