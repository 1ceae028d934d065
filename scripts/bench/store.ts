// Store benchmark: writes/s sequential and concurrent, with fsync on and off, and watch
// delivery latency with 100 watchers. Run: node --import tsx scripts/bench/store.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { KObject } from '../../src/api/types.js';
import { openLevelStore } from '../../src/store/level-store.js';

const pod = (name: string): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', labels: { app: 'bench' } },
  spec: { containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
});

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function writes(dir: string, sync: boolean, inFlight: number, total: number): Promise<number> {
  const store = await openLevelStore(join(dir, `w-${sync}-${inFlight}`), { sync });
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) await store.create('pods', pod(`p${next++}`));
    }),
  );
  const rate = total / ((performance.now() - start) / 1000);
  await store.close();
  return rate;
}

async function watchLatency(dir: string, watchers: number, events: number): Promise<{ p50: number; p99: number }> {
  const store = await openLevelStore(join(dir, 'watch'), { sync: true });
  const written = new Map<string, number>();
  const latencies: number[] = [];
  const done = Array.from({ length: watchers }, async () => {
    const w = store.watch('pods');
    let seen = 0;
    for await (const e of w) {
      latencies.push(performance.now() - written.get(e.object.metadata.name!)!);
      if (++seen === events) break;
    }
  });
  for (let i = 0; i < events; i++) {
    written.set(`p${i}`, performance.now());
    await store.create('pods', pod(`p${i}`));
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(done);
  await store.close();
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-store-'));
try {
  for (const sync of [true, false]) {
    const seq = await writes(dir, sync, 1, sync ? 1000 : 5000);
    const conc = await writes(dir, sync, 64, 10000);
    process.stdout.write(`store writes/s (fsync ${sync ? 'on ' : 'off'}): sequential ${seq.toFixed(0)}, 64 concurrent ${conc.toFixed(0)}\n`);
  }
  const lat = await watchLatency(dir, 100, 200);
  process.stdout.write(`watch delivery latency, 100 watchers, 200 writes: p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms (write start to event)\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
