import { randomUUID } from 'node:crypto';
import { Level } from 'level';
import { errors } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import { logger } from '../log/logger.js';
import type { ListOptions, ListResult, ObjectKey, Store, StoreEvent, Watch, WatchEventType, WatchOptions } from './store.js';
import { WatchStream } from './watch-stream.js';

// The level-backed store. Current objects live in memory (loaded at open) so reads never touch
// the disk; every write is one atomic level batch (object + history entry + revision) and is
// acknowledged only after the batch is on disk. Concurrent writes are group-committed: all
// writes that arrive while a batch is being written go into the next batch, so fsync costs
// one disk flush per batch rather than per write.

const log = logger('store');

const SEP = '\x00';
const objectPrefix = `o${SEP}`;
const historyPrefix = `h${SEP}`;
const revisionKey = `m${SEP}revision`;
const compactedKey = `m${SEP}compacted`;

const objectKey = (resource: string, namespace: string, name: string) => `${objectPrefix}${resource}${SEP}${namespace}${SEP}${name}`;
/** Zero-padded so level's byte order is revision order. */
const historyKey = (revision: number) => `${historyPrefix}${String(revision).padStart(16, '0')}`;
const mapKey = (namespace: string, name: string) => `${namespace}${SEP}${name}`;

export interface LevelStoreOptions {
  /** Events kept for watch resume; older ones are compacted away. Default 10,000. */
  historyLimit?: number;
  /** fsync every batch, so acknowledged writes survive power loss too. Default true. */
  sync?: boolean;
  /** Events a watcher may fall behind by before it is closed (its client re-lists). Default 10,000. */
  watchBufferLimit?: number;
}

interface PersistedEvent {
  type: WatchEventType;
  resource: string;
  object: KObject;
}

interface PendingWrite {
  revision: number;
  type: WatchEventType;
  resource: string;
  key: string;
  object: KObject;
  prev?: KObject;
  resolve: (obj: KObject) => void;
  reject: (e: unknown) => void;
}

const clone = <T>(v: T): T => structuredClone(v);

function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

export async function openLevelStore(dir: string, opts: LevelStoreOptions = {}): Promise<LevelStore> {
  const db = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  try {
    await db.open();
  } catch (e) {
    const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
    throw new Error(`cannot open the store at ${dir}: ${cause}${/lock/i.test(cause) ? ' (is another ctl server using this data dir?)' : ''}`, { cause: e });
  }
  const store = new LevelStore(db, opts);
  await store.load();
  return store;
}

export class LevelStore implements Store {
  private readonly objects = new Map<string, Map<string, KObject>>();
  /** Latest state including writes not yet on disk, so compare-and-swap sees queued writes. */
  private readonly pendingState = new Map<string, { revision: number; object: KObject | undefined }>();
  private queue: PendingWrite[] = [];
  private flushing = false;
  private committedRevision = 0;
  private assignedRevision = 0;
  private compacted = 0;
  private compacting = false;
  private closed = false;
  private failure: Error | undefined;
  private readonly watchers = new Set<WatchStream>();
  private readonly historyLimit: number;
  private readonly sync: boolean;
  private readonly watchBufferLimit: number;

  constructor(
    private readonly db: Level<string, string>,
    opts: LevelStoreOptions,
  ) {
    this.historyLimit = opts.historyLimit ?? 10_000;
    this.sync = opts.sync ?? true;
    this.watchBufferLimit = opts.watchBufferLimit ?? 10_000;
  }

  /** Reads the current objects and the revision counters into memory. */
  async load(): Promise<void> {
    for await (const [key, value] of this.db.iterator({ gt: objectPrefix, lt: `o${String.fromCharCode(1)}` })) {
      const [, resource, namespace, name] = key.split(SEP);
      this.bucket(resource).set(mapKey(namespace, name), deepFreeze(JSON.parse(value) as KObject));
    }
    this.committedRevision = this.assignedRevision = Number((await this.db.get(revisionKey)) ?? 0);
    this.compacted = Number((await this.db.get(compactedKey)) ?? 0);
    log.debug({ revision: this.committedRevision, compacted: this.compacted }, 'store loaded');
  }

  currentRevision(): number {
    return this.committedRevision;
  }

  compactedRevision(): number {
    return this.compacted;
  }

  async get(key: ObjectKey): Promise<KObject | undefined> {
    const obj = this.objects.get(key.resource)?.get(mapKey(key.namespace, key.name));
    return obj && clone(obj);
  }

