import { isApiError } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import type { Logger } from '../log/logger.js';
import type { Store, StoreEvent, Watch } from '../store/store.js';

// The shared controller runtime (DESIGN.md, "Level-triggered reconcile"): informers keep a
// cache of one resource by listing and then watching from the list's revision; a controller
// turns events into keys on a deduplicated work queue and reconciles one key at a time.

/** `namespace/name`, or `name` for cluster-scoped objects. */
export const keyOf = (obj: KObject): string => (obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name!);

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export type InformerHandler = (type: StoreEvent['type'] | 'SYNC', obj: KObject, old: KObject | undefined) => void;

/** The values an object is filed under in one index (client-go's IndexFunc). */
export type IndexFunc = (obj: KObject) => string[];

const namespaceIndex = 'namespace';

/**
 * A cache of one resource kept by list + watch; cached objects are frozen and shared. Indexes
 * let a controller read the few objects it needs (one namespace, one owner's pods) without
 * scanning every object on each reconcile.
 */
export class Informer {
  private readonly cache = new Map<string, KObject>();
  private readonly indexers = new Map<string, IndexFunc>([[namespaceIndex, (o) => [o.metadata.namespace ?? '']]]);
  /** index name → value → keys. */
  private readonly indices = new Map<string, Map<string, Set<string>>>([[namespaceIndex, new Map()]]);
  private readonly handlers: InformerHandler[] = [];
  private watch: Watch | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private resolveReady!: () => void;
  readonly ready = new Promise<void>((r) => (this.resolveReady = r));

  constructor(
    private readonly store: Store,
    readonly resource: string,
    private readonly log: Logger,
  ) {}

  onEvent(h: InformerHandler): void {
    this.handlers.push(h);
  }

  get(key: string): KObject | undefined {
    return this.cache.get(key);
  }

  list(namespace?: string): KObject[] {
    return namespace === undefined ? [...this.cache.values()] : this.byIndex(namespaceIndex, namespace);
  }

  /** Adds an index; adding one of the same name again keeps the first (controllers share informers). */
  addIndex(name: string, fn: IndexFunc): void {
    if (this.indexers.has(name)) return;
    this.indexers.set(name, fn);
    const index = new Map<string, Set<string>>();
    this.indices.set(name, index);
    for (const [k, obj] of this.cache) this.file(index, k, fn(obj));
  }

  /** The cached objects filed under `value` in the index `name`. */
  byIndex(name: string, value: string): KObject[] {
    const keys = this.indices.get(name)?.get(value);
    return keys ? [...keys].map((k) => this.cache.get(k)!) : [];
  }

  private file(index: Map<string, Set<string>>, key: string, values: readonly string[]): void {
    for (const v of values) {
      let keys = index.get(v);
      if (!keys) index.set(v, (keys = new Set()));
      keys.add(key);
    }
  }

  private unfile(index: Map<string, Set<string>>, key: string, values: readonly string[]): void {
    for (const v of values) {
      const keys = index.get(v);
      keys?.delete(key);
      if (keys?.size === 0) index.delete(v);
    }
  }

  /** Caches `obj`; an index is touched only where its values for the object changed (most updates are status). */
  private put(key: string, obj: KObject): KObject | undefined {
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    for (const [name, fn] of this.indexers) {
      const index = this.indices.get(name)!;
      const next = fn(obj);
      const prev = old ? fn(old) : [];
      if (prev.length === next.length && prev.every((v, i) => v === next[i])) continue;
      this.unfile(index, key, prev);
      this.file(index, key, next);
    }
    return old;
  }

  private remove(key: string): KObject | undefined {
    const old = this.cache.get(key);
    if (!old) return undefined;
    this.cache.delete(key);
    for (const [name, fn] of this.indexers) this.unfile(this.indices.get(name)!, key, fn(old));
    return old;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.close();
    await this.loop;
  }

  private emit(type: StoreEvent['type'] | 'SYNC', obj: KObject, old: KObject | undefined): void {
    for (const h of this.handlers) h(type, obj, old);
  }

