import type { ServerResponse } from 'node:http';
import { ApiError, errors, isApiError } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import type { Logger } from '../log/logger.js';
import type { Store, Watch } from '../store/store.js';
import { listFilter } from './handlers.js';
import type { ResourceRoute } from './routes.js';

// WATCH as Kubernetes streams it: one chunked response of newline-delimited
// `{"type","object"}` events. Without a resourceVersion (or with "0") the current objects come
// first as ADDED, then changes after the list's revision; with resourceVersion=N every change
// after N is replayed from history, then live ones. A revision already compacted away ends the
// stream with one ERROR event carrying a 410 Status, which tells clients to list again.

export interface WatchEventLine {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'ERROR';
  object: unknown;
}

/** Watch streams in progress, so a shutting-down server can end them. */
export class WatchRegistry {
  private readonly active = new Set<() => void>();

  add(stop: () => void): () => void {
    this.active.add(stop);
    return () => this.active.delete(stop);
  }

  closeAll(): void {
    for (const stop of [...this.active]) stop();
  }

  get size(): number {
    return this.active.size;
  }
}

function parseRevision(text: string | null): number | undefined {
  if (text === null || text === '' || text === '0') return undefined;
  if (!/^\d+$/.test(text)) throw errors.badRequest(`resourceVersion ${JSON.stringify(text)} is not a number; use a resourceVersion from a list or an object`);
  return Number(text);
}

function parseTimeout(text: string | null): number | undefined {
  if (text === null || text === '') return undefined;
  if (!/^\d+$/.test(text)) throw errors.badRequest(`timeoutSeconds ${JSON.stringify(text)} is not a whole number of seconds`);
  return Number(text);
}

/** Bytes of events a watch may have queued on its socket before it waits for the client to read. */
const watchWriteBufferBytes = 1 << 20;

const gone = (e: ApiError): WatchEventLine => ({ type: 'ERROR', object: e.toStatus() });

/**
 * Serves one watch on `res` until the client goes away, the timeout passes, the store ends the
 * watch or the registry closes it. Bad parameters throw before anything is written.
 */
export async function serveWatch(res: ServerResponse, store: Store, route: ResourceRoute, query: URLSearchParams, registry: WatchRegistry, log: Logger): Promise<void> {
  const since = parseRevision(query.get('resourceVersion'));
  const timeoutSeconds = parseTimeout(query.get('timeoutSeconds'));
  const filter = listFilter(query);
  const resource = route.info.plural;
  const namespace = route.namespace;

  let initial: KObject[] = [];
  let watch: Watch | undefined;
  let startError: ApiError | undefined;
  try {
    if (since === undefined) {
      const listed = await store.list(resource, { namespace, filter });
      initial = listed.items;
      watch = store.watch(resource, { namespace, filter, sinceRevision: listed.revision });
    } else {
      watch = store.watch(resource, { namespace, filter, sinceRevision: since });
    }
  } catch (e) {
    if (!isApiError(e, 'Gone')) throw e;
    startError = e;
  }

  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  const write = async (ev: WatchEventLine): Promise<void> => {
    if (res.destroyed || res.writableEnded) return;
    res.write(`${JSON.stringify(ev)}\n`);
    // Waiting for 'drain' at the socket's 16 KiB mark costs an event-loop turn per few events,
    // and on a busy server the watch then falls behind the store and is cut off.
    if (res.writableLength > watchWriteBufferBytes) await new Promise<void>((r) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        r();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  };

  if (startError || !watch) {
    await write(gone(startError ?? errors.gone('the watch could not start')));
    res.end();
    return;
  }

  const w = watch;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => w.close();
  const unregister = registry.add(stop);
  res.on('close', stop);
  if (timeoutSeconds !== undefined) timer = setTimeout(stop, timeoutSeconds * 1000);
  try {
    for (const obj of initial) await write({ type: 'ADDED', object: obj });
    for await (const ev of w) {
      if (res.destroyed) break;
      await write({ type: ev.type, object: ev.object });
    }
  } catch (e) {
    if (isApiError(e, 'Gone')) await write(gone(e));
    else {
      log.error({ err: e, resource }, 'watch failed');
      await write({ type: 'ERROR', object: errors.internal('the watch failed on the server; list and watch again').toStatus() });
    }
  } finally {
    if (timer) clearTimeout(timer);
    unregister();
    res.off('close', stop);
    w.close();
    if (!res.writableEnded) res.end();
  }
}
