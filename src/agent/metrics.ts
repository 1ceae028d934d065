import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Pod, PodStatus } from '../api/types.js';
import type { CriRuntime } from '../cri/runtime.js';
import type { Container, ContainerStats, PodSandbox } from '../cri/types.js';
import type { StatsSummaryReply } from '../bus/messages.js';
import type { Logger } from '../log/logger.js';
import { hostFiles, registerNodeMetrics, type HostFiles } from '../metrics/node.js';
import { busySeconds, parseMeminfo, parseProcStat } from '../metrics/proc.js';
import { labels, managedSelector } from './pods/labels.js';

// The agent's /metrics: node_exporter's node metrics, cAdvisor's container metrics from CRI
// stats, and kubelet's own (probes, pod start latency, running pods and containers). Everything
// from CRI is read when Prometheus asks (container stats one scrape ahead, see stats()); only the
// probe counter, the start latency and the restart counts are kept between scrapes.

export type ProbeType = 'Liveness' | 'Readiness' | 'Startup';
export type ProbeResult = 'successful' | 'failed' | 'unknown';
export type ProbeResultListener = (probeType: ProbeType, result: ProbeResult, namespace: string, pod: string, container: string) => void;

export interface AgentMetricsOptions {
  runtime: CriRuntime;
  dataDir: string;
  log: Logger;
  files?: HostFiles;
  /** Default true; off in tests that count metrics of their own. */
  processMetrics?: boolean;
  /** A stats reading younger than this is served without reading again. Default 5 s. */
  statsRefreshMs?: number;
  /** A stats reading older than this is not served: the scrape waits for a new one. Default 2 min. */
  statsMaxAgeMs?: number;
}

/** What one scrape reads from CRI; shared by every collector of that scrape. */
export interface CriSnapshot {
  sandboxes: PodSandbox[];
  containers: Container[];
  stats: ContainerStats[];
}

/** Scrapes that overlap (or come within this long of each other) share one CRI listing. */
const SNAPSHOT_REUSE_MS = 1_000;

const ident = (l: Record<string, string>) => ({ namespace: l[labels.podNamespace] ?? '', pod: l[labels.podName] ?? '', container: l[labels.containerName] ?? '' });

export class AgentMetrics {
  readonly registry = new Registry();
  /** The prober's callback: pass it as the pod manager's onProbeResult. */
  readonly onProbeResult: ProbeResultListener;
  private lists: { at: number; value: Promise<CriSnapshot> } | undefined;
  private lastStats: { at: number; stats: ContainerStats[] } | undefined;
  private statsInFlight: Promise<ContainerStats[]> | undefined;
  private readonly statsRefreshMs: number;
  private readonly statsMaxAgeMs: number;
  /** When this agent first saw each pod that has not reached Running yet. */
  private readonly seenAt = new Map<string, number>();
  private readonly restarts = new Map<string, { namespace: string; pod: string; containers: Map<string, number> }>();
  private readonly podStartDuration: Histogram;

