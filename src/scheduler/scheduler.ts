import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import { isApiError } from '../api/errors.js';
import type { Node, Pod } from '../api/types.js';
import { logger, type Logger } from '../log/logger.js';
import type { SchedulerMetrics } from '../metrics/control-plane.js';
import type { Store, StoreEvent, Watch } from '../store/store.js';
import { schedulePod } from './algorithm.js';
import { bindPod, markUnschedulable, recordEvent, saysUnschedulable, scheduledMessage, schedulerEvent } from './binder.js';
import { defaultSchedulerName, SchedulerCache } from './cache.js';
import { podInfo, type PodInfo } from './pod-info.js';
import { defaultPlugins, type Plugin } from './plugins.js';
import { SchedulingQueue } from './queue.js';

// The binding loop: the only part of the scheduler with side effects. It keeps the cache in step
// with the store's watch of nodes and pods, takes unbound pods from the queue one at a time,
// decides synchronously against the cache, assumes the pod on its node at once (so the next
// decision sees it) and writes the binding in the background, many at a time, so that the
// store's group commit can put many bindings behind one fsync.

export interface SchedulerOptions {
  plugins?: readonly Plugin[];
  /** Pods naming another scheduler are left alone. Default `default-scheduler`. */
  schedulerName?: string;
  /** Share of nodes to find feasible before scoring; 0 or absent: Kubernetes' adaptive share. */
  percentageOfNodesToScore?: number;
  /** Binding writes in flight at once. Default 500. */
  maxInFlightBindings?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A pod parked as unschedulable this long is retried even if nothing changed. Default 30 s. */
  unschedulableTimeoutMs?: number;
  /** How often backoffs and parked pods are checked. Default 200 ms. */
  housekeepingMs?: number;
  log?: Logger;
  now?: () => Date;
  /** Attempts by result and their latency. */
  metrics?: SchedulerMetrics;
}

export interface SchedulerStats {
  /** Bindings written since start. */
  bound: number;
  /** Decisions that found no node. */
  unschedulableAttempts: number;
  /** Binding writes that failed and were retried. */
  bindErrors: number;
  queue: { active: number; unschedulable: number; backoff: number };
  cache: { nodes: number; placed: number; pending: number; assumed: number };
}

export interface Scheduler {
  /** Resolves once the first lists of nodes and pods are loaded; rejects if they cannot be. */
  readonly ready: Promise<void>;
  stats(): SchedulerStats;
  /** Stops watching and deciding, and waits for writes in flight. */
  stop(): Promise<void>;
}

export function startScheduler(store: Store, opts: SchedulerOptions = {}): Scheduler {
  return new BindingLoop(store, opts);
}

/** Cut the decision loop into slices of this many milliseconds so watch events and writes get their turn. */
const sliceMs = 10;

class BindingLoop implements Scheduler {
  readonly ready: Promise<void>;
  private readonly cache: SchedulerCache;
  private readonly queue: SchedulingQueue;
  private readonly plugins: readonly Plugin[];
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly maxInFlight: number;
  private stopped = false;
  private nextStartNodeIndex = 0;
  private readonly watches = new Set<Watch>();
  private readonly watchLoops: Promise<void>[] = [];
  /** Cancels retry pauses at stop. */
  private readonly abort = new AbortController();
  private readonly writes = new Set<Promise<void>>();
  private bindingsInFlight = 0;
  private slotFreed: (() => void) | undefined;
  /** The Unschedulable message last written (or being written) per pod, so repeats cost no write. */
  private readonly reported = new Map<string, string>();
  private readonly housekeeping: NodeJS.Timeout;
  private readonly running: Promise<void>;
  private readonly counters = { bound: 0, unschedulableAttempts: 0, bindErrors: 0 };

  constructor(
    private readonly store: Store,
    private readonly opts: SchedulerOptions,
  ) {
    this.cache = new SchedulerCache(opts.schedulerName ?? defaultSchedulerName);
    this.queue = new SchedulingQueue({
      initialBackoffMs: opts.initialBackoffMs,
      maxBackoffMs: opts.maxBackoffMs,
      unschedulableTimeoutMs: opts.unschedulableTimeoutMs,
    });
    this.plugins = opts.plugins ?? defaultPlugins;
    this.log = opts.log ?? logger('scheduler');
    this.now = opts.now ?? (() => new Date());
    this.maxInFlight = Math.max(1, opts.maxInFlightBindings ?? 500);
    this.housekeeping = setInterval(() => this.queue.flush(), opts.housekeepingMs ?? 200);
    this.housekeeping.unref();
    this.ready = this.start();
    this.running = this.ready.then(
      () => this.decideLoop(),
      () => undefined,
    );
  }

