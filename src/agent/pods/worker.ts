import { mkdir, rm } from 'node:fs/promises';
import type { Container, Pod, PodStatus } from '../../api/types.js';
import type { CriRuntime } from '../../cri/runtime.js';
import type { DNSConfig, PodSandboxConfig } from '../../cri/types.js';
import type { Logger } from '../../log/logger.js';
import type { Backoff } from './backoff.js';
import { containerConfig, logDirOf, podDir, sandboxConfig, volumeDirs } from './cri-config.js';
import { containersNamed, type PodObservation, type WaitingReason } from './observation.js';
import { PodObserver } from './observe.js';
import { computePodActions, type StartAction } from './plan.js';
import type { Prober } from './prober/prober.js';
import type { PodReporter } from './reporter.js';
import { computePodStatus } from './status.js';

// One pod's worker: a serial loop that observes CRI, computes the actions, carries them out and
// reports the status. Triggers while a sync runs collapse into one more sync.

export interface WorkerDeps {
  runtime: CriRuntime;
  dataDir: string;
  nodeName: string;
  hostIP?: string;
  dns: DNSConfig;
  backoff: Backoff;
  reporter: PodReporter;
  prober: Prober;
  log: Logger;
  runtimeName: string;
  /** Called once the pod is gone from the node (after a kill). */
  onGone(uid: string): void;
  /** Resync period when nothing else triggers the worker. */
  resyncMs: number;
}

/** Grace for pods that vanished from the node's list: they were force-deleted. */
const FORCED_KILL_GRACE_SECONDS = 2;

const defaultPullPolicy = (image: string) => {
  const last = image.split('/').pop() ?? image;
  return !last.includes(':') || last.endsWith(':latest') ? 'Always' : 'IfNotPresent';
};

const fieldPathOf = (pod: Pod, name: string) => ((pod.spec.initContainers ?? []).some((c) => c.name === name) ? `spec.initContainers{${name}}` : `spec.containers{${name}}`);

export class PodWorker {
  private pod: Pod;
  private removed = false;
  private running = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly observer: PodObserver;
  /** Image errors by container name: shown as waiting reasons until the pull back-off ends. */
  private readonly imageErrors = new Map<string, WaitingReason & { failedAt: number }>();
  /** Back-off events already sent, by container and finish time. */
  private readonly backoffEventsSent = new Set<string>();
  private sandboxConfigCache: { id: string; config: PodSandboxConfig } | undefined;
  private lastStatus: PodStatus | undefined;
  private done = false;

  constructor(
    private readonly deps: WorkerDeps,
    pod: Pod,
  ) {
    this.pod = pod;
    this.observer = new PodObserver(deps.runtime, pod.metadata.uid!);
    this.lastStatus = deps.reporter.lastStatus(pod.metadata.uid!) ?? (pod.status?.phase ? pod.status : undefined);
  }

  get uid(): string {
    return this.pod.metadata.uid!;
  }

  get currentPod(): Pod {
    return this.pod;
  }

  update(pod: Pod): void {
    this.pod = pod;
    this.trigger();
  }

  /** The pod left the node's list: stop it. */
  remove(): void {
    this.removed = true;
    this.trigger();
  }