  async list(resource: string, opts: ListOptions = {}): Promise<ListResult> {
    const items: KObject[] = [];
    for (const obj of this.objects.get(resource)?.values() ?? []) {
      if (opts.namespace !== undefined && opts.namespace !== '' && (obj.metadata.namespace ?? '') !== opts.namespace) continue;
      if (opts.filter && !opts.filter(obj)) continue;
      items.push(clone(obj));
    }
    items.sort((a, b) => compareKeys(a, b));
    return { items, revision: this.committedRevision };
  }

  create(resource: string, obj: KObject): Promise<KObject> {
    return this.enqueue(resource, obj, (current, name) => {
      if (current) throw errors.alreadyExists(resource, name);
      const metadata = { ...obj.metadata, uid: randomUUID(), creationTimestamp: nowTimestamp() };
      return { type: 'ADDED', object: { ...obj, metadata } };
    });
  }

  update(resource: string, obj: KObject): Promise<KObject> {
    return this.enqueue(resource, obj, (current, name) => {
      if (!current) throw errors.notFound(resource, name);
      const expected = obj.metadata.resourceVersion;
      if (expected !== undefined && expected !== '' && expected !== current.metadata.resourceVersion) {
        throw errors.conflict(resource, name, 'the object has been modified; please apply your changes to the latest version and try again');
      }
      const metadata = { ...obj.metadata, uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp };
      return { type: 'MODIFIED', object: { ...obj, metadata } };
    });
  }

  async guaranteedUpdate(
    key: ObjectKey,
    mutate: (current: KObject) => KObject | undefined | Promise<KObject | undefined>,
  ): Promise<KObject> {
    for (;;) {
      // The latest state includes queued writes: reading only committed state would conflict
      // with them until they reach the disk.
      const current = this.latest(key);
      if (!current) throw errors.notFound(key.resource, key.name);
      const next = await mutate(clone(current));
      if (next === undefined) return clone(current);
      next.metadata = { ...next.metadata, resourceVersion: current.metadata.resourceVersion };
      try {
        return await this.update(key.resource, next);
      } catch (e) {
        if ((e as { reason?: string }).reason !== 'Conflict') throw e;
        await new Promise((r) => setImmediate(r));
      }
    }
  }

  delete(key: ObjectKey, opts: { expectedResourceVersion?: string } = {}): Promise<KObject> {
    const stub = { apiVersion: '', kind: '', metadata: { name: key.name, namespace: key.namespace || undefined } };
    return this.enqueue(key.resource, stub, (current, name) => {
      if (!current) throw errors.notFound(key.resource, name);
      if (opts.expectedResourceVersion !== undefined && opts.expectedResourceVersion !== current.metadata.resourceVersion) {
        throw errors.conflict(key.resource, name, 'the object has been modified; please apply your changes to the latest version and try again');
      }
      return { type: 'DELETED', object: current };
    });
  }

  watch(resource: string, opts: WatchOptions = {}): Watch {
    if (this.closed) throw errors.unavailable('the store is closed');
    const since = opts.sinceRevision;
    if (since !== undefined && since < this.compacted) {
      throw errors.gone(`too old resource version: ${since} (${this.compacted})`);
    }
    const startRevision = this.committedRevision;
    // The iterator is created now, so it reads a snapshot that ends exactly where live delivery
    // begins: replay and live events neither overlap nor leave a gap.
    const history =
      since !== undefined && since < startRevision
        ? this.db.iterator({ gt: historyKey(since), lte: historyKey(startRevision) })
        : undefined;
    const stream = new WatchStream({
      resource,
      namespace: opts.namespace,
      filter: opts.filter,
      bufferLimit: this.watchBufferLimit,
      replay: history && replayHistory(history, resource),
      onClose: () => this.watchers.delete(stream),
    });
    this.watchers.add(stream);
    return stream;
  }

