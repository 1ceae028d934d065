import type { KObject } from '../api/types.js';

// The store is an interface so a replicated backend can follow the level one without touching
// callers. Objects are addressed by resource plural (the REST path segment, unique across
// groups here), namespace ('' for cluster-scoped) and name.

export interface ObjectKey {
  resource: string;
  namespace: string;
  name: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Event objects are frozen and shared between watchers: copy before changing one. */
export interface StoreEvent {
  type: WatchEventType;
  resource: string;
  /** For DELETED: the object as it was, with resourceVersion set to the deletion's revision. */
  object: KObject;
  revision: number;
}

export interface ListOptions {
  namespace?: string;
  /** Applied before paging; label and field selectors are compiled to predicates by the caller. */
  filter?: (obj: KObject) => boolean;
  /**
   * Return the store's own frozen objects instead of copies: no copying cost (copying 30,000
   * pods takes about half a second), for callers that only read them, such as serializers.
   */
  frozen?: boolean;
}

export interface GetOptions {
  /** Return the store's own frozen object instead of a copy, for callers that only read it. */
  frozen?: boolean;
}

export interface ListResult {
  items: KObject[];
  /** The store revision the list was read at; a watch from here misses nothing. */
  revision: number;
}

export interface WatchOptions {
  namespace?: string;
  /** Deliver every event after this revision (replaying history). Omitted: only new events. */
  sinceRevision?: number;
  filter?: (obj: KObject) => boolean;
}

export interface Watch extends AsyncIterable<StoreEvent> {
  /** Stops the watch; the iterator ends. */
  close(): void;
}

/**
 * Objects returned by get and list are the caller's own copies unless `frozen` is asked for.
 * What create, update, guaranteedUpdate and delete return is the stored object itself, frozen:
 * most callers only read it, and copying every write's result costs a parse per write.
 */
export interface Store {
  /** The revision of the latest acknowledged write. */
  currentRevision(): number;
  /** The oldest revision a watch can still start after; older ones get 410 Gone. */
  compactedRevision(): number;

  get(key: ObjectKey, opts?: GetOptions): Promise<KObject | undefined>;
  list(resource: string, opts?: ListOptions): Promise<ListResult>;

  /**
   * Stores a new object: sets uid, creationTimestamp and resourceVersion. Everything else
   * (generation, defaults, validation) is the API server's job. Throws AlreadyExists when the
   * key is taken.
   */
  create(resource: string, obj: KObject): Promise<KObject>;

  /**
   * Replaces an existing object. When `obj.metadata.resourceVersion` is set it must equal the
   * stored one (compare-and-swap), else Conflict. uid and creationTimestamp are kept from the
   * stored object. Throws NotFound when absent.
   */
  update(resource: string, obj: KObject): Promise<KObject>;

  /**
   * Read-modify-write with retry on conflict: `mutate` gets the current object, frozen, and
   * returns a changed copy (spread what it keeps), or undefined to leave it unchanged.
   */
  guaranteedUpdate(key: ObjectKey, mutate: (current: KObject) => KObject | undefined | Promise<KObject | undefined>): Promise<KObject>;

  /** Removes an object; with `expectedResourceVersion` it is a compare-and-swap. Returns the deleted object. */
  delete(key: ObjectKey, opts?: { expectedResourceVersion?: string }): Promise<KObject>;

  watch(resource: string, opts?: WatchOptions): Watch;

  /** Drops history up to and including `revision`. */
  compact(revision: number): Promise<void>;

  close(): Promise<void>;
}