  /** Stops the loop without touching containers (agent shutdown). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  trigger(): void {
    if (this.stopped || this.done) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    let waitMs = this.deps.resyncMs;
    do {
      this.again = false;
      try {
        waitMs = await this.sync();
      } catch (e) {
        this.deps.log.warn({ err: e, pod: this.key() }, 'pod sync failed; retrying');
        waitMs = 1000;
      }
    } while (this.again && !this.stopped && !this.done);
    this.running = false;
    if (!this.stopped && !this.done) this.timer = setTimeout(() => this.trigger(), waitMs);
  }

  private key(): string {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }

  private async sync(): Promise<number> {
    if (this.removed || this.pod.metadata.deletionTimestamp) {
      await this.kill();
      return this.deps.resyncMs;
    }
    const { backoff } = this.deps;
    const pod = this.pod;
    const uid = this.uid;
    let observed = await this.observer.observe();
    if (await this.killUnhealthy(observed)) observed = await this.observer.observe();

    const held: Record<string, WaitingReason> = {};
    for (const [name, err] of this.imageErrors) {
      if (err.reason === 'ErrImageNeverPull') held[name] = { reason: err.reason, message: err.message };
      else if (backoff.remaining(`${uid}/pull/${name}`, err.failedAt) > 0) held[name] = { reason: 'ImagePullBackOff', message: `Back-off pulling image "${this.imageOf(name)}"` };
    }
    const actions = computePodActions({
      pod,
      observed,
      backoffRemaining: (name, finishedAt) => backoff.remaining(`${uid}/${name}`, finishedAt),
      backoffDelay: (name) => backoff.delay(`${uid}/${name}`),
      imageErrors: held,
    });
    const { runtime } = this.deps;
    let changed = false;
    for (const id of actions.garbage) await runtime.removeContainer(id).catch(() => undefined);
    for (const c of actions.kill) {
      await runtime.stopContainer(c.id, 0).catch(() => undefined);
      changed = true;
    }
    for (const id of actions.removeSandboxes) {
      await runtime.stopPodSandbox(id).catch(() => undefined);
      await runtime.removePodSandbox(id).catch(() => undefined);
      changed = true;
    }
    if (actions.stopSandbox) {
      await runtime.stopPodSandbox(actions.stopSandbox);
      changed = true;
    }
    let sandboxId = actions.sandboxId;
    const podPath = podDir(this.deps.dataDir, uid);
    if (actions.createSandbox) {
      await mkdir(logDirOf(podPath), { recursive: true });
      for (const d of volumeDirs(pod, { podDir: podPath })) await mkdir(d, { recursive: true });
      const config = sandboxConfig(pod, actions.createSandbox.attempt, { podDir: podPath }, this.deps.dns);
      try {
        sandboxId = await runtime.runPodSandbox(config);
      } catch (e) {
        this.deps.reporter.event(pod, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(e as Error).message}`);
        throw e;
      }
      this.sandboxConfigCache = { id: sandboxId, config };
      changed = true;
    }
    const waiting = { ...actions.waiting };
    if (sandboxId) {
      for (const start of actions.start) {
        const ok = await this.startContainer(start, sandboxId, observed, waiting);
        changed = true;
        if (!ok && start.kind === 'init') break;
      }
    }
    for (const [name, w] of Object.entries(actions.waiting)) {
      if (w.reason === 'ImagePullBackOff') {
        const key = `pull ${name}@${this.imageErrors.get(name)?.failedAt ?? 0}`;
        if (!this.backoffEventsSent.has(key)) {
          this.backoffEventsSent.add(key);
          this.deps.reporter.event(pod, 'Normal', 'BackOff', w.message, fieldPathOf(pod, name));
        }
        continue;
      }
      if (w.reason !== 'CrashLoopBackOff') continue;
      const last = containersNamed(observed, name)[0];
      const key = `${name}@${last?.finishedAt ?? 0}`;
      if (this.backoffEventsSent.has(key)) continue;
      this.backoffEventsSent.add(key);
      this.deps.reporter.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${uid})`, fieldPathOf(pod, name));
    }
    if (changed) observed = await this.observer.observe();
    this.report(observed, waiting);
    const running = observed.containers.filter((c) => c.state === 'running' && c.kind === 'app' && c.sandboxId === sandboxId);
    this.deps.prober.sync(
      pod,
      running.map((c) => ({ name: c.name, id: c.id, startedAt: c.startedAt || c.createdAt })),
      this.lastStatus?.podIP ?? '',
    );
    let wait = this.deps.resyncMs;
    if (actions.wakeInMs !== undefined) wait = Math.min(wait, actions.wakeInMs + 50);
    for (const [name, err] of this.imageErrors) wait = Math.min(wait, Math.max(50, backoff.remaining(`${uid}/pull/${name}`, err.failedAt) + 50));
    return wait;
  }

  /**
   * Stops, with its grace period, every container whose liveness or startup probe failed; the
   * plan then restarts it in the same sandbox, so the pod keeps its IP. Returns whether any was.
   */
  private async killUnhealthy(observed: PodObservation): Promise<boolean> {
    const { prober, reporter, runtime } = this.deps;
    const pod = this.pod;
    let killed = false;
    for (const c of observed.containers) {
      if (c.state !== 'running') continue;
      const failure = prober.failure(this.uid, c.id);
      if (!failure) continue;
      const grace = failure.probe.terminationGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      reporter.event(pod, 'Normal', 'Killing', `Container ${c.name} failed ${failure.type.toLowerCase()} probe, will be restarted`, fieldPathOf(pod, c.name));
      await runtime.stopContainer(c.id, grace, { timeoutMs: (grace + 60) * 1000 });
      killed = true;
    }
    return killed;
  }

  private imageOf(name: string): string {
    return [...(this.pod.spec.initContainers ?? []), ...this.pod.spec.containers].find((c) => c.name === name)?.image ?? '';
  }

  private report(observed: PodObservation, waiting: Record<string, WaitingReason>, terminated = false): void {
    const status = computePodStatus({
      pod: this.pod,
      observed,
      waiting,
      hostIP: this.deps.hostIP,
      previous: this.lastStatus,
      now: new Date(),
      runtimeName: this.deps.runtimeName,
      probes: (id) => this.deps.prober.results(this.uid, id),
    });
    this.lastStatus = status;
    this.deps.reporter.setStatus(this.pod, status, terminated);
  }

  private async sandboxConfigFor(sandboxId: string): Promise<PodSandboxConfig> {
    if (this.sandboxConfigCache?.id === sandboxId) return this.sandboxConfigCache.config;
    const st = await this.deps.runtime.podSandboxStatus(sandboxId);
    const config = sandboxConfig(this.pod, st.status.metadata?.attempt ?? 0, { podDir: podDir(this.deps.dataDir, this.uid) }, this.deps.dns);
    this.sandboxConfigCache = { id: sandboxId, config };
    return config;
  }

