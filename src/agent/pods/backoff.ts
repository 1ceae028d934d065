// kubelet's restart back-off: the first restart of a container is immediate, then each one waits
// twice as long as the last (10 s up to 5 min). An entry untouched for twice the maximum (the
// container ran 10 minutes) starts over. The clock is injected so unit tests need no waiting.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  now?: () => number;
}

interface Entry {
  delayMs: number;
  lastUpdateMs: number;
}

export class Backoff {
  private readonly entries = new Map<string, Entry>();
  readonly initialMs: number;
  readonly maxMs: number;
  private readonly now: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 10_000;
    this.maxMs = opts.maxMs ?? 300_000;
    this.now = opts.now ?? Date.now;
  }

  /** The delay now in force for `key`, or 0 when none (never failed, or reset). */
  delay(key: string): number {
    const e = this.entries.get(key);
    if (!e || this.expired(e)) return 0;
    return e.delayMs;
  }

  /**
   * Milliseconds left before `key` may be retried, counting from `sinceMs` (when the container
   * finished); 0 when it may be retried now.
   */
  remaining(key: string, sinceMs: number): number {
    const e = this.entries.get(key);
    if (!e || this.expired(e)) return 0;
    return Math.max(0, sinceMs + e.delayMs - this.now());
  }

  /** Records a retry: the next one waits longer. */
  next(key: string): void {
    const e = this.entries.get(key);
    const now = this.now();
    if (!e || this.expired(e)) this.entries.set(key, { delayMs: this.initialMs, lastUpdateMs: now });
    else this.entries.set(key, { delayMs: Math.min(e.delayMs * 2, this.maxMs), lastUpdateMs: now });
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key starting with `prefix` (a pod's uid). */
  forget(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  private expired(e: Entry): boolean {
    return this.now() - e.lastUpdateMs > 2 * this.maxMs;
  }
}
