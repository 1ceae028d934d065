import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { AgentMetrics, UsageSummary } from '../../../src/agent/metrics.js';
import type { Pod, PodStatus } from '../../../src/api/types.js';
import type { CriRuntime } from '../../../src/cri/runtime.js';
import type { Container, ContainerStats, PodSandbox } from '../../../src/cri/types.js';
import type { HostFiles } from '../../../src/metrics/node.js';

// The agent's container and kubelet metrics against a scripted runtime: what CRI lists becomes
// cAdvisor's series, exited containers drop out, start latency is timed from first sight, and
// the prober's callback feeds prober_probe_total.

const log = pino({ level: 'silent' });
const podLabels = (pod: string, container?: string) => ({
  'io.kubernetes.pod.namespace': 'default',
  'io.kubernetes.pod.name': pod,
  'io.kubernetes.pod.uid': `${pod}-uid`,
  ...(container ? { 'io.kubernetes.container.name': container } : {}),
  'io.skiff.managed': 'true',
});
const sandbox = (pod: string, state: PodSandbox['state']): PodSandbox => ({ id: `sb-${pod}`, metadata: null, state, createdAt: 0, labels: podLabels(pod), annotations: {}, runtimeHandler: '' });
const container = (id: string, pod: string, state: Container['state'], createdSec: number): Container => ({
  id,
  podSandboxId: `sb-${pod}`,
  metadata: null,
  image: null,
  imageRef: '',
  state,
  createdAt: createdSec * 1e9,
  labels: podLabels(pod, 'main'),
  annotations: {},
});
const stats = (id: string, pod: string, cpuNs: number, ws: number): ContainerStats => ({
  attributes: { id, metadata: null, labels: podLabels(pod, 'main'), annotations: {} },
  cpu: { timestamp: 0, usageCoreNanoSeconds: { value: cpuNs }, usageNanoCores: null },
  memory: { timestamp: 0, workingSetBytes: { value: ws }, availableBytes: null, usageBytes: null, rssBytes: null, pageFaults: null, majorPageFaults: null },
  writableLayer: null,
});

function fakeRuntime(state: { sandboxes: PodSandbox[]; containers: Container[]; stats: ContainerStats[] }): CriRuntime & { statsCalls: number } {
  const rt = {
    statsCalls: 0,
    listPodSandbox: async () => state.sandboxes,
    listContainers: async () => state.containers,
    listContainerStats: async () => {
      rt.statsCalls++;
      return state.stats;
    },
  };
  return rt as unknown as CriRuntime & { statsCalls: number };
}

const noFiles: HostFiles = { read: async () => undefined, list: async () => [], statfs: async () => undefined };
const lines = (text: string) => text.split('\n');

test("container series from CRI stats under cAdvisor's names, for running containers only", async () => {
  const runtime = fakeRuntime({
    sandboxes: [sandbox('web', 'SANDBOX_READY'), sandbox('old', 'SANDBOX_NOTREADY')],
    containers: [container('c1', 'web', 'CONTAINER_RUNNING', 1_700_000_000), container('c0', 'old', 'CONTAINER_EXITED', 1_600_000_000)],
    stats: [stats('c1', 'web', 2_500_000_000, 4096), stats('c0', 'old', 9e9, 8192)],
  });
  const m = new AgentMetrics({ runtime, dataDir: '/data', log, files: noFiles, processMetrics: false });
  const text = lines(await m.registry.metrics());
  const has = (l: string, why: string) => assert.ok(text.includes(l), `${why}: ${l}\n${text.join('\n')}`);
  has('container_cpu_usage_seconds_total{namespace="default",pod="web",container="main"} 2.5', 'CPU nanoseconds as seconds');
  has('container_memory_working_set_bytes{namespace="default",pod="web",container="main"} 4096', 'working set in bytes');
  has('container_start_time_seconds{namespace="default",pod="web",container="main"} 1700000000', 'start time in epoch seconds');
  has('kubelet_running_pods 1', 'one ready sandbox');
  has('kubelet_running_containers{container_state="running"} 1', 'running containers by state');
  has('kubelet_running_containers{container_state="exited"} 1', 'exited containers by state');
  assert.ok(!text.some((l) => l.includes('pod="old"')), 'an exited container has no usage or start series');
});

test('container stats are served one scrape ahead: a recent reading is reused, an old one refreshed', async () => {
  const state = { sandboxes: [], containers: [container('c1', 'web', 'CONTAINER_RUNNING', 1)], stats: [stats('c1', 'web', 1e9, 1)] };
  const runtime = fakeRuntime(state);
  const m = new AgentMetrics({ runtime, dataDir: '/data', log, files: noFiles, processMetrics: false, statsRefreshMs: 50, statsMaxAgeMs: 60_000 });
  assert.match(await m.registry.metrics(), /container_cpu_usage_seconds_total\{[^}]*\} 1$/m, 'the first scrape waits for a reading');
  state.stats = [stats('c1', 'web', 3e9, 1)];
  await new Promise((r) => setTimeout(r, 1_100));
  assert.match(await m.registry.metrics(), /container_cpu_usage_seconds_total\{[^}]*\} 1$/m, 'a later scrape gets the last reading at once...');
  await new Promise((r) => setTimeout(r, 1_100));
  assert.match(await m.registry.metrics(), /container_cpu_usage_seconds_total\{[^}]*\} 3$/m, '...and the one after gets the reading it started');
  assert.equal(runtime.statsCalls, 3, 'one stats call per scrape, none more');
});