  constructor(private readonly opts: AgentMetricsOptions) {
    this.statsRefreshMs = opts.statsRefreshMs ?? 5_000;
    this.statsMaxAgeMs = opts.statsMaxAgeMs ?? 120_000;
    const registers = [this.registry];
    if (opts.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
    registerNodeMetrics(this.registry, { dataDir: opts.dataDir, files: opts.files });

    const probes = new Counter({
      name: 'prober_probe_total',
      help: 'Cumulative number of a liveness, readiness or startup probe for a container by result.',
      labelNames: ['probe_type', 'result', 'namespace', 'pod', 'container'],
      registers,
    });
    this.onProbeResult = (probeType, result, namespace, pod, container) => probes.inc({ probe_type: probeType, result, namespace, pod, container });

    this.podStartDuration = new Histogram({
      name: 'kubelet_pod_start_duration_seconds',
      help: 'Duration in seconds from the agent seeing a pod for the first time to all its containers running.',
      buckets: [0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600],
      registers,
    });

    const self = this;
    new Gauge({
      name: 'kubelet_running_pods',
      help: 'Number of pods that have a running pod sandbox.',
      registers,
      async collect() {
        const s = await self.read();
        this.set(s.sandboxes.filter((sb) => sb.state === 'SANDBOX_READY').length);
      },
    });
    new Gauge({
      name: 'kubelet_running_containers',
      help: 'Number of containers currently running.',
      labelNames: ['container_state'],
      registers,
      async collect() {
        const s = await self.read();
        this.reset();
        const byState = new Map<string, number>();
        for (const c of s.containers) {
          const state = c.state.replace(/^CONTAINER_/, '').toLowerCase();
          byState.set(state, (byState.get(state) ?? 0) + 1);
        }
        for (const [state, n] of byState) this.set({ container_state: state }, n);
      },
    });

    const containerLabels = ['namespace', 'pod', 'container'] as const;
    new Counter({
      name: 'container_cpu_usage_seconds_total',
      help: 'Cumulative cpu time consumed in seconds.',
      labelNames: containerLabels,
      registers,
      async collect() {
        const s = await self.read();
        this.reset();
        for (const st of runningStats(s)) {
          const ns = st.cpu?.usageCoreNanoSeconds?.value;
          if (ns !== undefined) this.inc(ident(st.attributes!.labels), ns / 1e9);
        }
      },
    });
    new Gauge({
      name: 'container_memory_working_set_bytes',
      help: 'Current working set in bytes.',
      labelNames: containerLabels,
      registers,
      async collect() {
        const s = await self.read();
        this.reset();
        for (const st of runningStats(s)) {
          const ws = st.memory?.workingSetBytes?.value;
          if (ws !== undefined) this.set(ident(st.attributes!.labels), ws);
        }
      },
    });
    new Gauge({
      name: 'container_start_time_seconds',
      help: 'Start time of the container since unix epoch in seconds.',
      labelNames: containerLabels,
      registers,
      async collect() {
        const s = await self.read();
        this.reset();
        for (const c of s.containers) if (c.state === 'CONTAINER_RUNNING') this.set(ident(c.labels), c.createdAt / 1e9);
      },
    });
    new Counter({
      name: 'kube_pod_container_status_restarts_total',
      help: 'The number of container restarts per container.',
      labelNames: containerLabels,
      registers,
      collect() {
        this.reset();
        for (const p of self.restarts.values()) for (const [container, n] of p.containers) this.inc({ namespace: p.namespace, pod: p.pod, container }, n);
      },
    });
  }

  /** The pod manager's onPodSeen: starts the pod's start-latency clock. */
  readonly podSeen = (pod: Pod): void => {
    const uid = pod.metadata.uid;
    if (uid && !this.seenAt.has(uid)) this.seenAt.set(uid, Date.now());
  };

  /** The pod manager's status listener: start latency and restart counts. */
  readonly podStatus = (pod: Pod, status: PodStatus, terminated: boolean): void => {
    const uid = pod.metadata.uid!;
    if (terminated) {
      this.seenAt.delete(uid);
      this.restarts.delete(uid);
      return;
    }
    const statuses = status.containerStatuses ?? [];
    this.restarts.set(uid, { namespace: pod.metadata.namespace ?? '', pod: pod.metadata.name ?? '', containers: new Map(statuses.map((c) => [c.name, c.restartCount])) });
    const seen = this.seenAt.get(uid);
    if (seen === undefined || statuses.length === 0 || !statuses.every((c) => c.state?.running)) return;
    this.seenAt.delete(uid);
    // Containers that ran before this agent saw the pod were adopted after a restart, not started.
    const started = statuses.map((c) => Date.parse(c.state!.running!.startedAt ?? ''));
    if (started.some((t) => !(t >= Math.floor(seen / 1000) * 1000))) return;
    this.podStartDuration.observe((Date.now() - seen) / 1000);
  };

  /** The sandboxes and containers of this scrape: two cheap CRI lists, shared by its collectors. */
  read(): Promise<CriSnapshot> {
    const now = Date.now();
    if (this.lists && now - this.lists.at < SNAPSHOT_REUSE_MS) return this.lists.value;
    const { runtime } = this.opts;
    const value: Promise<CriSnapshot> = Promise.all([
      runtime.listPodSandbox({ labelSelector: managedSelector }, { timeoutMs: 10_000 }),
      runtime.listContainers({ labelSelector: managedSelector }, { timeoutMs: 10_000 }),
    ]).then(
      async ([sandboxes, containers]) => ({ sandboxes, containers, stats: await this.stats() }),
      (e) => {
        // The node metrics still answer while the runtime does not; the next scrape asks again.
        this.opts.log.warn({ err: e }, 'listing containers for metrics failed');
        if (this.lists?.value === value) this.lists = undefined;
        return { sandboxes: [], containers: [], stats: [] };
      },
    );
    this.lists = { at: now, value };
    return value;
  }

  /**
   * Container stats cost the runtime a call to every container's shim (about 5 ms each on
   * containerd 1.6), too slow to wait for on every scrape. Like cAdvisor's housekeeping, a scrape
   * gets the last reading when it is younger than statsMaxAgeMs and then starts the next one
   * (after its own lists, so the two do not compete), so the numbers lag by at most one scrape
   * interval; only the first scrape, or one after a long pause, waits for a reading.
   */
  private stats(): Promise<ContainerStats[]> {
    const now = Date.now();
    const last = this.lastStats;
    if (!this.statsInFlight && (!last || now - last.at >= this.statsRefreshMs)) {
      this.statsInFlight = this.opts.runtime
        .listContainerStats({ labelSelector: managedSelector }, { timeoutMs: 10_000 })
        .then((stats) => {
          this.lastStats = { at: now, stats };
          return stats;
        })
        .catch((e) => {
          this.opts.log.warn({ err: e }, 'reading container stats from the runtime failed');
          return this.lastStats?.stats ?? [];
        })
        .finally(() => (this.statsInFlight = undefined));
    }
    if (last && now - last.at < this.statsMaxAgeMs) return Promise.resolve(last.stats);
    return this.statsInFlight ?? Promise.resolve(last?.stats ?? []);
  }
}

interface UsageSample {
  at: number;
  /** Seconds all CPUs were busy since boot. */
  busy: number;
  memoryWorkingSetBytes: number;
  containers: Container[];
  stats: ContainerStats[];
}

/** A CPU rate needs two readings at least this far apart; closer ones are too noisy. */
const MIN_WINDOW_MS = 1_000;
/** An older reading averages over too long to be "current" use: read twice instead. */
const MAX_WINDOW_MS = 60_000;

/**
 * What `ctl top` shows (metrics-server's summary): CPU as a rate between this reading and the
 * previous one (taking a second reading a second later when there is no usable previous one),
 * and memory as the working set now.
 */
export class UsageSummary {
  private last: UsageSample | undefined;

