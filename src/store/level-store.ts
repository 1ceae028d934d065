import { randomUUID } from 'node:crypto';
import { Level } from 'level';
import { errors } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import { logger } from '../log/logger.js';
import type { GetOptions, ListOptions, ListResult, ObjectKey, Store, StoreEvent, Watch, WatchEventType, WatchOptions } from './store.js';
import { WatchStream, type RecentEvent } from './watch-stream.js';

// The level-backed store. Current objects live in memory (loaded at open) so reads never touch
// the disk. Every write is one atomic level batch (object + history entry + revision counter),
// acknowledged only once level has it: with `sync` (the default) after an fsync, so it survives
// power loss, not just a killed process. Writes are group-committed: the writes that arrive while
// a batch is being written form the next batch, so one fsync serves many concurrent writes.
//
// On disk (keys are utf8 strings, \0-separated):
//   o\0{resource}\0{namespace}\0{name} -> object JSON
//   h\0{revision, 16 digits}           -> {resource}\0{type}\0{object JSON}
//   m\0revision, m\0compacted, m\0format

const log = logger('store');

const SEP = '\x00';
const objectPrefix = `o${SEP}`;
const objectEnd = 'o\x01';
const historyPrefix = `h${SEP}`;
const revisionKey = `m${SEP}revision`;
const compactedKey = `m${SEP}compacted`;
const formatKey = `m${SEP}format`;
const format = '1';

/** Writes per level batch: bounds the time one commit holds the event loop. */
const maxBatch = 512;

const objectDbKey = (resource: string, namespace: string, name: string) => `${objectPrefix}${resource}${SEP}${namespace}${SEP}${name}`;
/** Zero-padded so level's byte order is revision order. */
const historyKey = (revision: number) => `${historyPrefix}${String(revision).padStart(16, '0')}`;

const conflictMessage = 'the object has been modified; please apply your changes to the latest version and try again';

export interface LevelStoreOptions {
  /** Events kept on disk for watch resume; older ones are compacted away in the background. Default 10,000. */
  historyLimit?: number;
  /** fsync every batch, so acknowledged writes survive power loss too. Default true. */
  sync?: boolean;
  /** Events a watcher may fall behind by before it is closed (its client re-lists). Default 10,000. */
  watchBufferLimit?: number;
  /**
   * Latest events kept in memory with their previous objects; a watch resuming within them
   * replays from memory with exact filter transitions. Default 1,000 (at most twice this is held).
   */
  recentEvents?: number;
}

interface PendingWrite {
  revision: number;
  type: WatchEventType;
  resource: string;
  dbKey: string;
  json: string;
  object: KObject;
  prev: KObject | undefined;
  resolve: (obj: KObject) => void;
  reject: (e: unknown) => void;
}

/** RFC 3339 at seconds precision, as Kubernetes writes timestamps. */
function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * One copy of each repeated string value. Most of a stored pod's strings repeat across objects
 * (timestamps, images, owner UIDs, defaulted fields): sharing them cuts the store's memory by
 * about a fifth. Bounded: when full it starts over, and objects keep the copies they have.
 */
class StringPool {
  private strings = new Map<string, string>();
  constructor(private readonly limit: number) {}

  intern(s: string): string {
    // V8's JSON.parse already shares string values of up to 10 characters.
    if (s.length <= 10 || s.length > 256) return s;
    const found = this.strings.get(s);
    if (found !== undefined) return found;
    if (this.strings.size >= this.limit) this.strings = new Map();
    this.strings.set(s, s);
    return s;
  }
}

/** Freezes a freshly parsed object, sharing its string values through `pool`. */
function freezeParsed<T>(v: T, pool: StringPool): T {
  if (!v || typeof v !== 'object' || Object.isFrozen(v)) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = typeof v[i] === 'string' ? pool.intern(v[i]) : freezeParsed(v[i], pool);
  } else {
    const o = v as Record<string, unknown>;
    for (const k in o) {
      const child = o[k];
      o[k] = typeof child === 'string' ? pool.intern(child) : freezeParsed(child, pool);
    }
  }
  return Object.freeze(v);
}

