import type { Container, Pod, Probe } from '../../../api/types.js';
import type { CriRuntime } from '../../../cri/runtime.js';
import type { Logger } from '../../../log/logger.js';
import { runProbe, type Attempt, type ProbeTarget } from './handlers.js';
import { ProbeState, type AttemptResult, type ProbeOutcome, type ProbeType } from './state.js';

// kubelet's prober manager: one worker per probe of each running container, keyed by the
// container's id so a restarted container starts with fresh results. A worker is a timer and a
// small state; it runs its handler every periodSeconds and tells the pod worker when a counted
// result changes, which then reports the status and kills a container whose liveness failed.

export type ProbeMetricResult = 'successful' | 'failed' | 'unknown';
/** Every attempt, for the agent's prober_probe_total. */
export type ProbeResultListener = (probeType: ProbeType, result: ProbeMetricResult, namespace: string, pod: string, container: string) => void;

export interface RunningContainer {
  name: string;
  id: string;
  /** Milliseconds since the epoch. */
  startedAt: number;
}

export interface ProbeResults {
  startup?: ProbeOutcome;
  readiness?: ProbeOutcome;
}

export interface ProbeFailure {
  type: 'Liveness' | 'Startup';
  probe: Probe;
}

export interface ProberOptions {
  runtime: CriRuntime;
  log: Logger;
  /** A counted result of one of the pod's probes changed. */
  onChange(uid: string): void;
  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void;
  onProbeResult?: ProbeResultListener;
  /** Runs one attempt; tests replace it. */
  attempt?: (probe: Probe, target: ProbeTarget) => Promise<Attempt>;
  now?: () => number;
  random?: () => number;
}

const metricOf: Record<AttemptResult, ProbeMetricResult> = { success: 'successful', failure: 'failed', unknown: 'unknown' };
const probeField: Record<ProbeType, 'livenessProbe' | 'readinessProbe' | 'startupProbe'> = { Liveness: 'livenessProbe', Readiness: 'readinessProbe', Startup: 'startupProbe' };

/** The probes of one running container. */
class ContainerProbes {
  readonly workers: ProbeWorker[] = [];
  startup: ProbeWorker | undefined;

  constructor(
    readonly prober: Prober,
    public pod: Pod,
    readonly spec: Container,
    readonly running: RunningContainer,
    public podIP: string,
  ) {
    for (const type of ['Startup', 'Readiness', 'Liveness'] as const) {
      const probe = spec[probeField[type]];
      if (!probe) continue;
      const w = new ProbeWorker(this, type, probe);
      if (type === 'Startup') this.startup = w;
      this.workers.push(w);
    }
  }

  get started(): boolean {
    return !this.startup || this.startup.state.done;
  }

  start(): void {
    for (const w of this.workers) w.start();
  }

  stop(): void {
    for (const w of this.workers) w.stop();
  }

  /** The startup probe succeeded: liveness and readiness waiting on it run now. */
  startupDone(): void {
    for (const w of this.workers) if (w !== this.startup) w.kick();
  }
}

class ProbeWorker {
  readonly state: ProbeState;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private waitingForStartup = false;
  private readonly periodMs: number;

  constructor(
    private readonly owner: ContainerProbes,
    readonly type: ProbeType,
    readonly probe: Probe,
  ) {
    this.state = new ProbeState(type, { successThreshold: probe.successThreshold || 1, failureThreshold: probe.failureThreshold || 3 });
    this.periodMs = (probe.periodSeconds || 10) * 1000;
  }

