import { randomUUID } from 'node:crypto';
import { errors } from '../../../src/api/errors.js';
import type { KObject } from '../../../src/api/types.js';
import type { ListResult, ObjectKey, Store, StoreEvent, Watch } from '../../../src/store/store.js';

// An in-memory Store with the interface's semantics (revisions, compare-and-swap, watch), for
// tests of the NATS plane that need no disk.

export class MemoryStore implements Store {
  private rev = 0;
  private readonly objects = new Map<string, KObject>();
  private readonly watchers = new Set<{ resource: string; push: (e: StoreEvent) => void }>();

  currentRevision(): number {
    return this.rev;
  }
  compactedRevision(): number {
    return 0;
  }

  private k(resource: string, namespace: string, name: string): string {
    return `${resource}/${namespace}/${name}`;
  }

  async get(key: ObjectKey): Promise<KObject | undefined> {
    const o = this.objects.get(this.k(key.resource, key.namespace, key.name));
    return o && structuredClone(o);
  }

  async list(resource: string, opts: { namespace?: string; filter?: (o: KObject) => boolean } = {}): Promise<ListResult> {
    const items = [...this.objects.entries()]
      .filter(([k]) => k.startsWith(`${resource}/${opts.namespace !== undefined ? `${opts.namespace}/` : ''}`))
      .map(([, o]) => structuredClone(o))
      .filter((o) => !opts.filter || opts.filter(o));
    return { items, revision: this.rev };
  }

  async create(resource: string, obj: KObject): Promise<KObject> {
    const key = this.k(resource, obj.metadata.namespace ?? '', obj.metadata.name!);
    if (this.objects.has(key)) throw errors.alreadyExists(resource, obj.metadata.name!);
    const stored = structuredClone(obj);
    stored.metadata = { ...stored.metadata, uid: randomUUID(), creationTimestamp: new Date().toISOString(), resourceVersion: String(++this.rev) };
    this.objects.set(key, stored);
    this.emit({ type: 'ADDED', resource, object: stored, revision: this.rev });
    return structuredClone(stored);
  }

  async update(resource: string, obj: KObject): Promise<KObject> {
    const key = this.k(resource, obj.metadata.namespace ?? '', obj.metadata.name!);
    const cur = this.objects.get(key);
    if (!cur) throw errors.notFound(resource, obj.metadata.name!);
    if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== cur.metadata.resourceVersion) throw errors.conflict(resource, obj.metadata.name!, 'the object has been modified');
    const stored = structuredClone(obj);
    stored.metadata = { ...stored.metadata, uid: cur.metadata.uid, creationTimestamp: cur.metadata.creationTimestamp, resourceVersion: String(++this.rev) };
    this.objects.set(key, stored);
    this.emit({ type: 'MODIFIED', resource, object: stored, revision: this.rev });
    return structuredClone(stored);
  }

  async guaranteedUpdate(key: ObjectKey, mutate: (c: KObject) => KObject | undefined | Promise<KObject | undefined>): Promise<KObject> {
    const cur = await this.get(key);
    if (!cur) throw errors.notFound(key.resource, key.name);
    const next = await mutate(structuredClone(cur));
    if (!next) return cur;
    return this.update(key.resource, { ...next, metadata: { ...next.metadata, resourceVersion: cur.metadata.resourceVersion } });
  }

  async delete(key: ObjectKey, opts: { expectedResourceVersion?: string } = {}): Promise<KObject> {
    const k = this.k(key.resource, key.namespace, key.name);
    const cur = this.objects.get(k);
    if (!cur) throw errors.notFound(key.resource, key.name);
    if (opts.expectedResourceVersion && opts.expectedResourceVersion !== cur.metadata.resourceVersion) throw errors.conflict(key.resource, key.name, 'the object has been modified');
    this.objects.delete(k);
    const gone = { ...cur, metadata: { ...cur.metadata, resourceVersion: String(++this.rev) } };
    this.emit({ type: 'DELETED', resource: key.resource, object: gone, revision: this.rev });
    return gone;
  }

  watch(resource: string): Watch {
    const queue: StoreEvent[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    const entry = { resource, push: (e: StoreEvent) => (queue.push(e), wake?.()) };
    this.watchers.add(entry);
    const close = () => {
      closed = true;
      this.watchers.delete(entry);
      wake?.();
    };
    return {
      close,
      async *[Symbol.asyncIterator]() {
        while (!closed) {
          if (queue.length) yield queue.shift()!;
          else await new Promise<void>((r) => (wake = r));
        }
      },
    };
  }

  async compact(): Promise<void> {}
  async close(): Promise<void> {
    for (const w of this.watchers) this.watchers.delete(w);
  }

  private emit(e: StoreEvent): void {
    for (const w of this.watchers) if (w.resource === e.resource) w.push(structuredClone(e));
  }
}