  /** Image, create, start; on failure the container's waiting reason says why. Returns whether it started. */
  private async startContainer(start: StartAction, sandboxId: string, observed: PodObservation, waiting: Record<string, WaitingReason>): Promise<boolean> {
    const pod = this.pod;
    const spec = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === start.name)!;
    const fieldPath = fieldPathOf(pod, start.name);
    const { runtime, reporter, backoff } = this.deps;
    if (!(await this.ensureImage(spec, fieldPath, waiting))) return false;
    const previous = containersNamed(observed, start.name)[0];
    if (previous && (previous.state === 'exited' || previous.state === 'unknown')) backoff.next(`${this.uid}/${start.name}`);
    const sandboxConfig = await this.sandboxConfigFor(sandboxId);
    const podIP = this.lastStatus?.podIP;
    const config = containerConfig(pod, spec, start.kind, start.attempt, { podDir: podDir(this.deps.dataDir, this.uid) }, { nodeName: this.deps.nodeName, hostIP: this.deps.hostIP, podIP });
    let id: string;
    try {
      id = await runtime.createContainer(sandboxId, config, sandboxConfig);
    } catch (e) {
      const message = (e as Error).message;
      waiting[start.name] = { reason: 'CreateContainerError', message };
      reporter.event(pod, 'Warning', 'Failed', `Error: ${message}`, fieldPath);
      return false;
    }
    reporter.event(pod, 'Normal', 'Created', `Created container ${start.name}`, fieldPath);
    try {
      await runtime.startContainer(id);
    } catch (e) {
      const message = (e as Error).message;
      waiting[start.name] = { reason: 'RunContainerError', message };
      reporter.event(pod, 'Warning', 'Failed', `Error: ${message}`, fieldPath);
      return false;
    }
    reporter.event(pod, 'Normal', 'Started', `Started container ${start.name}`, fieldPath);
    return true;
  }

  private async ensureImage(spec: Container, fieldPath: string, waiting: Record<string, WaitingReason>): Promise<boolean> {
    const { runtime, reporter, backoff } = this.deps;
    const pod = this.pod;
    const image = spec.image ?? '';
    const policy = spec.imagePullPolicy ?? defaultPullPolicy(image);
    const pullKey = `${this.uid}/pull/${spec.name}`;
    const present = policy === 'Always' ? undefined : await runtime.imageStatus({ image });
    if (policy === 'Never' && !present) {
      const message = `Container image "${image}" is not present with pull policy of Never`;
      this.imageErrors.set(spec.name, { reason: 'ErrImageNeverPull', message, failedAt: Date.now() });
      waiting[spec.name] = { reason: 'ErrImageNeverPull', message };
      reporter.event(pod, 'Warning', 'ErrImageNeverPull', message, fieldPath);
      return false;
    }
    if (present) {
      this.imageErrors.delete(spec.name);
      reporter.event(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`, fieldPath);
      return true;
    }
    reporter.event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`, fieldPath);
    const started = performance.now();
    try {
      await runtime.pullImage({ image });
    } catch (e) {
      const message = `Failed to pull image "${image}": ${(e as Error).message}`;
      backoff.next(pullKey);
      this.imageErrors.set(spec.name, { reason: 'ErrImagePull', message, failedAt: Date.now() });
      waiting[spec.name] = { reason: 'ErrImagePull', message };
      reporter.event(pod, 'Warning', 'Failed', message, fieldPath);
      reporter.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull', fieldPath);
      return false;
    }
    backoff.reset(pullKey);
    this.imageErrors.delete(spec.name);
    reporter.event(pod, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${((performance.now() - started) / 1000).toFixed(3)}s`, fieldPath);
    return true;
  }

  /** SIGTERM, the grace period, SIGKILL (CRI's StopContainer does all three), then the sandbox. */
  private async kill(): Promise<void> {
    const { runtime, reporter } = this.deps;
    const pod = this.pod;
    const grace = pod.metadata.deletionGracePeriodSeconds ?? (this.removed ? FORCED_KILL_GRACE_SECONDS : (pod.spec.terminationGracePeriodSeconds ?? 30));
    this.deps.prober.forget(this.uid);
    const observed = await this.observer.observe();
    const live = observed.containers.filter((c) => c.state === 'running' || c.state === 'created');
    for (const c of live) reporter.event(pod, 'Normal', 'Killing', `Stopping container ${c.name}`, fieldPathOf(pod, c.name));
    await Promise.all(live.map((c) => runtime.stopContainer(c.id, grace, { timeoutMs: (grace + 60) * 1000 })));
    const final = await this.observer.observe();
    for (const sb of final.sandboxes) {
      await runtime.stopPodSandbox(sb.id);
      await runtime.removePodSandbox(sb.id);
    }
    // Volumes and logs go before the report: "terminated" means nothing of the pod is left.
    await rm(podDir(this.deps.dataDir, this.uid), { recursive: true, force: true });
    this.report(final, {}, true);
    this.deps.backoff.forget(`${this.uid}/`);
    this.done = true;
    clearTimeout(this.timer);
    this.deps.onGone(this.uid);
  }
}