  start(): void {
    const { prober, running } = this.owner;
    const now = prober.now();
    const initialDelayMs = (this.probe.initialDelaySeconds ?? 0) * 1000;
    // Containers found running (an agent restart) spread their first probes over a period
    // instead of all probing at once; a new container is probed as soon as its delay allows.
    const jitter = now - running.startedAt > this.periodMs ? prober.random() * this.periodMs : 0;
    this.schedule(Math.max(0, running.startedAt + initialDelayMs - now) + jitter);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  kick(): void {
    if (!this.waitingForStartup || this.stopped) return;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const { prober } = this.owner;
    const began = prober.now();
    this.waitingForStartup = this.type !== 'Startup' && !this.owner.started;
    if (!this.waitingForStartup) await this.attempt();
    if (this.stopped || this.state.onHold || this.state.done) return;
    this.schedule(Math.max(0, began + this.periodMs - prober.now()));
  }

  private async attempt(): Promise<void> {
    const { prober, pod, spec, running } = this.owner;
    const target: ProbeTarget = { podIP: this.owner.podIP, containerId: running.id, ports: spec.ports ?? [] };
    const a = await prober.attempt(this.probe, target).catch((e: Error): Attempt => ({ result: 'unknown', output: e.message }));
    if (this.stopped) return;
    const { namespace = 'default', name = '' } = pod.metadata;
    prober.opts.onProbeResult?.(this.type, metricOf[a.result], namespace, name, spec.name);
    const fieldPath = `spec.containers{${spec.name}}`;
    if (a.result === 'failure') prober.opts.event(pod, 'Warning', 'Unhealthy', `${this.type} probe failed: ${a.output}`, fieldPath);
    else if (a.result === 'unknown') prober.opts.event(pod, 'Warning', 'Unhealthy', `${this.type} probe errored: ${a.output}`, fieldPath);
    if (!this.state.record(a.result)) return;
    prober.opts.log.debug({ pod: `${namespace}/${name}`, container: spec.name, probe: this.type, result: this.state.result }, 'probe result changed');
    if (this.type === 'Startup' && this.state.done) this.owner.startupDone();
    prober.opts.onChange(pod.metadata.uid!);
  }
}

export class Prober {
  /** By pod uid, then container id. */
  private readonly pods = new Map<string, Map<string, ContainerProbes>>();
  readonly now: () => number;
  readonly random: () => number;
  readonly attempt: (probe: Probe, target: ProbeTarget) => Promise<Attempt>;

  constructor(readonly opts: ProberOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.attempt = opts.attempt ?? ((probe, target) => runProbe(probe, target, opts.runtime));
  }

  /** The pod's running app containers: probe workers start for new ones and stop for the rest. */
  sync(pod: Pod, running: RunningContainer[], podIP: string): void {
    const uid = pod.metadata.uid!;
    let byId = this.pods.get(uid);
    const keep = new Set<string>();
    for (const c of running) {
      const spec = pod.spec.containers.find((s) => s.name === c.name);
      if (!spec || !(spec.livenessProbe || spec.readinessProbe || spec.startupProbe)) continue;
      keep.add(c.id);
      byId ??= this.pods.set(uid, new Map()).get(uid)!;
      const existing = byId.get(c.id);
      if (existing) {
        existing.pod = pod;
        existing.podIP = podIP;
        continue;
      }
      const probes = new ContainerProbes(this, pod, spec, c, podIP);
      byId.set(c.id, probes);
      probes.start();
    }
    if (!byId) return;
    for (const [id, probes] of byId) {
      if (keep.has(id)) continue;
      probes.stop();
      byId.delete(id);
    }
    if (byId.size === 0) this.pods.delete(uid);
  }

  /** Counted startup and readiness results of a container; absent before the first. */
  results(uid: string, containerId: string): ProbeResults {
    const probes = this.pods.get(uid)?.get(containerId);
    if (!probes) return {};
    const readiness = probes.workers.find((w) => w.type === 'Readiness');
    return { startup: probes.startup?.state.result, readiness: readiness?.state.result };
  }

  /** A liveness or startup probe of this container has failed: it is to be restarted. */
  failure(uid: string, containerId: string): ProbeFailure | undefined {
    const probes = this.pods.get(uid)?.get(containerId);
    const w = probes?.workers.find((x) => x.type !== 'Readiness' && x.state.onHold);
    return w ? { type: w.type as 'Liveness' | 'Startup', probe: w.probe } : undefined;
  }

  /** How many probe workers run (benchmarks and tests). */
  get workerCount(): number {
    let n = 0;
    for (const byId of this.pods.values()) for (const p of byId.values()) n += p.workers.length;
    return n;
  }

  forget(uid: string): void {
    for (const p of this.pods.get(uid)?.values() ?? []) p.stop();
    this.pods.delete(uid);
  }

  stop(): void {
    for (const uid of [...this.pods.keys()]) this.forget(uid);
  }
}
