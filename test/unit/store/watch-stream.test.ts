import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KObject } from '../../../src/api/types.js';
import type { StoreEvent, WatchEventType } from '../../../src/store/store.js';
import { WatchStream, type WatchStreamOptions } from '../../../src/store/watch-stream.js';

const obj = (name: string, app: string, namespace = 'default'): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels: { app } },
});
const ev = (type: WatchEventType, object: KObject, revision: number): StoreEvent => ({
  type,
  resource: 'pods',
  object: { ...object, metadata: { ...object.metadata, resourceVersion: String(revision) } },
  revision,
});
const web = (o: KObject) => o.metadata.labels?.app === 'web';

function stream(opts: Partial<WatchStreamOptions> = {}): WatchStream & { closedCount: () => number } {
  let closed = 0;
  const s = new WatchStream({ resource: 'pods', afterRevision: 0, bufferLimit: 100, onClose: () => closed++, ...opts });
  return Object.assign(s, { closedCount: () => closed });
}

/** Everything the stream delivers once closed. */
async function drain(s: WatchStream): Promise<string[]> {
  const out: string[] = [];
  for await (const e of s) out.push(`${e.type} ${e.object.metadata.name}@${e.revision}`);
  return out;
}

/** The first `n` events the stream delivers, then closes it. */
async function first(s: WatchStream, n: number): Promise<StoreEvent[]> {
  const out: StoreEvent[] = [];
  for await (const e of s) {
    out.push(e);
    if (out.length === n) break;
  }
  return out;
}

async function* fromArray(events: StoreEvent[]): AsyncGenerator<StoreEvent> {
  for (const e of events) yield e;
}