test('pod start latency from first sight to all containers running; adopted pods are not timed; restarts and probes counted', async () => {
  const m = new AgentMetrics({ runtime: fakeRuntime({ sandboxes: [], containers: [], stats: [] }), dataDir: '/data', log, files: noFiles, processMetrics: false });
  const pod = (name: string): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `${name}-uid` }, spec: { containers: [{ name: 'main', image: 'x' }] } });
  const status = (startedAt: string | undefined, restartCount = 0): PodStatus => ({
    phase: startedAt ? 'Running' : 'Pending',
    containerStatuses: [{ name: 'main', ready: !!startedAt, restartCount, image: 'x', imageID: '', state: startedAt ? { running: { startedAt } } : { waiting: { reason: 'ContainerCreating' } } }],
  });
  const now = new Date(Math.ceil(Date.now() / 1000) * 1000 + 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  m.podSeen(pod('fresh'));
  m.podStatus(pod('fresh'), status(undefined), false);
  m.podStatus(pod('fresh'), status(now, 2), false);
  m.podStatus(pod('fresh'), status(now, 2), false);
  m.podSeen(pod('adopted'));
  m.podStatus(pod('adopted'), status('2020-01-01T00:00:00Z'), false);
  m.onProbeResult('Readiness', 'successful', 'default', 'fresh', 'main');
  m.onProbeResult('Readiness', 'successful', 'default', 'fresh', 'main');
  m.onProbeResult('Liveness', 'failed', 'default', 'fresh', 'main');
  const text = lines(await m.registry.metrics());
  const has = (l: string, why: string) => assert.ok(text.includes(l), `${why}: ${l}\n${text.join('\n')}`);
  has('kubelet_pod_start_duration_seconds_count 1', 'the fresh pod is timed once; the adopted one, whose container ran before it was seen, is not');
  has('kube_pod_container_status_restarts_total{namespace="default",pod="fresh",container="main"} 2', 'restart count from the status');
  has('prober_probe_total{probe_type="Readiness",result="successful",namespace="default",pod="fresh",container="main"} 2', 'probe results by type and result');
  has('prober_probe_total{probe_type="Liveness",result="failed",namespace="default",pod="fresh",container="main"} 1', 'a failed liveness probe');
  m.podStatus(pod('fresh'), status(now, 2), true);
  assert.doesNotMatch(await m.registry.metrics(), /^kube_pod_container_status_restarts_total\{[^}]*pod="fresh"/m, 'a terminated pod drops its restart series');
});

test('usage summary: node CPU as busy seconds over the window, memory as total minus available, pods by container', async () => {
  let busyTicks = 1000;
  const files: HostFiles = {
    read: async (p) =>
      p === '/proc/stat' ? `cpu0 ${busyTicks} 0 0 5000 0 0 0 0\n` : p === '/proc/meminfo' ? 'MemTotal: 2048 kB\nMemAvailable: 1024 kB\n' : undefined,
    list: async () => [],
    statfs: async () => undefined,
  };
  const state = { sandboxes: [], containers: [container('c1', 'web', 'CONTAINER_RUNNING', 1)], stats: [stats('c1', 'web', 1e9, 4096)] };
  const runtime = fakeRuntime(state);
  runtime.listContainerStats = async () => {
    // Each reading: 50 more ticks of node CPU (0.5 s) and 0.25 s more in the container.
    busyTicks += 50;
    const ns = (state.stats[0].cpu!.usageCoreNanoSeconds!.value += 0.25e9);
    return [stats('c1', 'web', ns, 4096)];
  };
  const s = await new UsageSummary({ runtime, nodeName: 'n1', files }).summary();
  assert.ok(s.windowSeconds >= 1 && s.windowSeconds < 3, `two readings about a second apart: ${s.windowSeconds}`);
  assert.equal(s.node.memoryWorkingSetBytes, 1024 * 1024, 'MemTotal - MemAvailable');
  assert.equal(Math.round(s.node.cpuNanoCores * s.windowSeconds), 0.5e9, 'half a CPU-second between the readings');
  assert.deepEqual(s.pods.map((p) => [p.namespace, p.name, p.containers.map((c) => c.name)]), [['default', 'web', ['main']]], 'pods with their containers');
  assert.equal(Math.round(s.pods[0].containers[0].cpuNanoCores * s.windowSeconds), 0.25e9, 'the container used a quarter CPU-second');
});