  constructor(private readonly opts: { runtime: CriRuntime; nodeName: string; files?: HostFiles }) {}

  async summary(): Promise<StatsSummaryReply> {
    let now = await this.sample();
    let prev = this.last;
    if (!prev || now.at - prev.at < MIN_WINDOW_MS || now.at - prev.at > MAX_WINDOW_MS) {
      prev = now;
      await new Promise((r) => setTimeout(r, MIN_WINDOW_MS));
      now = await this.sample();
    }
    this.last = now;
    const window = (now.at - prev.at) / 1000;
    const before = new Map(prev.stats.map((st) => [st.attributes?.id, st.cpu?.usageCoreNanoSeconds?.value ?? 0]));
    const pods = new Map<string, StatsSummaryReply['pods'][number]>();
    for (const st of runningStats(now)) {
      const l = ident(st.attributes!.labels);
      if (!l.namespace || !l.pod) continue;
      const key = `${l.namespace}/${l.pod}`;
      const pod = pods.get(key) ?? pods.set(key, { namespace: l.namespace, name: l.pod, containers: [] }).get(key)!;
      const usedNs = (st.cpu?.usageCoreNanoSeconds?.value ?? 0) - (before.get(st.attributes!.id) ?? st.cpu?.usageCoreNanoSeconds?.value ?? 0);
      pod.containers.push({ name: l.container, cpuNanoCores: Math.max(0, Math.round(usedNs / window)), memoryWorkingSetBytes: st.memory?.workingSetBytes?.value ?? 0 });
    }
    return {
      v: 1,
      nodeName: this.opts.nodeName,
      timestamp: new Date(now.at).toISOString(),
      windowSeconds: window,
      node: { cpuNanoCores: Math.max(0, Math.round(((now.busy - prev.busy) / window) * 1e9)), memoryWorkingSetBytes: now.memoryWorkingSetBytes },
      pods: [...pods.values()],
    };
  }

  private async sample(): Promise<UsageSample> {
    const files = this.opts.files ?? hostFiles;
    const { runtime } = this.opts;
    const [stat, meminfo, containers, stats] = await Promise.all([
      files.read('/proc/stat'),
      files.read('/proc/meminfo'),
      runtime.listContainers({ labelSelector: managedSelector }, { timeoutMs: 10_000 }),
      runtime.listContainerStats({ labelSelector: managedSelector }, { timeoutMs: 10_000 }),
    ]);
    const mem = parseMeminfo(meminfo ?? '');
    return {
      at: Date.now(),
      busy: stat ? busySeconds(parseProcStat(stat)) : 0,
      memoryWorkingSetBytes: Math.max(0, (mem.get('MemTotal') ?? 0) - (mem.get('MemAvailable') ?? 0)),
      containers,
      stats,
    };
  }
}

/** Stats of containers that run now (CRI also lists exited ones, with their last numbers). */
function runningStats(s: { containers: Container[]; stats: ContainerStats[] }): ContainerStats[] {
  const running = new Set(s.containers.filter((c) => c.state === 'CONTAINER_RUNNING').map((c) => c.id));
  return s.stats.filter((st) => st.attributes && running.has(st.attributes.id));
}