/**
 * The stored form of a write's new object: subtrees it shares with `current` (the stored object
 * it replaces, frozen) are kept as they are; the rest is copied as JSON carries it (undefined
 * fields dropped, non-finite numbers as null, toJSON applied) and frozen. A status write then
 * shares the pod's spec with the version before instead of parsing it again.
 */
function storedForm(next: unknown, current: unknown, pool: StringPool): unknown {
  if (next === current && typeof next === 'object' && next !== null && Object.isFrozen(next)) return next;
  switch (typeof next) {
    case 'string':
      return pool.intern(next);
    case 'number':
      // JSON writes -0 as 0 and non-finite numbers as null.
      return Number.isFinite(next) ? (next === 0 ? 0 : next) : null;
    case 'boolean':
      return next;
    case 'object':
      break;
    default:
      // undefined, functions and symbols: JSON leaves them out.
      return undefined;
  }
  if (next === null) return null;
  const viaJson = () => freezeParsed(JSON.parse(JSON.stringify(next)) as unknown, pool);
  if (typeof (next as { toJSON?: unknown }).toJSON === 'function') return viaJson();
  if (Array.isArray(next)) {
    const cur = Array.isArray(current) ? current : undefined;
    const out = new Array<unknown>(next.length);
    for (let i = 0; i < next.length; i++) out[i] = storedForm(next[i], cur?.[i], pool) ?? null;
    return Object.freeze(out);
  }
  const cur = current && typeof current === 'object' ? (current as Record<string, unknown>) : undefined;
  const src = next as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(src)) {
    // Assigning __proto__ would set the prototype: such an object takes the JSON path.
    if (k === '__proto__') return viaJson();
    const v = storedForm(src[k], cur?.[k], pool);
    if (v !== undefined) out[k] = v;
  }
  return Object.freeze(out);
}

/** Parses stored JSON into a frozen object. */
function parseFrozen(json: string, pool: StringPool): KObject {
  return freezeParsed(JSON.parse(json) as KObject, pool);
}

/** Opens (creating if needed) the store in `dir` and loads its current objects into memory. */
export function openLevelStore(dir: string, opts: LevelStoreOptions = {}): Promise<LevelStore> {
  return LevelStore.open(dir, opts);
}

export class LevelStore implements Store {
  /** resource → namespace → name → frozen object. */
  private readonly objects = new Map<string, Map<string, Map<string, KObject>>>();
  /** Latest state including writes not yet on disk, so compare-and-swap sees queued writes. */
  private readonly pendingState = new Map<string, { revision: number; object: KObject | undefined }>();
  private queue: PendingWrite[] = [];
  private flushing: Promise<void> | undefined;
  private compaction: Promise<void> = Promise.resolve();
  private autoCompacting = false;
  private committedRevision = 0;
  private assignedRevision = 0;
  private compacted = 0;
  /** Latest committed events, consecutive revisions, oldest first. */
  private recent: RecentEvent[] = [];
  private closed = false;
  private failure: Error | undefined;
  private readonly watchers = new Set<WatchStream>();
  private readonly strings = new StringPool(100_000);
  private readonly historyLimit: number;
  private readonly sync: boolean;
  private readonly watchBufferLimit: number;
  private readonly recentLimit: number;

  private constructor(
    private readonly db: Level<string, string>,
    opts: LevelStoreOptions,
  ) {
    this.historyLimit = Math.max(1, opts.historyLimit ?? 10_000);
    this.sync = opts.sync ?? true;
    this.watchBufferLimit = Math.max(1, opts.watchBufferLimit ?? 10_000);
    this.recentLimit = Math.max(0, opts.recentEvents ?? 1_000);
  }

