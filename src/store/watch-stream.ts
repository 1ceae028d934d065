import type { KObject } from '../api/types.js';
import { logger } from '../log/logger.js';
import type { StoreEvent, Watch } from './store.js';

const log = logger('store');

export interface WatchStreamOptions {
  resource: string;
  namespace?: string;
  filter?: (obj: KObject) => boolean;
  /** Live events a consumer may fall behind by; past it the stream ends so the client re-lists. */
  bufferLimit: number;
  /** History to deliver before live events (already limited to this resource). */
  replay?: AsyncIterable<StoreEvent>;
  onClose: () => void;
}

/**
 * One watcher: history replay first, then live events buffered per watcher, so a slow consumer
 * never blocks writers or other watchers. Events carry frozen objects shared between watchers.
 */
export class WatchStream implements Watch {
  private readonly buffer: StoreEvent[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  constructor(private readonly opts: WatchStreamOptions) {}

  /** Called by the store for every committed write, in revision order. */
  offer(event: StoreEvent, prev: KObject | undefined): void {
    if (this.ended || event.resource !== this.opts.resource) return;
    const shown = this.translate(event, prev);
    if (!shown) return;
    if (this.buffer.length >= this.opts.bufferLimit) {
      log.warn({ resource: this.opts.resource, limit: this.opts.bufferLimit }, 'watcher fell too far behind; closing it');
      this.close();
      return;
    }
    this.buffer.push(shown);
    this.wake?.();
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.opts.onClose();
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<StoreEvent> {
    try {
      if (this.opts.replay) {
        for await (const event of this.opts.replay) {
          if (this.ended) return;
          if (this.inScope(event.object)) yield event;
        }
      }
      for (;;) {
        while (this.buffer.length) yield this.buffer.shift()!;
        if (this.ended) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      this.close();
    }
  }

  private inScope(obj: KObject): boolean {
    const ns = this.opts.namespace;
    if (ns && (obj.metadata.namespace ?? '') !== ns) return false;
    return !this.opts.filter || this.opts.filter(obj);
  }

  /**
   * With a filter, an object that starts matching is ADDED and one that stops matching is
   * DELETED for this watcher, as Kubernetes' watch cache does. (Replayed history has no
   * previous object at hand and is matched on the object alone.)
   */
  private translate(event: StoreEvent, prev: KObject | undefined): StoreEvent | undefined {
    const now = this.inScope(event.object);
    if (event.type !== 'MODIFIED' || !prev) return now ? event : undefined;
    const before = this.inScope(prev);
    if (now && before) return event;
    if (now) return { ...event, type: 'ADDED' };
    if (before) return { ...event, type: 'DELETED' };
    return undefined;
  }
}
