import type { KObject } from '../api/types.js';
import { logger } from '../log/logger.js';
import type { StoreEvent, Watch } from './store.js';

const log = logger('store');

/** A committed event with the object as it was before (undefined for a create). */
export interface RecentEvent {
  event: StoreEvent;
  prev: KObject | undefined;
}

export interface WatchStreamOptions {
  resource: string;
  namespace?: string;
  filter?: (obj: KObject) => boolean;
  /** Events at or before this revision are not delivered live (the caller replays them, or skips them). */
  afterRevision: number;
  /** Events a consumer may fall behind by; past it the stream ends so the client re-lists. */
  bufferLimit: number;
  onClose: () => void;
}

/** History read from disk, delivered before live events; `close` frees it if never read to the end. */
export interface Replay {
  events: AsyncIterable<StoreEvent>;
  close: () => Promise<void>;
}

/**
 * One watcher. Live events are buffered per watcher, so a slow consumer never blocks writers or
 * other watchers; one that falls `bufferLimit` events behind is closed (its iterator ends).
 * Events carry frozen objects shared between watchers.
 *
 * With a namespace or filter, an update that moves an object into the selection is delivered as
 * ADDED and one that moves it out as DELETED (carrying the object as it was, at the event's
 * revision), as Kubernetes' watch cache does. That needs the previous object: live events and
 * replays from the store's recent-event window have it; a replay read from disk knows it only
 * once the object has appeared earlier in the same replay, so an object's first replayed
 * update is matched on its new state alone (delivered as MODIFIED if it matches, dropped if not).
 */
export class WatchStream implements Watch {
  private buffer: StoreEvent[] = [];
  private head = 0;
  private replay: Replay | undefined;
  private wake: (() => void) | undefined;
  private ended = false;
  private readonly selective: boolean;

  constructor(private readonly opts: WatchStreamOptions) {
    this.selective = !!opts.namespace || !!opts.filter;
  }

  /** Queues history held in memory, before any live event; called at registration. */
  prefill(events: Iterable<RecentEvent>): void {
    for (const { event, prev } of events) {
      const shown = this.translate(event, prev, true);
      if (shown) this.buffer.push(shown);
    }
  }

  /** Sets history read from disk, delivered before buffered events; called at registration. */
  replayFrom(replay: Replay): void {
    this.replay = replay;
  }

  /** Called by the store for every committed write, in revision order. */
  offer(event: StoreEvent, prev: KObject | undefined): void {
    if (this.ended || event.resource !== this.opts.resource || event.revision <= this.opts.afterRevision) return;
    let shown: StoreEvent | undefined;
    try {
      shown = this.translate(event, prev, true);
    } catch (e) {
      // The filter is the caller's code: its failure ends this watch, never the store's commit.
      log.error({ err: e, resource: this.opts.resource }, 'watch filter failed; closing the watch');
      this.close();
      return;
    }
    if (!shown) return;
    if (this.buffer.length - this.head >= this.opts.bufferLimit) {
      log.warn({ resource: this.opts.resource, limit: this.opts.bufferLimit }, 'watcher fell too far behind; closing it so its client re-lists');
      this.close();
      return;
    }
    this.buffer.push(shown);
    this.wake?.();
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.buffer = [];
    this.head = 0;
    void this.replay?.close().catch(() => undefined);
    this.opts.onClose();
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StoreEvent> {
    try {
      if (this.replay) yield* this.replayed(this.replay.events);
      for (;;) {
        while (this.head < this.buffer.length) {
          const event = this.buffer[this.head++];
          if (this.head > 1024 && this.head * 2 > this.buffer.length) {
            this.buffer = this.buffer.slice(this.head);
            this.head = 0;
          }
          yield event;
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      this.close();
    }
  }

  private async *replayed(events: AsyncIterable<StoreEvent>): AsyncGenerator<StoreEvent> {
    // Objects seen earlier in this replay: the previous state of their later updates.
    const seen = this.selective ? new Map<string, KObject>() : undefined;
    try {
      for await (const event of events) {
        if (this.ended) return;
        const key = `${event.object.metadata.namespace ?? ''}/${event.object.metadata.name}`;
        const prev = seen?.get(key);
        if (seen) {
          if (event.type === 'DELETED') seen.delete(key);
          else seen.set(key, event.object);
        }
        const shown = this.translate(event, prev, prev !== undefined || event.type !== 'MODIFIED');
        if (shown) yield shown;
      }
    } catch (e) {
      if (this.ended) return;
      log.error({ err: e, resource: this.opts.resource }, 'reading watch history failed; closing the watch so its client re-lists');
      this.close();
    }
  }

  private inScope(obj: KObject): boolean {
    const ns = this.opts.namespace;
    if (ns && (obj.metadata.namespace ?? '') !== ns) return false;
    return !this.opts.filter || this.opts.filter(obj);
  }

  private translate(event: StoreEvent, prev: KObject | undefined, prevKnown: boolean): StoreEvent | undefined {
    if (!this.selective) return event;
    const now = this.inScope(event.object);
    if (event.type !== 'MODIFIED' || !prevKnown) return now ? event : undefined;
    const before = prev !== undefined && this.inScope(prev);
    if (now && before) return event;
    if (now) return { ...event, type: 'ADDED' };
    if (before) return { ...event, type: 'DELETED', object: atRevision(prev, event.revision) };
    return undefined;
  }
}

/** The object as it was, stamped with the revision of the event that removes it from view. */
function atRevision(obj: KObject, revision: number): KObject {
  return Object.freeze({ ...obj, metadata: Object.freeze({ ...obj.metadata, resourceVersion: String(revision) }) });
}