  static async open(dir: string, opts: LevelStoreOptions): Promise<LevelStore> {
    const db = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (e) {
      const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
      const hint = /lock/i.test(cause) ? ' (is another ctl server using this data dir?)' : '';
      throw new Error(`cannot open the store at ${dir}: ${cause}${hint}`, { cause: e });
    }
    const store = new LevelStore(db, opts);
    try {
      await store.load(dir);
    } catch (e) {
      await db.close();
      throw e;
    }
    return store;
  }

  /** Reads the current objects and the revision counters into memory. */
  private async load(dir: string): Promise<void> {
    const stored = await this.db.get(formatKey);
    if (stored !== undefined && stored !== format) {
      throw new Error(`the store at ${dir} has format ${stored}, but this version reads format ${format}; use a matching ctl version`);
    }
    let count = 0;
    for await (const [key, value] of this.db.iterator({ gt: objectPrefix, lt: objectEnd })) {
      const [, resource, namespace, name] = key.split(SEP);
      this.bucket(resource, namespace).set(name, parseFrozen(value, this.strings));
      count++;
    }
    this.committedRevision = this.assignedRevision = Number((await this.db.get(revisionKey)) ?? 0);
    this.compacted = Number((await this.db.get(compactedKey)) ?? 0);
    if (stored === undefined) await this.db.put(formatKey, format, { sync: this.sync });
    log.info({ objects: count, revision: this.committedRevision, compacted: this.compacted }, 'store loaded');
  }

  currentRevision(): number {
    return this.committedRevision;
  }

  compactedRevision(): number {
    return this.compacted;
  }

  async get(key: ObjectKey, opts: GetOptions = {}): Promise<KObject | undefined> {
    const obj = this.objects.get(key.resource)?.get(key.namespace)?.get(key.name);
    return obj && (opts.frozen ? obj : structuredClone(obj));
  }

