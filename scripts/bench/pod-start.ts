// Pod start latency through the whole of Skiff against the runtime floor, in one run on one
// containerd: a real `ctl server`, one agent joined with `ctl join` (its own containerd), and
// pods created through the API one after another. Latency is creation → every container
// running, as a watch on the API sees it. The floor is RunPodSandbox + CreateContainer +
// StartContainer straight on the agent's containerd. Goal: p99 ≤ 1.5 × the floor's p99.
// Usage (root): node --import tsx scripts/bench/pod-start.ts [pods=50] [floorRuns=20]
import { performance } from 'node:perf_hooks';
import type { Pod } from '../../src/api/types.js';
import { resolveResource } from '../../src/cli/kinds.js';
import { connectRuntime } from '../../src/cri/client.js';
import { TEST_IMAGE } from '../../src/cri/local-images.js';
import type { PodSandboxConfig } from '../../src/cri/types.js';
import { startTestNode } from '../../test/e2e/agent-node.js';
import { TestCluster } from '../../test/e2e/harness.js';

const pods = Number(process.argv[2] ?? 50);
const floorRuns = Number(process.argv[3] ?? 20);

function summary(name: string, ms: number[]): { line: string; p99: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  const line =
    `${name.padEnd(44)} p50 ${at(0.5).toFixed(1).padStart(7)} ms   p99 ${at(0.99).toFixed(1).padStart(7)} ms   ` +
    `min ${s[0].toFixed(1).padStart(7)} ms   max ${s[s.length - 1].toFixed(1).padStart(7)} ms`;
  return { line, p99: at(0.99) };
}

const cluster = await TestCluster.start();
const node = await startTestNode(cluster, 'bench-pod-start').catch(async (e) => {
  await cluster.stop();
  throw e;
});
const cri = await connectRuntime(`unix://${node.socket}`);
const client = cluster.client();
const podsInfo = resolveResource('pods');
try {
  // The floor, on the very containerd the agent uses.
  const floor: number[] = [];
  for (let i = -1; i < floorRuns; i++) {
    const sb: PodSandboxConfig = { metadata: { name: `floor-${i + 1}`, uid: `floor-${i + 1}-uid`, namespace: 'bench' }, hostname: `floor-${i + 1}`, logDirectory: `${node.dataDir}/floor-${i + 1}` };
    const t = performance.now();
    const id = await cri.runPodSandbox(sb);
    const c = await cri.createContainer(id, { metadata: { name: 'main' }, image: { image: TEST_IMAGE }, command: ['sleep', '600'], logPath: 'main.log' }, sb);
    await cri.startContainer(c);
    if (i >= 0) floor.push(performance.now() - t);
    await cri.stopPodSandbox(id);
    await cri.removePodSandbox(id);
  }

  // Every pod's moment of "all containers running", as a watch sees it.
  const running = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const abort = new AbortController();
  const list = await client.list(podsInfo, { namespace: 'default' });
  const watching = (async () => {
    for await (const ev of client.watch(podsInfo, { namespace: 'default', labelSelector: 'bench=pod-start', resourceVersion: list.metadata?.resourceVersion }, abort.signal)) {
      const pod = ev.object as Pod;
      const name = pod.metadata.name!;
      const statuses = pod.status?.containerStatuses ?? [];
      if (!running.has(name) && statuses.length === pod.spec.containers.length && statuses.every((s) => s.state?.running)) {
        running.set(name, performance.now());
        waiters.get(name)?.();
      }
    }
  })().catch((e) => {
    if (!abort.signal.aborted) throw e;
  });

  const latencies: number[] = [];
  for (let i = -1; i < pods; i++) {
    const name = `start-${i + 1}`;
    const seen = new Promise<void>((r) => waiters.set(name, r));
    const t = performance.now();
    await client.create(podsInfo, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels: { bench: 'pod-start' } },
      spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: TEST_IMAGE, imagePullPolicy: 'Never', command: ['sleep', '600'] }] },
    } as Pod);
    await seen;
    if (i >= 0) latencies.push(running.get(name)! - t);
  }
  abort.abort();
  await watching;

  const v = await cri.version();
  process.stdout.write(`${v.runtimeName} ${v.runtimeVersion}; ${pods} pods created one after another; floor over ${floorRuns} runs\n`);
  const f = summary('CRI floor: sandbox + create + start', floor);
  const p = summary('pod start: create → all running (watch)', latencies);
  process.stdout.write(`${f.line}\n${p.line}\n`);
  process.stdout.write(`p99 ratio ${(p.p99 / f.p99).toFixed(2)} × floor (goal ≤ 1.5)\n`);
} finally {
  // Graceful, through ctl: the objects go only once the agent has stopped their containers.
  const deleted = await cluster.ctl(['delete', 'pods', '-l', 'bench=pod-start', '--grace-period', '1'], { timeoutMs: 600_000 });
  if (deleted.code !== 0) process.stderr.write(`deleting the benchmark's pods failed: ${deleted.stderr}\n`);
  client.close();
  cri.close();
  await node.agent.stop();
  await cluster.stop();
  node.removeBridge();
}