  stats(): SchedulerStats {
    return { ...this.counters, queue: this.queue.size, cache: this.cache.counts };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    clearInterval(this.housekeeping);
    for (const w of this.watches) w.close();
    this.queue.wake();
    this.slotFreed?.();
    await this.running;
    await Promise.all(this.watchLoops);
    await Promise.allSettled([...this.writes]);
  }

  private async start(): Promise<void> {
    const nodes = await this.store.list('nodes', { frozen: true });
    this.cache.resetNodes(nodes.items as Node[]);
    const pods = await this.store.list('pods', { frozen: true });
    this.enqueueOldestFirst(this.cache.resetPods(pods.items as Pod[]));
    this.log.info({ nodes: nodes.items.length, pods: pods.items.length, pending: this.queue.size.active }, 'scheduler started');
    this.watchLoops.push(
      this.watchLoop('nodes', nodes.revision, (e) => this.onNodeEvent(e), () => this.relistNodes()),
      this.watchLoop('pods', pods.revision, (e) => this.onPodEvent(e), () => this.relistPods()),
    );
  }

  private enqueueOldestFirst(keys: string[]): void {
    const created = (k: string) => this.cache.pendingPod(k)?.metadata.creationTimestamp ?? '';
    keys.sort((a, b) => (created(a) < created(b) ? -1 : created(a) > created(b) ? 1 : 0));
    for (const k of keys) if (!this.queue.has(k)) this.queue.add(k);
  }

  /** Follows one resource's events; when the watch ends early (fell behind, history compacted) it lists again. */
  private async watchLoop(resource: string, revision: number, onEvent: (e: StoreEvent) => void, relist: () => Promise<number>): Promise<void> {
    let since = revision;
    while (!this.stopped) {
      let watch: Watch;
      try {
        watch = this.store.watch(resource, { sinceRevision: since });
      } catch (e) {
        if (this.stopped) return;
        if (isApiError(e, 'Gone')) {
          since = await this.retrying(resource, relist);
          continue;
        }
        this.log.warn({ err: e, resource }, 'cannot watch the store; retrying in 1s');
        await this.pause(1000);
        continue;
      }
      this.watches.add(watch);
      try {
        for await (const event of watch) {
          onEvent(event);
          since = event.revision;
        }
      } catch (e) {
        this.log.warn({ err: e, resource }, 'watch failed; listing again');
      } finally {
        this.watches.delete(watch);
      }
      if (this.stopped) return;
      this.log.warn({ resource }, 'watch ended (fell behind or was cut off); listing again so the cache misses nothing');
      since = await this.retrying(resource, relist);
    }
  }

  private async retrying(resource: string, relist: () => Promise<number>): Promise<number> {
    for (;;) {
      try {
        return await relist();
      } catch (e) {
        if (this.stopped) return 0;
        this.log.warn({ err: e, resource }, 'listing failed; retrying in 1s');
        await this.pause(1000);
      }
    }
  }

  private pause(ms: number): Promise<void> {
    return sleep(ms, undefined, { signal: this.abort.signal }).catch(() => undefined);
  }

  private async relistNodes(): Promise<number> {
    const list = await this.store.list('nodes', { frozen: true });
    this.cache.resetNodes(list.items as Node[]);
    this.queue.moveAllToActive();
    return list.revision;
  }

  private async relistPods(): Promise<number> {
    const list = await this.store.list('pods', { frozen: true });
    this.enqueueOldestFirst(this.cache.resetPods(list.items as Pod[]));
    this.queue.moveAllToActive();
    return list.revision;
  }

  private onNodeEvent(e: StoreEvent): void {
    if (this.cache.applyNode(e.type, e.object as Node)) this.queue.moveAllToActive();
  }

