// What probes cost a node's agent: the pod manager in this process on a private containerd runs
// 100 probed containers (10 pods of 10), half with an exec readiness probe (`cat`), half with an
// httpGet liveness probe against busybox httpd, every probe every second. Once all run it
// samples this process's CPU % (user + system over wall time) and RSS for the window and prints
// them with the probe attempts, ready containers and restarts counted. `none` runs the same
// containers without probes, the baseline the probes add to.
// Usage (root): node --import tsx scripts/bench/probes.ts [seconds=30] [mixed|exec|http|none]
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { CriPodManager } from '../../src/agent/pods/manager.js';
import type { Container, Pod, PodStatus } from '../../src/api/types.js';
import { startTestContainerd, TEST_IMAGE } from '../../test/helpers/containerd.js';

const seconds = Number(process.argv[2] ?? 30);
const mode = (process.argv[3] ?? 'mixed') as 'mixed' | 'exec' | 'http' | 'none';
const podCount = 10;
const perPod = 10;

function containerFor(i: number): Container {
  const port = 8000 + i;
  const exec = mode === 'exec' || (mode === 'mixed' && i % 2 === 0);
  const base: Container = { name: `c${i}`, image: TEST_IMAGE, imagePullPolicy: 'IfNotPresent' };
  if (mode === 'none') return { ...base, command: ['sh', '-c', 'exec sleep 3600'] };
  if (exec) {
    return { ...base, command: ['sh', '-c', 'touch /tmp/ok; exec sleep 3600'], readinessProbe: { exec: { command: ['cat', '/tmp/ok'] }, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 } };
  }
  return {
    ...base,
    command: ['sh', '-c', `mkdir -p /tmp/w${i} && echo ok > /tmp/w${i}/index.html && exec httpd -f -p ${port} -h /tmp/w${i}`],
    livenessProbe: { httpGet: { path: '/index.html', port, scheme: 'HTTP' }, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
  };
}

const pods: Pod[] = Array.from({ length: podCount }, (_, p) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `probed-${p}`, namespace: 'bench', uid: randomUUID() },
  spec: { containers: Array.from({ length: perPod }, (_, i) => containerFor(i)), restartPolicy: 'Always', terminationGracePeriodSeconds: 1, nodeName: 'bench' },
}));

const ctd = await startTestContainerd();
const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-probes-'));
const attempts = { successful: 0, failed: 0, unknown: 0 };
/** Failed attempts by probe type (exec probes are readiness, httpGet ones liveness). */
const failedBy: Record<string, number> = {};
const manager = new CriPodManager({
  runtime: ctd.runtime,
  dataDir,
  nodeName: 'bench',
  hostIP: '127.0.0.1',
  log: pino({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' }),
  onProbeResult: (type, result) => {
    attempts[result]++;
    if (result === 'failed') failedBy[type] = (failedBy[type] ?? 0) + 1;
  },
});
const statuses = new Map<string, PodStatus>();
manager.onStatus((pod, status) => statuses.set(pod.metadata.uid!, status));
try {
  await manager.startLocal();
  const t0 = Date.now();
  manager.setDesired(pods);
  // Measured once every container runs; a loaded machine may leave some unready (slow execs
  // time out), which the counts printed at the end show.
  const containers = () => pods.flatMap((p) => statuses.get(p.metadata.uid!)?.containerStatuses ?? []);
  let nextNote = Date.now() + 10_000;
  while (containers().filter((c) => c.state?.running).length < podCount * perPod) {
    if (Date.now() - t0 > 900_000) throw new Error('the containers were not all running within 15 minutes');
    if (Date.now() > nextNote) {
      nextNote += 10_000;
      process.stderr.write(`${containers().filter((c) => c.state?.running).length} running, ${containers().filter((c) => c.ready).length} ready\n`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stdout.write(`${podCount * perPod} containers (${mode}) running in ${((Date.now() - t0) / 1000).toFixed(1)} s; sampling ${seconds} s\n`);
  await new Promise((r) => setTimeout(r, 3000));
  const before = { ...attempts };
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const rss: number[] = [];
  const cpuPerSecond: number[] = [];
  let last = { cpu: cpu0, wall: wall0 };
  for (let s = 0; s < seconds; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    const cpu = process.cpuUsage();
    const wall = performance.now();
    cpuPerSecond.push(((cpu.user - last.cpu.user + cpu.system - last.cpu.system) / 1000 / (wall - last.wall)) * 100);
    rss.push(process.memoryUsage().rss / 1024 / 1024);
    last = { cpu, wall };
  }
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - wall0;
  const total = ((cpu.user + cpu.system) / 1000 / wallMs) * 100;
  const sorted = [...cpuPerSecond].sort((a, b) => a - b);
  const n = (k: keyof typeof attempts) => attempts[k] - before[k];
  const probes = n('successful') + n('failed') + n('unknown');
  process.stdout.write(`agent CPU over ${(wallMs / 1000).toFixed(1)} s: ${total.toFixed(1)} % of one core (per-second p50 ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} %, max ${sorted.at(-1)!.toFixed(1)} %)\n`);
  process.stdout.write(`agent RSS: min ${Math.min(...rss).toFixed(1)} MiB, max ${Math.max(...rss).toFixed(1)} MiB, last ${rss.at(-1)!.toFixed(1)} MiB\n`);
  const all = containers();
  process.stdout.write(`containers: ${all.filter((c) => c.ready).length} ready, restarts ${all.reduce((n, c) => n + c.restartCount, 0)}\n`);
  process.stdout.write(`probe attempts: ${probes} (${(probes / (wallMs / 1000)).toFixed(1)}/s): ${n('successful')} successful, ${n('failed')} failed, ${n('unknown')} unknown\n`);
  process.stdout.write(`failed attempts since the start by probe: ${JSON.stringify(failedBy)}\n`);
} finally {
  await manager.stop();
  await ctd.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
