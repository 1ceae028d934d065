import { randomUUID } from 'node:crypto';
import { errors } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import type { GetOptions, ListOptions, ListResult, ObjectKey, Store, Watch, WatchOptions } from '../store/store.js';

// `?dryRun=All`: a request takes every step a real one takes (defaults, validation, admission,
// existence and compare-and-swap checks against the stored state) and only the write is left
// out. The handlers run unchanged on this store, which reads through to the real one and answers
// writes with what the real store would have returned, without a resourceVersion (as
// Kubernetes answers a dry run).

const conflictWhy = 'the object has been modified; please apply your changes to the latest version and try again';

function keyOf(resource: string, obj: KObject): ObjectKey {
  return { resource, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' };
}

function nowTimestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What a write would have stored: identity kept from `current` when there is one. */
function wouldStore(obj: KObject, current: KObject | undefined): KObject {
  const metadata = { ...obj.metadata };
  delete metadata.resourceVersion;
  metadata.uid = current?.metadata.uid ?? randomUUID();
  metadata.creationTimestamp = current?.metadata.creationTimestamp ?? nowTimestamp();
  return { ...structuredClone(obj), metadata };
}

export class DryRunStore implements Store {
  constructor(private readonly store: Store) {}

  currentRevision(): number {
    return this.store.currentRevision();
  }

  compactedRevision(): number {
    return this.store.compactedRevision();
  }

  get(key: ObjectKey, opts?: GetOptions): Promise<KObject | undefined> {
    return this.store.get(key, opts);
  }

  list(resource: string, opts?: ListOptions): Promise<ListResult> {
    return this.store.list(resource, opts);
  }

  watch(resource: string, opts?: WatchOptions): Watch {
    return this.store.watch(resource, opts);
  }

  async create(resource: string, obj: KObject): Promise<KObject> {
    const key = keyOf(resource, obj);
    if (!key.name) throw errors.badRequest('metadata.name: Required value');
    if (await this.store.get(key)) throw errors.alreadyExists(resource, key.name);
    return wouldStore(obj, undefined);
  }

  async update(resource: string, obj: KObject): Promise<KObject> {
    const key = keyOf(resource, obj);
    const current = await this.existing(key);
    const expected = obj.metadata.resourceVersion;
    if (expected && expected !== current.metadata.resourceVersion) throw errors.conflict(resource, key.name, conflictWhy);
    return wouldStore(obj, current);
  }

  async guaranteedUpdate(key: ObjectKey, mutate: (current: KObject) => KObject | undefined | Promise<KObject | undefined>): Promise<KObject> {
    const current = await this.existing(key);
    const next = await mutate(structuredClone(current));
    return next === undefined ? current : wouldStore(next, current);
  }

  async delete(key: ObjectKey, opts: { expectedResourceVersion?: string } = {}): Promise<KObject> {
    const current = await this.existing(key);
    if (opts.expectedResourceVersion !== undefined && opts.expectedResourceVersion !== current.metadata.resourceVersion) {
      throw errors.conflict(key.resource, key.name, conflictWhy);
    }
    return current;
  }

  /** History belongs to the real store; a dry run never changes it. */
  async compact(): Promise<void> {}

  /** The real store is closed by its owner. */
  async close(): Promise<void> {}

  private async existing(key: ObjectKey): Promise<KObject> {
    const current = await this.store.get(key);
    if (!current) throw errors.notFound(key.resource, key.name);
    return current;
  }
}