  private onPodEvent(e: StoreEvent): void {
    const pod = e.object as Pod;
    const change = this.cache.applyPod(e.type, pod);
    const key = `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
    if (change.pending === 'added' || change.pending === 'changed') this.queue.add(key);
    else if (change.pending === 'removed') this.forgetPod(key);
    if (change.freed) this.queue.moveAllToActive();
  }

  private forgetPod(key: string): void {
    this.queue.done(key);
    this.reported.delete(key);
  }

  private async decideLoop(): Promise<void> {
    let sliceStart = performance.now();
    while (!this.stopped) {
      if (this.bindingsInFlight >= this.maxInFlight) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      const key = this.queue.pop();
      if (key === undefined) {
        await this.queue.wait();
        sliceStart = performance.now();
        continue;
      }
      this.scheduleOne(key);
      if (performance.now() - sliceStart > sliceMs) {
        await yieldToEventLoop();
        sliceStart = performance.now();
      }
    }
  }

  private scheduleOne(key: string): void {
    const pod = this.cache.pendingPod(key);
    if (!pod || this.cache.isAssumed(key)) return;
    const info = podInfo(pod);
    const decideStart = performance.now();
    const result = schedulePod(info, this.cache, {
      plugins: this.plugins,
      startIndex: this.nextStartNodeIndex,
      percentageOfNodesToScore: this.opts.percentageOfNodesToScore,
    });
    const nodeCount = this.cache.nodes.length;
    this.nextStartNodeIndex = nodeCount ? (this.nextStartNodeIndex + result.processed) % nodeCount : 0;
    if (result.ok) {
      this.cache.assume(info, result.nodeName);
      this.track(this.bind(info, result.nodeName, decideStart));
    } else {
      this.counters.unschedulableAttempts++;
      this.opts.metrics?.scheduleAttempt('unschedulable', (performance.now() - decideStart) / 1000);
      this.queue.markUnschedulable(key);
      this.track(this.reportUnschedulable(key, pod, result.message));
    }
  }

  private track(p: Promise<void>): void {
    this.writes.add(p);
    void p.finally(() => this.writes.delete(p));
  }

  private async bind(info: PodInfo, nodeName: string, decideStart: number): Promise<void> {
    const { key, pod } = info;
    this.bindingsInFlight++;
    let outcome;
    try {
      outcome = await bindPod(this.store, pod, nodeName, this.now());
    } catch (e) {
      this.counters.bindErrors++;
      this.opts.metrics?.scheduleAttempt('error', (performance.now() - decideStart) / 1000);
      this.cache.forget(key, pod.metadata.uid);
      if (!this.stopped) {
        this.log.warn({ err: e, pod: key, node: nodeName }, 'binding failed; the pod is retried after a backoff');
        if (this.cache.pendingPod(key)) this.queue.retryLater(key);
      }
      return;
    } finally {
      this.bindingsInFlight--;
      const freed = this.slotFreed;
      this.slotFreed = undefined;
      freed?.();
    }
    if (outcome === 'skipped') {
      // Someone else bound, deleted or replaced it; the watch brings the truth.
      this.cache.forget(key, pod.metadata.uid);
      return;
    }
    this.counters.bound++;
    this.opts.metrics?.scheduleAttempt('scheduled', (performance.now() - decideStart) / 1000);
    this.forgetPod(key);
    this.log.debug({ pod: key, node: nodeName }, 'pod bound');
    await this.writeEvent(schedulerEvent(pod, 'Normal', 'Scheduled', scheduledMessage(pod, nodeName), this.now()));
  }

  private async reportUnschedulable(key: string, pod: Pod, message: string): Promise<void> {
    if ((this.reported.get(key) ?? (saysUnschedulable(pod, message) ? message : undefined)) === message) return;
    this.reported.set(key, message);
    let wrote: boolean;
    try {
      wrote = await markUnschedulable(this.store, pod, message, this.now());
    } catch (e) {
      this.reported.delete(key);
      if (!this.stopped) this.log.warn({ err: e, pod: key }, 'cannot record why the pod is not scheduled; retried on its next attempt');
      return;
    }
    if (!wrote) return;
    this.log.info({ pod: key, reason: message }, 'pod fits on no node');
    await this.writeEvent(schedulerEvent(pod, 'Warning', 'FailedScheduling', message, this.now()));
  }

  private async writeEvent(event: ReturnType<typeof schedulerEvent>): Promise<void> {
    try {
      await recordEvent(this.store, event);
    } catch (e) {
      if (!this.stopped) this.log.warn({ err: e, event: event.metadata.name }, 'cannot record a scheduler event');
    }
  }
}
