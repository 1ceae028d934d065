// What a Prometheus scrape costs an agent: on a private containerd, the agent's pod manager runs
// N pods (default 50) of the busybox test image, then /metrics is fetched S times (default 50,
// after two warm-up scrapes). Prints p50/p99/max of the scrape time, the page size, and this
// process's RSS (pod manager, CRI client and metrics: the agent's parts) before and after.
// Goal: p99 under 50 ms with 50 pods.
// Usage (root): node --import tsx scripts/bench/metrics.ts [pods] [scrapes]
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { AgentMetrics } from '../../src/agent/metrics.js';
import { CriPodManager } from '../../src/agent/pods/manager.js';
import type { Pod } from '../../src/api/types.js';
import { startMetricsServer } from '../../src/metrics/http.js';
import { startTestContainerd, TEST_IMAGE } from '../../test/helpers/containerd.js';

const podCount = Number(process.argv[2] ?? 50);
const scrapes = Number(process.argv[3] ?? 50);
const log = pino({ level: 'warn' });
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;

const pod = (i: number): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `bench-${i}`, namespace: 'bench', uid: randomUUID() },
  spec: {
    nodeName: 'bench',
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 1,
    containers: [{ name: 'main', image: TEST_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
  },
});

const ctd = await startTestContainerd();
const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-metrics-'));
// Every scrape here starts a new stats reading, as each does at Prometheus' usual 15 s interval.
const metrics = new AgentMetrics({ runtime: ctd.runtime, dataDir: dir, log, statsRefreshMs: 1_000 });
const manager = new CriPodManager({ runtime: ctd.runtime, dataDir: dir, nodeName: 'bench', hostIP: '127.0.0.1', log, onPodSeen: metrics.podSeen });
manager.onStatus(metrics.podStatus);
const server = await startMetricsServer({ registry: metrics.registry, bindAddress: '127.0.0.1:0', log });
try {
  await manager.startLocal();
  const t0 = performance.now();
  manager.setDesired(Array.from({ length: podCount }, (_, i) => pod(i)));
  for (;;) {
    const running = (await ctd.runtime.listContainers({ state: { state: 'CONTAINER_RUNNING' } })).length;
    if (running >= podCount) break;
    if (performance.now() - t0 > 300_000) throw new Error(`only ${running} of ${podCount} containers running after 5 minutes`);
    await new Promise((r) => setTimeout(r, 250));
  }
  process.stdout.write(`${podCount} pods running after ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const url = `http://127.0.0.1:${server.port}/metrics`;
  let bytes = 0;
  let body = '';
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let i = -2; i < scrapes; i++) {
    // Apart by more than the reuse windows, so every scrape lists CRI afresh.
    await new Promise((r) => setTimeout(r, 1_100));
    const t = performance.now();
    const cpu0 = process.cpuUsage();
    const res = await fetch(url);
    body = await res.text();
    const ms = performance.now() - t;
    const cpu = process.cpuUsage(cpu0);
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${body}`);
    bytes = body.length;
    if (i >= 0) {
      times.push(ms);
      cpuTimes.push((cpu.user + cpu.system) / 1000);
    }
  }
  const series = body.split('\n').filter((l) => l.startsWith('container_memory_working_set_bytes{')).length;
  if (series < podCount) throw new Error(`only ${series} container_memory_working_set_bytes series for ${podCount} running pods`);
  const quantile = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  };
  const s = [...times].sort((a, b) => a - b);
  const at = quantile(times);
  const cpuAt = quantile(cpuTimes);
  process.stdout.write(
    `/metrics scrape with ${podCount} pods (${scrapes} scrapes, ${(bytes / 1024).toFixed(0)} KiB, ${series} container series): ` +
      `p50 ${at(0.5).toFixed(1)} ms   p99 ${at(0.99).toFixed(1)} ms   max ${s[s.length - 1].toFixed(1)} ms   (goal p99 < 50 ms)\n`,
  );
  // Wall time includes waiting for containerd and for a CPU; on a busy machine CPU time is the steadier number.
  process.stdout.write(`agent CPU time during a scrape (this process, background pod work included): p50 ${cpuAt(0.5).toFixed(1)} ms   p99 ${cpuAt(0.99).toFixed(1)} ms\n`);
  process.stdout.write(`load average during the run: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${availableParallelism()} CPUs\n`);
  process.stdout.write(`RSS of the agent parts: ${mib(rssBefore)} before scraping, ${mib(process.memoryUsage().rss)} after\n`);
} finally {
  await server.close();
  await manager.stop();
  await ctd.stop();
  rmSync(dir, { recursive: true, force: true });
}