  async compact(revision: number): Promise<void> {
    const upTo = Math.min(revision, this.committedRevision);
    if (upTo <= this.compacted) return;
    // The marker moves first so no new watch starts inside a range being removed.
    this.compacted = upTo;
    await this.db.put(compactedKey, String(upTo), { sync: this.sync });
    await this.db.clear({ gt: historyPrefix, lte: historyKey(upTo) });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing || this.queue.length) await new Promise((r) => setTimeout(r, 5));
    for (const w of this.watchers) w.close();
    await this.db.close();
  }

  private latest(key: ObjectKey): KObject | undefined {
    const pending = this.pendingState.get(objectKey(key.resource, key.namespace, key.name));
    return pending ? pending.object : this.objects.get(key.resource)?.get(mapKey(key.namespace, key.name));
  }

  private bucket(resource: string): Map<string, KObject> {
    let b = this.objects.get(resource);
    if (!b) this.objects.set(resource, (b = new Map()));
    return b;
  }

  private enqueue(
    resource: string,
    obj: KObject,
    decide: (current: KObject | undefined, name: string) => { type: WatchEventType; object: KObject },
  ): Promise<KObject> {
    return new Promise<KObject>((resolve, reject) => {
      if (this.closed) return reject(errors.unavailable('the store is closed'));
      if (this.failure) return reject(errors.unavailable(`the store stopped accepting writes after a disk error: ${this.failure.message}; restart the server`));
      const name = obj.metadata?.name;
      if (!name) return reject(errors.badRequest('metadata.name: Required value'));
      const namespace = obj.metadata.namespace ?? '';
      const key = objectKey(resource, namespace, name);
      const current = this.latest({ resource, namespace, name });
      let decision: { type: WatchEventType; object: KObject };
      try {
        decision = decide(current, name);
      } catch (e) {
        return reject(e);
      }
      const revision = ++this.assignedRevision;
      const object = deepFreeze({ ...decision.object, metadata: { ...decision.object.metadata, resourceVersion: String(revision) } });
      this.pendingState.set(key, { revision, object: decision.type === 'DELETED' ? undefined : object });
      this.queue.push({ revision, type: decision.type, resource, key, object, prev: current, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length) {
        const batch = this.queue;
        this.queue = [];
        const ops = batch.flatMap((w) => {
          const event: PersistedEvent = { type: w.type, resource: w.resource, object: w.object };
          return [
            w.type === 'DELETED' ? { type: 'del' as const, key: w.key } : { type: 'put' as const, key: w.key, value: JSON.stringify(w.object) },
            { type: 'put' as const, key: historyKey(w.revision), value: JSON.stringify(event) },
          ];
        });
        ops.push({ type: 'put', key: revisionKey, value: String(batch[batch.length - 1].revision) });
        try {
          await this.db.batch(ops, { sync: this.sync });
        } catch (e) {
          this.fail(e as Error, batch);
          return;
        }
        for (const w of batch) this.commit(w);
      }
    } finally {
      this.flushing = false;
    }
    this.maybeCompact();
  }

  private commit(w: PendingWrite): void {
    const { namespace = '', name = '' } = w.object.metadata;
    const b = this.bucket(w.resource);
    if (w.type === 'DELETED') b.delete(mapKey(namespace, name));
    else b.set(mapKey(namespace, name), w.object);
    if (this.pendingState.get(w.key)?.revision === w.revision) this.pendingState.delete(w.key);
    this.committedRevision = w.revision;
    const event: StoreEvent = { type: w.type, resource: w.resource, object: w.object, revision: w.revision };
    for (const watcher of this.watchers) watcher.offer(event, w.prev);
    w.resolve(clone(w.object));
  }

  /** A failed batch leaves memory ahead of disk; refusing further writes keeps them from diverging. */
  private fail(e: Error, batch: PendingWrite[]): void {
    this.failure = e;
    log.error({ err: e }, 'store batch write failed; refusing further writes');
    const err = errors.unavailable(`the store could not write to disk: ${e.message}`);
    for (const w of [...batch, ...this.queue]) w.reject(err);
    this.queue = [];
    this.pendingState.clear();
  }

  private maybeCompact(): void {
    // Compact in steps of a tenth of the limit so it runs rarely and each run is small.
    const target = this.committedRevision - this.historyLimit;
    if (this.compacting || this.closed || target - this.compacted < Math.max(1, this.historyLimit / 10)) return;
    this.compacting = true;
    this.compact(target)
      .catch((e) => log.warn({ err: e }, 'history compaction failed; will retry'))
      .finally(() => (this.compacting = false));
  }
}

function compareKeys(a: KObject, b: KObject): number {
  const na = a.metadata.namespace ?? '';
  const nb = b.metadata.namespace ?? '';
  if (na !== nb) return na < nb ? -1 : 1;
  const ma = a.metadata.name ?? '';
  const mb = b.metadata.name ?? '';
  return ma < mb ? -1 : ma > mb ? 1 : 0;
}

async function* replayHistory(history: AsyncIterable<[string, string]>, resource: string): AsyncGenerator<StoreEvent> {
  for await (const [key, value] of history) {
    const event = JSON.parse(value) as PersistedEvent;
    if (event.resource !== resource) continue;
    yield { type: event.type, resource, object: deepFreeze(event.object), revision: Number(key.slice(historyPrefix.length)) };
  }
}