  /** Lists and replaces the cache, reporting what changed while no watch was running. */
  private async relist(): Promise<number> {
    const { items, revision } = await this.store.list(this.resource, { frozen: true });
    const seen = new Set<string>();
    for (const obj of items) {
      const k = keyOf(obj);
      seen.add(k);
      const old = this.put(k, obj);
      if (!old) this.emit('ADDED', obj, undefined);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit('MODIFIED', obj, old);
      else this.emit('SYNC', obj, old);
    }
    for (const [k, old] of this.cache) {
      if (!seen.has(k)) {
        this.remove(k);
        this.emit('DELETED', old, old);
      }
    }
    return revision;
  }

  private async run(): Promise<void> {
    let revision: number | undefined;
    while (!this.stopped) {
      try {
        if (revision === undefined) {
          revision = await this.relist();
          this.resolveReady();
        }
        const watch = this.store.watch(this.resource, { sinceRevision: revision });
        this.watch = watch;
        if (this.stopped) watch.close();
        for await (const e of watch) {
          revision = e.revision;
          const k = keyOf(e.object);
          const old = e.type === 'DELETED' ? this.remove(k) : this.put(k, e.object);
          this.emit(e.type, e.object, old);
        }
        // Ended: closed by stop, or cut off for falling behind; list again so nothing is missed.
        if (!this.stopped) this.log.warn({ resource: this.resource }, 'watch ended; listing again');
        revision = undefined;
      } catch (e) {
        if (this.stopped) break;
        if (!isApiError(e, 'Gone')) {
          this.log.warn({ err: e, resource: this.resource }, 'watch failed; listing again in 1s');
          await new Promise((r) => setTimeout(r, 1000));
        }
        revision = undefined;
      }
    }
  }
}

/** What reconcile returns: nothing when done, or a delay after which to look again. */
export type ReconcileResult = void | { retryAfterMs: number };

export interface ControllerOptions {
  name: string;
  log: Logger;
  reconcile: (key: string) => Promise<ReconcileResult>;
  /** Re-queue every key of the primary informer this often. */
  resyncMs?: number;
  /** Keys to queue on resync. */
  resyncKeys?: () => string[];
  /** First retry delay after a failed reconcile; doubles up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * A deduplicated queue of keys worked by one loop: a key added while it is being reconciled is
 * run again afterwards, never twice at once.
 */
export class Controller {
  private readonly pending = new Set<string>();
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private active: string | undefined;
  private wake: (() => void) | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private resync: NodeJS.Timeout | undefined;

  constructor(private readonly opts: ControllerOptions) {}

  enqueue(key: string): void {
    if (this.stopped) return;
    const timer = this.delayed.get(key);
    if (timer) {
      clearTimeout(timer);
      this.delayed.delete(key);
    }
    this.pending.add(key);
    this.wake?.();
  }

  enqueueAfter(key: string, ms: number): void {
    if (this.stopped || this.pending.has(key) || this.delayed.has(key)) return;
    this.delayed.set(
      key,
      setTimeout(() => {
        this.delayed.delete(key);
        this.enqueue(key);
      }, ms),
    );
  }

  start(): void {
    if (this.opts.resyncMs && this.opts.resyncKeys) {
      const keys = this.opts.resyncKeys;
      this.resync = setInterval(() => keys().forEach((k) => this.enqueue(k)), this.opts.resyncMs);
      this.resync.unref();
    }
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resync) clearInterval(this.resync);
    for (const t of this.delayed.values()) clearTimeout(t);
    this.delayed.clear();
    this.pending.clear();
    this.wake?.();
    await this.loop;
  }

  /** True when nothing is queued or running (tests wait for it). */
  get idle(): boolean {
    return this.pending.size === 0 && this.active === undefined;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const next = this.pending.values().next();
      if (next.done) {
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        continue;
      }
      const key = next.value;
      this.pending.delete(key);
      this.active = key;
      try {
        const result = await this.opts.reconcile(key);
        this.failures.delete(key);
        if (result) this.enqueueAfter(key, result.retryAfterMs);
      } catch (e) {
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        const delay = Math.min((this.opts.initialBackoffMs ?? 100) * 2 ** (n - 1), this.opts.maxBackoffMs ?? 30_000);
        this.opts.log.warn({ err: e, controller: this.opts.name, key, retryInMs: delay }, 'reconcile failed; retrying');
        this.enqueueAfter(key, delay);
      } finally {
        this.active = undefined;
      }
    }
  }
}
