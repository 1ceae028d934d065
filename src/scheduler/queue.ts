// The scheduling queue, modelled on kube-scheduler's: pods to try now (active, FIFO, each key
// at most once), pods that fit nowhere (unschedulable, parked until the cluster changes), and
// pods moved out of that set while still inside their backoff (retried when it ends). Backoff
// doubles with each failed attempt, so a stream of cluster changes cannot make the scheduler
// re-check the same hopeless pods against every node over and over.

export interface QueueOptions {
  /** Backoff after the first failed attempt; doubles per attempt. Default 1 s. */
  initialBackoffMs?: number;
  /** Default 10 s. */
  maxBackoffMs?: number;
  /** A pod unschedulable this long is retried even if nothing changed. Default 30 s. */
  unschedulableTimeoutMs?: number;
  now?: () => number;
}

export class SchedulingQueue {
  /** A Set keeps insertion order: popping its first key is FIFO. */
  private readonly active = new Set<string>();
  /** key → when it was parked. */
  private readonly unschedulable = new Map<string, number>();
  /** key → when its backoff ends. */
  private readonly backoff = new Map<string, number>();
  /** key → failed attempts so far. */
  private readonly attempts = new Map<string, number>();
  /** key → when the last attempt failed. */
  private readonly lastFailure = new Map<string, number>();
  private waiter: (() => void) | undefined;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly unschedulableTimeoutMs: number;
  private readonly now: () => number;

  constructor(opts: QueueOptions = {}) {
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.unschedulableTimeoutMs = opts.unschedulableTimeoutMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  /** A new or changed pod: try it now, even if it was parked. */
  add(key: string): void {
    this.unschedulable.delete(key);
    this.backoff.delete(key);
    this.activate(key);
  }

  /** Next key to schedule, or undefined when none is ready. */
  pop(): string | undefined {
    for (const key of this.active) {
      this.active.delete(key);
      return key;
    }
    return undefined;
  }

  /** Resolves once a key is ready (at once if one is). */
  wait(): Promise<void> {
    if (this.active.size > 0) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Wakes a pending `wait()` without adding work (used at shutdown). */
  wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The pod fits nowhere: park it until the cluster changes. */
  markUnschedulable(key: string): void {
    const now = this.now();
    this.attempts.set(key, (this.attempts.get(key) ?? 0) + 1);
    this.lastFailure.set(key, now);
    this.active.delete(key);
    this.backoff.delete(key);
    this.unschedulable.set(key, now);
  }

  /** Scheduling the pod failed for a passing reason (a write error): retry after its backoff. */
  retryLater(key: string): void {
    const now = this.now();
    this.attempts.set(key, (this.attempts.get(key) ?? 0) + 1);
    this.lastFailure.set(key, now);
    this.active.delete(key);
    this.unschedulable.delete(key);
    this.backoff.set(key, now + this.backoffMs(key));
  }

  /** The pod is bound or gone: forget everything about it. */
  done(key: string): void {
    this.active.delete(key);
    this.unschedulable.delete(key);
    this.backoff.delete(key);
    this.attempts.delete(key);
    this.lastFailure.delete(key);
  }

  /** Something changed that may let parked pods fit: retry each once its backoff is over. */
  moveAllToActive(): void {
    const now = this.now();
    for (const key of this.unschedulable.keys()) this.moveOut(key, now);
    this.unschedulable.clear();
  }

  /** Periodic housekeeping: ended backoffs become active, long-parked pods are retried. */
  flush(): void {
    const now = this.now();
    for (const [key, readyAt] of this.backoff) {
      if (readyAt <= now) {
        this.backoff.delete(key);
        this.activate(key);
      }
    }
    for (const [key, since] of this.unschedulable) {
      if (now - since >= this.unschedulableTimeoutMs) {
        this.unschedulable.delete(key);
        this.moveOut(key, now);
      }
    }
  }

  isUnschedulable(key: string): boolean {
    return this.unschedulable.has(key);
  }

  has(key: string): boolean {
    return this.active.has(key) || this.unschedulable.has(key) || this.backoff.has(key);
  }

  get size(): { active: number; unschedulable: number; backoff: number } {
    return { active: this.active.size, unschedulable: this.unschedulable.size, backoff: this.backoff.size };
  }

  /** Current backoff of `key`: initial × 2^(attempts−1), capped. */
  backoffMs(key: string): number {
    const attempts = this.attempts.get(key) ?? 0;
    if (attempts === 0) return 0;
    return Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** Math.min(attempts - 1, 30));
  }

  private moveOut(key: string, now: number): void {
    const readyAt = (this.lastFailure.get(key) ?? 0) + this.backoffMs(key);
    if (readyAt <= now) this.activate(key);
    else this.backoff.set(key, readyAt);
  }

  private activate(key: string): void {
    this.active.add(key);
    this.wake();
  }
}
