import { isApiError, ApiError, type Status } from '../api/errors.js';
import type { ResourceInfo } from '../api/resources.js';
import type { KObject } from '../api/types.js';
import type { ListOptions, RestClient, WatchEvent } from './rest-client.js';

// A watch that survives, the way client-go's reflector does: list, then watch from the list's
// resourceVersion; when the stream drops, resume from the last version seen; when the server
// says that version is gone (410), list again and report the difference as events, so the
// consumer sees one continuous stream.

export type ReflectorEvent =
  | { type: 'LIST'; items: KObject[]; resourceVersion: string }
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KObject };

export interface ReflectorOptions extends ListOptions {
  /** Told about each failed attempt before the next one, e.g. to warn the user once. */
  onRetry?: (err: unknown, delayMs: number) => void;
  /** Told when a stream is up again after a failure. */
  onRecovered?: () => void;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

const keyOf = (o: KObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

function isGone(e: unknown): boolean {
  return isApiError(e, 'Gone') || (isApiError(e) && e.code === 410);
}

/** Lists then watches until `signal` aborts; never ends on its own. */
export async function* reflect(
  client: RestClient,
  info: ResourceInfo,
  opts: ReflectorOptions,
  signal: AbortSignal,
): AsyncGenerator<ReflectorEvent> {
  const known = new Map<string, KObject>();
  const minBackoff = opts.minBackoffMs ?? 200;
  const maxBackoff = opts.maxBackoffMs ?? 5_000;
  let backoff = minBackoff;
  let resourceVersion: string | undefined;
  let failing = false;
  let listedOnce = false;

  const fail = async (e: unknown) => {
    failing = true;
    opts.onRetry?.(e, backoff);
    await sleep(backoff, signal);
    backoff = Math.min(backoff * 2, maxBackoff);
  };
  const recovered = () => {
    backoff = minBackoff;
    if (failing) {
      failing = false;
      opts.onRecovered?.();
    }
  };

  while (!signal.aborted) {
    if (resourceVersion === undefined) {
      let list;
      try {
        list = await client.list(info, opts);
      } catch (e) {
        if (signal.aborted) return;
        if (isApiError(e) && !isTransient(e)) throw e;
        await fail(e);
        continue;
      }
      recovered();
      resourceVersion = list.metadata?.resourceVersion ?? '';
      if (!listedOnce) {
        listedOnce = true;
        for (const o of list.items) known.set(keyOf(o), o);
        yield { type: 'LIST', items: list.items, resourceVersion };
      } else {
        yield* relistDiff(known, list.items);
      }
    }
    try {
      for await (const ev of client.watch(info, { ...opts, resourceVersion }, signal)) {
        recovered();
        if (ev.type === 'BOOKMARK') {
          resourceVersion = ev.object.metadata?.resourceVersion ?? resourceVersion;
          continue;
        }
        if (ev.type === 'ERROR') throw ApiError.fromStatus(ev.object as unknown as Status);
        resourceVersion = ev.object.metadata?.resourceVersion ?? resourceVersion;
        if (ev.type === 'DELETED') known.delete(keyOf(ev.object));
        else known.set(keyOf(ev.object), ev.object);
        yield ev as WatchEvent & { type: 'ADDED' | 'MODIFIED' | 'DELETED' };
      }
      // The server closed the stream (timeout or restart): resume from where it stopped.
    } catch (e) {
      if (signal.aborted) return;
      if (isGone(e)) {
        resourceVersion = undefined;
        continue;
      }
      if (isApiError(e) && !isTransient(e)) throw e;
      await fail(e);
    }
  }
}

function isTransient(e: ApiError): boolean {
  return e.reason === 'ServiceUnavailable' || e.reason === 'InternalError' || e.code === 429 || e.code === 504;
}

/** The events that turn what we knew into what a fresh list says. */
function* relistDiff(known: Map<string, KObject>, items: KObject[]): Generator<ReflectorEvent> {
  const fresh = new Map(items.map((o) => [keyOf(o), o]));
  for (const [key, old] of known) {
    if (!fresh.has(key)) {
      known.delete(key);
      yield { type: 'DELETED', object: old };
    }
  }
  for (const [key, obj] of fresh) {
    const old = known.get(key);
    known.set(key, obj);
    if (!old) yield { type: 'ADDED', object: obj };
    else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) yield { type: 'MODIFIED', object: obj };
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
