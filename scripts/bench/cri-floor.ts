// The runtime floor that Skiff's orchestration overhead is judged against: on a private
// containerd, how long RunPodSandbox takes, and sandbox + CreateContainer + StartContainer of one
// busybox container. Prints p50/p99/min/max over N runs (default 20) after one warm-up run.
// Usage (root): node --import tsx scripts/bench/cri-floor.ts [runs]
import { performance } from 'node:perf_hooks';
import { startTestContainerd, TEST_IMAGE } from '../../test/helpers/containerd.js';
import type { PodSandboxConfig } from '../../src/cri/types.js';

const runs = Number(process.argv[2] ?? 20);

function summary(name: string, ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  return `${name.padEnd(34)} p50 ${at(0.5).toFixed(1).padStart(7)} ms   p99 ${at(0.99).toFixed(1).padStart(7)} ms   ` +
    `min ${s[0].toFixed(1).padStart(7)} ms   max ${s[s.length - 1].toFixed(1).padStart(7)} ms`;
}

const ctd = await startTestContainerd();
try {
  const sandboxOnly: number[] = [];
  const full: number[] = [];
  for (let i = -1; i < runs; i++) {
    const sb = (n: string): PodSandboxConfig => ({
      metadata: { name: n, uid: `${n}-uid`, namespace: 'bench' },
      hostname: n,
      logDirectory: `${ctd.logRoot}/${n}`,
    });

    const a = sb(`sb-${i + 1}`);
    let t = performance.now();
    const onlyId = await ctd.runtime.runPodSandbox(a);
    const sandboxMs = performance.now() - t;

    const b = sb(`full-${i + 1}`);
    t = performance.now();
    const id = await ctd.runtime.runPodSandbox(b);
    const c = await ctd.runtime.createContainer(id, { metadata: { name: 'main' }, image: { image: TEST_IMAGE }, command: ['sleep', '600'], logPath: 'main.log' }, b);
    await ctd.runtime.startContainer(c);
    const fullMs = performance.now() - t;

    if (i >= 0) {
      sandboxOnly.push(sandboxMs);
      full.push(fullMs);
    }
    for (const p of [onlyId, id]) {
      await ctd.runtime.stopPodSandbox(p);
      await ctd.runtime.removePodSandbox(p);
    }
  }
  const v = await ctd.runtime.version();
  process.stdout.write(`${v.runtimeName} ${v.runtimeVersion}, snapshotter ${ctd.managed.snapshotter}, ${runs} runs\n`);
  process.stdout.write(`${summary('RunPodSandbox', sandboxOnly)}\n`);
  process.stdout.write(`${summary('sandbox + create + start', full)}\n`);
} finally {
  await ctd.stop();
}