describe('watch stream', { timeout: 5000 }, () => {
  test('without a selection every event of its resource is delivered as is', async () => {
    const a = obj('a', 'web');
    const t = stream();
    t.offer(ev('ADDED', a, 1), undefined);
    t.offer({ ...ev('ADDED', a, 2), resource: 'services' }, undefined);
    t.offer(ev('MODIFIED', obj('a', 'db'), 3), a);
    t.offer(ev('DELETED', obj('a', 'db'), 4), obj('a', 'db'));
    assert.deepEqual(
      (await first(t, 3)).map((e) => `${e.type}@${e.revision}`),
      ['ADDED@1', 'MODIFIED@3', 'DELETED@4'],
    );
  });

  test('with a filter, updates crossing the selection become ADDED and DELETED', async () => {
    const s = stream({ filter: web });
    s.offer(ev('ADDED', obj('a', 'db'), 1), undefined);
    s.offer(ev('MODIFIED', obj('a', 'web'), 2), obj('a', 'db'));
    s.offer(ev('MODIFIED', obj('a', 'web'), 3), obj('a', 'web'));
    s.offer(ev('MODIFIED', obj('a', 'db'), 4), obj('a', 'web'));
    s.offer(ev('MODIFIED', obj('a', 'db'), 5), obj('a', 'db'));
    s.offer(ev('DELETED', obj('a', 'db'), 6), obj('a', 'db'));
    const events = await first(s, 3);
    assert.deepEqual(
      events.map((e) => `${e.type}@${e.revision}`),
      ['ADDED@2', 'MODIFIED@3', 'DELETED@4'],
    );
    assert.equal(events[2].object.metadata.labels!.app, 'web', 'DELETED shows the object as it last matched');
    assert.equal(events[2].object.metadata.resourceVersion, '4', 'at the revision that removed it from view');
    assert.ok(Object.isFrozen(events[2].object));
  });

  test('a namespace watch sees only its namespace', async () => {
    const s = stream({ namespace: 'team' });
    s.offer(ev('ADDED', obj('a', 'web', 'other'), 1), undefined);
    s.offer(ev('ADDED', obj('b', 'web', 'team'), 2), undefined);
    assert.deepEqual((await first(s, 1)).map((e) => e.object.metadata.name), ['b']);
  });

  test('events at or before afterRevision are skipped', async () => {
    const s = stream({ afterRevision: 5 });
    s.offer(ev('ADDED', obj('a', 'web'), 5), undefined);
    s.offer(ev('ADDED', obj('b', 'web'), 6), undefined);
    assert.deepEqual((await first(s, 1)).map((e) => e.revision), [6]);
  });

  test('prefilled history comes before live events, with exact transitions', async () => {
    const s = stream({ filter: web, afterRevision: 2 });
    s.prefill([
      { event: ev('MODIFIED', obj('a', 'db'), 1), prev: obj('a', 'web') },
      { event: ev('MODIFIED', obj('b', 'web'), 2), prev: obj('b', 'db') },
    ]);
    s.offer(ev('ADDED', obj('c', 'web'), 3), undefined);
    assert.deepEqual(
      (await first(s, 3)).map((e) => `${e.type} ${e.object.metadata.name}@${e.revision}`),
      ['DELETED a@1', 'ADDED b@2', 'ADDED c@3'],
    );
  });

  test('replayed history comes before buffered live events; prev is tracked within the replay', async () => {
    const s = stream({ filter: web, afterRevision: 4 });
    s.replayFrom({
      events: fromArray([
        ev('MODIFIED', obj('a', 'db'), 1), // first seen, no longer matches: unknown before, dropped
        ev('MODIFIED', obj('b', 'web'), 2), // first seen, matches: MODIFIED
        ev('MODIFIED', obj('b', 'db'), 3), // leaves: DELETED
        ev('MODIFIED', obj('b', 'web'), 4), // enters: ADDED
      ]),
      close: async () => undefined,
    });
    s.offer(ev('MODIFIED', obj('b', 'db'), 5), obj('b', 'web'));
    assert.deepEqual(
      (await first(s, 4)).map((e) => `${e.type} ${e.object.metadata.name}@${e.revision}`),
      ['MODIFIED b@2', 'DELETED b@3', 'ADDED b@4', 'DELETED b@5'],
    );
  });

  test('a replay that fails ends the watch; closing frees an unread replay', async () => {
    const failing = stream();
    failing.replayFrom({
      events: (async function* () {
        yield ev('ADDED', obj('a', 'web'), 1);
        throw new Error('disk gone');
      })(),
      close: async () => undefined,
    });
    assert.deepEqual(await drain(failing), ['ADDED a@1']);
    assert.equal(failing.closedCount(), 1);

    let freed = 0;
    const unread = stream();
    unread.replayFrom({ events: fromArray([]), close: async () => void freed++ });
    unread.close();
    unread.close();
    assert.equal(freed, 1);
    assert.equal(unread.closedCount(), 1, 'onClose runs once');
  });

  test('a consumer that falls bufferLimit events behind is closed', async () => {
    const s = stream({ bufferLimit: 3 });
    for (let i = 1; i <= 3; i++) s.offer(ev('ADDED', obj(`p${i}`, 'web'), i), undefined);
    assert.equal(s.closedCount(), 0);
    s.offer(ev('ADDED', obj('p4', 'web'), 4), undefined);
    assert.equal(s.closedCount(), 1);
    assert.deepEqual(await drain(s), [], 'the iterator ends; the client re-lists');
  });

  test('a keeping-up consumer is never closed, however many events pass', async () => {
    const s = stream({ bufferLimit: 2 });
    let n = 0;
    const consumed = (async () => {
      for await (const e of s) {
        n++;
        if (e.revision === 5000) break;
      }
    })();
    for (let i = 1; i <= 5000; i++) {
      s.offer(ev('ADDED', obj(`p${i}`, 'web'), i), undefined);
      await new Promise((r) => setImmediate(r));
    }
    await consumed;
    assert.equal(n, 5000);
  });

  test('a filter that throws ends that watch instead of failing the store’s commit', async () => {
    const s = stream({
      filter: () => {
        throw new Error('bad selector');
      },
    });
    assert.doesNotThrow(() => s.offer(ev('ADDED', obj('a', 'web'), 1), undefined));
    assert.equal(s.closedCount(), 1);
    assert.deepEqual(await drain(s), []);
  });

  test('close() ends a waiting iterator and drops what it had not delivered', async () => {
    const s = stream();
    const done = drain(s);
    setTimeout(() => s.close(), 5);
    assert.deepEqual(await done, []);
    const t = stream();
    t.offer(ev('ADDED', obj('a', 'web'), 1), undefined);
    t.close();
    t.offer(ev('ADDED', obj('b', 'web'), 2), undefined);
    assert.deepEqual(await drain(t), []);
  });
});