  async list(resource: string, opts: ListOptions = {}): Promise<ListResult> {
    const byNamespace = this.objects.get(resource);
    const namespaces = !byNamespace ? [] : opts.namespace ? [opts.namespace] : [...byNamespace.keys()].sort();
    const items: KObject[] = [];
    for (const ns of namespaces) {
      const names = byNamespace?.get(ns);
      if (!names) continue;
      const matched: KObject[] = [];
      for (const obj of names.values()) if (!opts.filter || opts.filter(obj)) matched.push(obj);
      matched.sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1));
      for (const obj of matched) items.push(opts.frozen ? obj : structuredClone(obj));
    }
    return { items, revision: this.committedRevision };
  }

  create(resource: string, obj: KObject): Promise<KObject> {
    return this.enqueue(resource, obj.metadata, (current, name) => {
      if (current) throw errors.alreadyExists(resource, name);
      return { type: 'ADDED', object: { ...obj, metadata: { ...obj.metadata, uid: randomUUID(), creationTimestamp: nowTimestamp() } } };
    });
  }

  update(resource: string, obj: KObject): Promise<KObject> {
    return this.enqueue(resource, obj.metadata, (current, name) => {
      if (!current) throw errors.notFound(resource, name);
      const expected = obj.metadata.resourceVersion;
      if (expected && expected !== current.metadata.resourceVersion) throw errors.conflict(resource, name, conflictMessage);
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
      const current = this.latest(key.resource, key.namespace, key.name);
      if (!current) throw errors.notFound(key.resource, key.name);
      const next = await mutate(current);
      if (next === undefined) return current;
      const pinned = { ...next, metadata: { ...next.metadata, namespace: key.namespace || undefined, name: key.name, resourceVersion: current.metadata.resourceVersion } };
      try {
        return await this.update(key.resource, pinned);
      } catch (e) {
        if ((e as { reason?: string }).reason !== 'Conflict') throw e;
      }
    }
  }

  delete(key: ObjectKey, opts: { expectedResourceVersion?: string } = {}): Promise<KObject> {
    return this.enqueue(key.resource, { name: key.name, namespace: key.namespace }, (current, name) => {
      if (!current) throw errors.notFound(key.resource, name);
      const expected = opts.expectedResourceVersion;
      if (expected && expected !== current.metadata.resourceVersion) throw errors.conflict(key.resource, name, conflictMessage);
      return { type: 'DELETED', object: current };
    });
  }

  watch(resource: string, opts: WatchOptions = {}): Watch {
    if (this.closed) throw errors.unavailable('the store is closed');
    const since = opts.sinceRevision;
    if (since !== undefined && since < this.compacted) throw errors.gone(`too old resource version: ${since} (${this.compacted})`);
    const now = this.committedRevision;
    const stream = new WatchStream({
      resource,
      namespace: opts.namespace,
      filter: opts.filter,
      afterRevision: Math.max(now, since ?? now),
      bufferLimit: this.watchBufferLimit,
      onClose: () => this.watchers.delete(stream),
    });
    if (since !== undefined && since < now) {
      const recentFrom = this.recent.length ? this.recent[0].event.revision : now + 1;
      if (since + 1 >= recentFrom) {
        stream.prefill(this.recent.slice(since + 1 - recentFrom).filter((r) => r.event.resource === resource));
      } else {
        // The iterator reads a snapshot taken now, ending exactly where live delivery begins:
        // replay and live events neither overlap nor leave a gap, and compaction cannot remove
        // entries from under it.
        const it = this.db.iterator({ gt: historyKey(since), lte: historyKey(now) });
        stream.replayFrom({ events: readHistory(it, resource, this.strings), close: () => it.close() });
      }
    }
    this.watchers.add(stream);
    return stream;
  }

  compact(revision: number): Promise<void> {
    const run = this.compaction.then(() => this.compactNow(revision));
    this.compaction = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.compaction;
    for (const w of this.watchers) w.close();
    await this.db.close();
  }

  private async compactNow(revision: number): Promise<void> {
    const upTo = Math.min(revision, this.committedRevision);
    if (upTo <= this.compacted || this.db.status !== 'open') return;
    // The marker moves first so no new watch starts inside the range being removed; a crash
    // between the two steps leaves entries the next compaction removes.
    this.compacted = upTo;
    await this.db.put(compactedKey, String(upTo), { sync: this.sync });
    await this.db.clear({ gt: historyPrefix, lte: historyKey(upTo) });
  }

  private latest(resource: string, namespace: string, name: string): KObject | undefined {
    const pending = this.pendingState.get(objectDbKey(resource, namespace, name));
    return pending ? pending.object : this.objects.get(resource)?.get(namespace)?.get(name);
  }

  private bucket(resource: string, namespace: string): Map<string, KObject> {
    let byNamespace = this.objects.get(resource);
    if (!byNamespace) this.objects.set(resource, (byNamespace = new Map()));
    let names = byNamespace.get(namespace);
    if (!names) byNamespace.set(namespace, (names = new Map()));
    return names;
  }

  /**
   * Decides a write against the latest state (queued writes included), gives it the next
   * revision and queues it for the next batch. The promise settles once the batch is on disk.
   */
  private enqueue(
    resource: string,
    meta: { name?: string; namespace?: string },
    decide: (current: KObject | undefined, name: string) => { type: WatchEventType; object: KObject },
  ): Promise<KObject> {
    return new Promise<KObject>((resolve, reject) => {
      if (this.closed) return reject(errors.unavailable('the store is closed; the server is shutting down, retry against the restarted server'));
      if (this.failure) {
        return reject(errors.unavailable(`the store stopped accepting writes after a disk error (${this.failure.message}); check the disk and restart the server`));
      }
      const name = meta?.name;
      const namespace = meta?.namespace ?? '';
      if (!name) return reject(errors.badRequest('metadata.name: Required value'));
      if ((resource + namespace + name).includes(SEP)) return reject(errors.badRequest('resource, namespace and name must not contain NUL characters'));
      const current = this.latest(resource, namespace, name);
      let decision: { type: WatchEventType; object: KObject };
      try {
        decision = decide(current, name);
      } catch (e) {
        return reject(e);
      }
      const revision = ++this.assignedRevision;
      const stored = { ...decision.object, metadata: { ...decision.object.metadata, resourceVersion: String(revision) } };
      const json = JSON.stringify(stored);
      // What memory holds equals what a restart would load, and shares no structure with the
      // caller's object beyond the stored subtrees the caller kept.
      const object = current ? (storedForm(stored, current, this.strings) as KObject) : parseFrozen(json, this.strings);
      const dbKey = objectDbKey(resource, namespace, name);
      this.pendingState.set(dbKey, { revision, object: decision.type === 'DELETED' ? undefined : object });
      this.queue.push({ revision, type: decision.type, resource, dbKey, json, object, prev: current, resolve, reject });
      // A microtask later, so writes issued in the same tick share the first batch.
      if (!this.flushing) this.flushing = Promise.resolve().then(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, maxBatch);
        try {
          // A chained batch costs about half the CPU of an array batch in abstract-level.
          const ops = this.db.batch();
          for (const w of batch) {
            if (w.type === 'DELETED') ops.del(w.dbKey);
            else ops.put(w.dbKey, w.json);
            ops.put(historyKey(w.revision), `${w.resource}${SEP}${w.type}${SEP}${w.json}`);
          }
          ops.put(revisionKey, String(batch[batch.length - 1].revision));
          await ops.write({ sync: this.sync });
        } catch (e) {
          this.fail(e as Error, batch);
          return;
        }
        for (const w of batch) this.commit(w);
        this.maybeCompact();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private commit(w: PendingWrite): void {
    const { namespace = '', name = '' } = w.object.metadata;
    const names = this.bucket(w.resource, namespace);
    if (w.type === 'DELETED') names.delete(name);
    else names.set(name, w.object);
    if (this.pendingState.get(w.dbKey)?.revision === w.revision) this.pendingState.delete(w.dbKey);
    this.committedRevision = w.revision;
    const event: StoreEvent = Object.freeze({ type: w.type, resource: w.resource, object: w.object, revision: w.revision });
    if (this.recentLimit > 0) {
      this.recent.push({ event, prev: w.prev });
      if (this.recent.length > 2 * this.recentLimit) this.recent = this.recent.slice(-this.recentLimit);
    }
    for (const watcher of this.watchers) watcher.offer(event, w.prev);
    w.resolve(w.object);
  }

  /** A failed batch leaves memory ahead of disk; refusing further writes keeps them from diverging. */
  private fail(e: Error, batch: PendingWrite[]): void {
    this.failure = e;
    log.error({ err: e }, 'store batch write failed; refusing further writes');
    const err = errors.unavailable(`the store could not write to disk (${e.message}); check the disk and restart the server`);
    for (const w of [...batch, ...this.queue]) w.reject(err);
    this.queue = [];
    this.pendingState.clear();
  }

  private maybeCompact(): void {
    // In steps of a tenth of the limit, so compaction runs rarely and each run is small.
    const target = this.committedRevision - this.historyLimit;
    if (this.autoCompacting || this.closed || target - this.compacted < Math.max(1, this.historyLimit / 10)) return;
    this.autoCompacting = true;
    this.compact(target)
      .catch((e) => log.warn({ err: e }, 'history compaction failed; it is retried after later writes'))
      .finally(() => (this.autoCompacting = false));
  }
}

async function* readHistory(history: AsyncIterable<[string, string]>, resource: string, pool: StringPool): AsyncGenerator<StoreEvent> {
  const prefix = resource + SEP;
  for await (const [key, value] of history) {
    if (!value.startsWith(prefix)) continue;
    const typeEnd = value.indexOf(SEP, prefix.length);
    const object = parseFrozen(value.slice(typeEnd + 1), pool);
    yield { type: value.slice(prefix.length, typeEnd) as WatchEventType, resource, object, revision: Number(key.slice(historyPrefix.length)) };
  }
}
