import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isApiError } from '../../../src/api/errors.js';
import type { KObject } from '../../../src/api/types.js';
import { openLevelStore, type LevelStore, type LevelStoreOptions } from '../../../src/store/level-store.js';
import type { StoreEvent, Watch } from '../../../src/store/store.js';

const pod = (name: string, labels: Record<string, string> = {}, namespace = 'default'): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: { containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36' }] },
});

const key = (name: string, namespace = 'default') => ({ resource: 'pods', namespace, name });
const relabel = (obj: KObject, labels: Record<string, string>): KObject => ({ ...obj, metadata: { ...obj.metadata, labels } });
const summary = (events: StoreEvent[]) => events.map((e) => `${e.type} ${e.object.metadata.name}@${e.revision}`);

/** Takes the next `n` events of a watch, failing if they do not come within a second. */
async function take(w: Watch, n: number): Promise<StoreEvent[]> {
  const out: StoreEvent[] = [];
  const it = w[Symbol.asyncIterator]();
  const deadline = setTimeout(() => w.close(), 1000);
  try {
    while (out.length < n) {
      const r = await it.next();
      if (r.done) break;
      out.push(r.value);
    }
  } finally {
    clearTimeout(deadline);
  }
  assert.equal(out.length, n, `expected ${n} events, got ${out.length}: ${summary(out).join(', ')}`);
  return out;
}

/** Closes the watch and returns the events it still had, so a test can assert nothing extra came. */
async function rest(w: Watch): Promise<StoreEvent[]> {
  await new Promise((r) => setTimeout(r, 20));
  const it = w[Symbol.asyncIterator]();
  const out: StoreEvent[] = [];
  const timer = setTimeout(() => w.close(), 30);
  for (let r = await it.next(); !r.done; r = await it.next()) out.push(r.value);
  clearTimeout(timer);
  return out;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-store-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const opened: LevelStore[] = [];
async function fresh(name: string, opts: LevelStoreOptions = {}): Promise<LevelStore> {
  const s = await openLevelStore(join(dir, name), opts);
  opened.push(s);
  return s;
}
after(async () => {
  for (const s of opened) await s.close();
});

describe('level store', { timeout: 30_000 }, () => {
  test('create, get, list, update, delete with revisions', async () => {
    const s = await fresh('crud');
    const a = await s.create('pods', pod('a', { app: 'web' }));
    assert.match(a.metadata.uid!, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.match(a.metadata.creationTimestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(a.metadata.resourceVersion, '1');
    assert.equal(a.metadata.generation, undefined, 'generation is the API server’s job');
    await s.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    assert.equal(s.currentRevision(), 2);

    assert.deepEqual(await s.get(key('a')), a);
    assert.equal((await s.get({ resource: 'nodes', namespace: '', name: 'n1' }))?.metadata.resourceVersion, '2');
    assert.equal(await s.get(key('zzz')), undefined);

    const updated = await s.update('pods', { ...a, spec: { containers: [] }, metadata: { ...a.metadata, uid: 'forged', creationTimestamp: 'forged' } });
    assert.equal(updated.metadata.resourceVersion, '3');
    assert.equal(updated.metadata.uid, a.metadata.uid, 'uid is kept from the stored object');
    assert.equal(updated.metadata.creationTimestamp, a.metadata.creationTimestamp);
    assert.deepEqual(updated.spec, { containers: [] });

    const deleted = await s.delete(key('a'));
    assert.equal(deleted.metadata.resourceVersion, '4', 'the deleted object carries the deletion’s revision');
    assert.equal(await s.get(key('a')), undefined);
    assert.deepEqual((await s.list('pods')).items, []);
  });

  test('list filters by namespace and predicate, sorted by namespace then name, at a revision', async () => {
    const s = await fresh('list');
    await s.create('pods', pod('b', { app: 'web' }, 'zeta'));
    await s.create('pods', pod('c', { app: 'db' }, 'alpha'));
    await s.create('pods', pod('a', { app: 'web' }, 'zeta'));
    await s.create('pods', pod('a', { app: 'web' }, 'alpha'));
    await s.create('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'alpha' } });
    const names = (items: KObject[]) => items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`);

    const all = await s.list('pods');
    assert.deepEqual(names(all.items), ['alpha/a', 'alpha/c', 'zeta/a', 'zeta/b']);
    assert.equal(all.revision, 5);
    assert.deepEqual(names((await s.list('pods', { namespace: 'zeta' })).items), ['zeta/a', 'zeta/b']);
    assert.deepEqual(names((await s.list('pods', { filter: (p) => p.metadata.labels?.app === 'web' })).items), ['alpha/a', 'zeta/a', 'zeta/b']);
    assert.deepEqual(names((await s.list('pods', { namespace: 'alpha', filter: (p) => p.metadata.labels?.app === 'web' })).items), ['alpha/a']);
    assert.deepEqual((await s.list('pods', { namespace: 'nowhere' })).items, []);
    assert.deepEqual((await s.list('deployments')).items, []);
  });

  test('callers cannot change stored objects: reads copy unless asked not to, writes return frozen objects', async () => {
    const s = await fresh('copies');
    const input = pod('a');
    const a = await s.create('pods', input);
    (input.spec as { containers: unknown[] }).containers.push({ name: 'late' });
    assert.throws(() => {
      a.metadata.labels = { changed: 'yes' };
    }, TypeError, 'what a write returns is frozen');
    const updated = await s.guaranteedUpdate(key('a'), (cur) => ({ ...cur, metadata: { ...cur.metadata, annotations: { a: '1' } } }));
    assert.ok(Object.isFrozen(updated.metadata.annotations), 'guaranteedUpdate returns the frozen stored object');
    assert.equal(await s.get(key('a'), { frozen: true }), await s.get(key('a'), { frozen: true }), 'a frozen get returns the stored object itself');
    (await s.get(key('a')))!.metadata.labels!.x = 'y';
    (await s.list('pods')).items[0].metadata.name = 'renamed';
    const got = await s.get(key('a'));
    assert.deepEqual(got!.metadata.labels, {});
    assert.equal((got!.spec as { containers: unknown[] }).containers.length, 1, 'the store holds its own copy of the input');

    const [shared] = (await s.list('pods', { frozen: true })).items;
    assert.ok(Object.isFrozen(shared) && Object.isFrozen(shared.metadata) && Object.isFrozen(shared.spec));
    assert.throws(() => {
      shared.metadata.name = 'x';
    }, TypeError);
  });

  test('an update keeps the unchanged stored parts shared and holds in memory exactly what a restart loads', async () => {
    const path = join(dir, 'shared');
    let s = await openLevelStore(path);
    const created = await s.create('pods', pod('a'));
    const withStatus = await s.guaranteedUpdate(key('a'), (cur) => ({
      ...cur,
      status: { phase: 'Running', startTime: new Date(Date.UTC(2026, 0, 2, 3, 4, 5)), gone: undefined, odd: [1, undefined, Number.NaN, -0], text: 'a longer status string' },
    }));
    assert.equal(withStatus.spec, created.spec, 'a status write shares the spec with the version before');
    assert.ok(Object.isFrozen(withStatus.status) && Object.isFrozen((withStatus.status as { odd: unknown[] }).odd), 'the new parts are frozen');
    const expected = { phase: 'Running', startTime: '2026-01-02T03:04:05.000Z', odd: [1, null, null, 0], text: 'a longer status string' };
    assert.deepEqual(withStatus.status, expected, 'memory holds the status as JSON carries it');
    const bound = await s.update('pods', { ...withStatus, spec: { ...(withStatus.spec as object), nodeName: 'n1' } });
    assert.equal((bound.spec as { containers: unknown }).containers, (created.spec as { containers: unknown }).containers, 'a binding shares the containers');
    const deleted = await s.delete(key('a'));
    assert.equal(deleted.status, bound.status, 'the deleted object shares what it had');
    await s.create('pods', pod('b'));
    const b = await s.guaranteedUpdate(key('b'), (cur) => ({ ...cur, metadata: { ...cur.metadata, labels: { app: 'web' } }, status: { phase: 'Pending' } }));
    const inMemory = await s.get(key('b'));
    await s.close();
    s = await openLevelStore(path);
    opened.push(s);
    assert.deepEqual(await s.get(key('b')), inMemory, 'a restart loads what memory held');
    assert.equal(inMemory!.metadata.resourceVersion, b.metadata.resourceVersion);
  });

  test('errors: AlreadyExists, NotFound, Conflict on a stale resourceVersion', async () => {
    const s = await fresh('errors');
    const a = await s.create('pods', pod('a'));
    await assert.rejects(s.create('pods', pod('a')), (e) => isApiError(e, 'AlreadyExists') && e.message === 'pods "a" already exists');
    await assert.rejects(s.update('pods', pod('missing')), (e) => isApiError(e, 'NotFound') && e.message === 'pods "missing" not found');
    await assert.rejects(s.delete(key('missing')), (e) => isApiError(e, 'NotFound'));
    await assert.rejects(s.guaranteedUpdate(key('missing'), (c) => c), (e) => isApiError(e, 'NotFound'));
    await s.update('pods', a);
    await assert.rejects(
      s.update('pods', a),
      (e) =>
        isApiError(e, 'Conflict') &&
        e.message === 'Operation cannot be fulfilled on pods "a": the object has been modified; please apply your changes to the latest version and try again',
    );
    await assert.rejects(s.delete(key('a'), { expectedResourceVersion: a.metadata.resourceVersion }), (e) => isApiError(e, 'Conflict'));
    await s.delete(key('a'), { expectedResourceVersion: '2' });
    assert.equal(s.currentRevision(), 3, 'rejected writes use no revision');
    await assert.rejects(s.create('pods', { apiVersion: 'v1', kind: 'Pod', metadata: {} }), (e) => isApiError(e, 'BadRequest'));
  });

  test('concurrent compare-and-swap: exactly one of two writers on the same version wins', async () => {
    const s = await fresh('cas');
    const a = await s.create('pods', pod('a'));
    const results = await Promise.allSettled([s.update('pods', { ...a, spec: { n: 1 } }), s.update('pods', { ...a, spec: { n: 2 } })]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.equal(results.filter((r) => r.status === 'rejected' && isApiError(r.reason, 'Conflict')).length, 1);
  });

  test('guaranteedUpdate retries until its change applies, and writes nothing for no change', async () => {
    const s = await fresh('guaranteed');
    await s.create('pods', pod('a'));
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        s.guaranteedUpdate(key('a'), async (cur) => {
          await new Promise((r) => setTimeout(r, i % 3));
          return relabel(cur, { ...cur.metadata.labels, [`k${i}`]: 'v' });
        }),
      ),
    );
    const got = await s.get(key('a'));
    assert.equal(Object.keys(got!.metadata.labels!).length, 10);
    const before = s.currentRevision();
    const same = await s.guaranteedUpdate(key('a'), () => undefined);
    assert.equal(s.currentRevision(), before);
    assert.deepEqual(same, got);
  });

  test('watch delivers live events of its resource and namespace, in order', async () => {
    const s = await fresh('watch-live');
    const w = s.watch('pods');
    const inOther = s.watch('pods', { namespace: 'other' });
    const a = await s.create('pods', pod('a'));
    await s.update('pods', a);
    await s.create('deployments', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' } });
    await s.create('pods', pod('b', {}, 'other'));
    await s.delete(key('a'));
    assert.deepEqual(summary(await take(w, 4)), ['ADDED a@1', 'MODIFIED a@2', 'ADDED b@4', 'DELETED a@5']);
    assert.deepEqual(summary(await take(inOther, 1)), ['ADDED b@4']);
    assert.deepEqual(await rest(inOther), []);
    w.close();
  });

  for (const where of ['memory', 'disk'] as const) {
    test(`watch from a revision replays exactly what was missed, then continues live (history in ${where})`, async () => {
      const s = await fresh(`watch-resume-${where}`, { recentEvents: where === 'memory' ? 100 : 0 });
      for (const n of ['a', 'b', 'c', 'd']) await s.create('pods', pod(n));
      await s.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' } });
      await s.delete(key('b'));
      const w = s.watch('pods', { sinceRevision: 2 });
      await s.create('pods', pod('e'));
      assert.deepEqual(summary(await take(w, 4)), ['ADDED c@3', 'ADDED d@4', 'DELETED b@6', 'ADDED e@7']);
      assert.deepEqual(await rest(w), [], 'no duplicates after the replay');
    });
  }

  test('a watch resumed while writes stream in misses nothing and repeats nothing', async () => {
    const s = await fresh('watch-race', { recentEvents: 0 });
    for (let i = 0; i < 50; i++) await s.create('pods', pod(`old${i}`));
    const writing = Promise.all(Array.from({ length: 100 }, (_, i) => s.create('pods', pod(`new${i}`))));
    await new Promise((r) => setImmediate(r));
    const w = s.watch('pods', { sinceRevision: 10 });
    await writing;
    const events = await take(w, 140);
    assert.deepEqual(
      events.map((e) => e.revision),
      Array.from({ length: 140 }, (_, i) => 11 + i),
    );
    assert.deepEqual(await rest(w), []);
  });

  test('a watch from a revision not yet reached starts after it', async () => {
    const s = await fresh('watch-future');
    await s.create('pods', pod('a'));
    const w = s.watch('pods', { sinceRevision: 2 });
    await s.create('pods', pod('b'));
    await s.create('pods', pod('c'));
    assert.deepEqual(summary(await take(w, 1)), ['ADDED c@3']);
    w.close();
  });

  test('a compacted revision is Gone (410), also after a restart', async () => {
    const path = join(dir, 'compact');
    let s = await openLevelStore(path);
    for (const n of ['a', 'b', 'c', 'd']) await s.create('pods', pod(n));
    await s.compact(3);
    assert.equal(s.compactedRevision(), 3);
    const gone = (e: unknown) => isApiError(e, 'Gone') && e.code === 410 && e.message === 'too old resource version: 1 (3)';
    assert.throws(() => s.watch('pods', { sinceRevision: 1 }), gone);
    await s.close();
    s = await openLevelStore(path, { recentEvents: 0 });
    opened.push(s);
    assert.equal(s.compactedRevision(), 3);
    assert.throws(() => s.watch('pods', { sinceRevision: 1 }), gone);
    const w = s.watch('pods', { sinceRevision: 3 });
    assert.deepEqual(summary(await take(w, 1)), ['ADDED d@4']);
    w.close();
  });

  test('history is compacted automatically past the limit', async () => {
    const s = await fresh('auto-compact', { historyLimit: 20 });
    for (let i = 0; i < 60; i++) await s.create('pods', pod(`p${i}`));
    await s.compact(0); // waits for the background compaction queued before it
    assert.ok(s.compactedRevision() >= 60 - 20 - 2 && s.compactedRevision() <= 40, `compacted up to ${s.compactedRevision()}`);
    assert.throws(() => s.watch('pods', { sinceRevision: 10 }), (e) => isApiError(e, 'Gone'));
  });

  test('a filtered watch sees objects entering and leaving its selection', async () => {
    const s = await fresh('watch-filter');
    const web = (p: KObject) => p.metadata.labels?.app === 'web';
    const w = s.watch('pods', { filter: web });
    const a = await s.create('pods', pod('a', { app: 'db' }));
    const a2 = await s.update('pods', relabel(a, { app: 'web' }));
    const a3 = await s.update('pods', relabel(a2, { app: 'web', v: '2' }));
    await s.update('pods', relabel(a3, { app: 'db' }));
    const events = await take(w, 3);
    assert.deepEqual(summary(events), ['ADDED a@2', 'MODIFIED a@3', 'DELETED a@4']);
    assert.deepEqual(events[2].object.metadata.labels, { app: 'web', v: '2' }, 'a leaving object is shown as it last matched');
    assert.equal(events[2].object.metadata.resourceVersion, '4');
    w.close();
  });

  test('a filtered watch resumed from memory replays entering and leaving exactly', async () => {
    const s = await fresh('watch-filter-resume');
    const web = (p: KObject) => p.metadata.labels?.app === 'web';
    const a = await s.create('pods', pod('a', { app: 'web' }));
    const b = await s.create('pods', pod('b', { app: 'db' }));
    await s.update('pods', relabel(a, { app: 'db' }));
    await s.update('pods', relabel(b, { app: 'web' }));
    const w = s.watch('pods', { sinceRevision: 2, filter: web });
    assert.deepEqual(summary(await take(w, 2)), ['DELETED a@3', 'ADDED b@4']);
    w.close();
  });

  test('a filtered watch resumed from disk: later transitions exact, an object’s first update matched on its new state', async () => {
    const path = join(dir, 'watch-filter-disk');
    let s = await openLevelStore(path);
    const web = (p: KObject) => p.metadata.labels?.app === 'web';
    const a = await s.create('pods', pod('a', { app: 'web' }));
    const b = await s.create('pods', pod('b', { app: 'db' }));
    await s.close();
    s = await openLevelStore(path);
    opened.push(s);
    const a2 = await s.update('pods', relabel(a, { app: 'web', v: '2' }));
    await s.update('pods', relabel(a2, { app: 'db' }));
    await s.update('pods', relabel(b, { app: 'db', v: '2' }));
    const w = s.watch('pods', { sinceRevision: 2, filter: web });
    assert.deepEqual(summary(await take(w, 2)), ['MODIFIED a@3', 'DELETED a@4']);
    assert.deepEqual(await rest(w), [], 'b never matched, so nothing is said about it');
  });

  test('a watcher that falls too far behind is closed without blocking writers or other watchers', async () => {
    const s = await fresh('slow', { watchBufferLimit: 5 });
    const slow = s.watch('pods');
    const fast = s.watch('pods');
    const fastEvents = take(fast, 20);
    const started = Date.now();
    for (let i = 0; i < 20; i++) await s.create('pods', pod(`p${i}`));
    assert.ok(Date.now() - started < 5000);
    assert.equal((await fastEvents).length, 20, 'a consuming watcher gets every event');
    const seen: StoreEvent[] = [];
    for await (const e of slow) seen.push(e);
    assert.equal(seen.length, 0, 'the slow watcher ended once its buffer overflowed');
    fast.close();
  });

  test('a watch whose filter throws does not disturb writes or other watchers', async () => {
    const s = await fresh('bad-filter');
    const bad = s.watch('pods', {
      filter: () => {
        throw new Error('bad selector');
      },
    });
    const good = s.watch('pods');
    await s.create('pods', pod('a'));
    await s.create('pods', pod('b'));
    assert.deepEqual(summary(await take(good, 2)), ['ADDED a@1', 'ADDED b@2']);
    assert.deepEqual(await rest(bad), []);
    assert.equal(s.currentRevision(), 2);
    good.close();
  });

  test('close() ends a watch', async () => {
    const s = await fresh('watch-close');
    const w = s.watch('pods');
    const events: StoreEvent[] = [];
    const consumed = (async () => {
      for await (const e of w) events.push(e);
    })();
    await s.create('pods', pod('a'));
    await new Promise((r) => setTimeout(r, 10));
    w.close();
    await consumed;
    assert.deepEqual(summary(events), ['ADDED a@1']);
  });

  test('reopening keeps objects, the revision and history; writes after close are refused', async () => {
    const path = join(dir, 'reopen');
    let s = await openLevelStore(path);
    const a = await s.create('pods', pod('a'));
    await s.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    await s.delete({ resource: 'nodes', namespace: '', name: 'n1' });
    // Issued without waiting: close() must still write them.
    const queued = Array.from({ length: 20 }, (_, i) => s.create('pods', pod(`q${i}`)));
    await s.close();
    assert.equal((await Promise.all(queued)).length, 20);
    await assert.rejects(s.create('pods', pod('late')), (e) => isApiError(e, 'ServiceUnavailable') && /closed/.test(e.message));
    assert.throws(() => s.watch('pods'), (e) => isApiError(e, 'ServiceUnavailable'));

    s = await openLevelStore(path);
    opened.push(s);
    assert.equal(s.currentRevision(), 23);
    assert.deepEqual(await s.get(key('a')), a);
    assert.equal((await s.list('pods')).items.length, 21);
    assert.equal(await s.get({ resource: 'nodes', namespace: '', name: 'n1' }), undefined);
    const w = s.watch('pods', { sinceRevision: 0 });
    assert.deepEqual(summary(await take(w, 2)), ['ADDED a@1', 'ADDED q0@4']);
    w.close();
    const b = await s.create('pods', pod('b'));
    assert.equal(b.metadata.resourceVersion, '24', 'revisions are never reused');
  });

  test('a second process cannot open the same store', async () => {
    const s = await fresh('locked');
    await assert.rejects(openLevelStore(join(dir, 'locked')), /cannot open the store at .*another ctl server/);
    assert.ok(s);
  });

  for (const sync of [true, false]) {
    test(`every acknowledged write survives kill -9 (sync ${sync ? 'on' : 'off'})`, async () => {
      const path = join(dir, `kill9-${sync}`);
      const script = fileURLToPath(new URL('./write-and-report.ts', import.meta.url));
      const child = spawn(process.execPath, ['--import', 'tsx', script, path, sync ? 'sync' : 'nosync'], { stdio: ['ignore', 'pipe', 'ignore'] });
      const acked = new Map<string, string>();
      try {
        let partial = '';
        await new Promise<void>((resolve, reject) => {
          child.on('error', reject);
          child.on('exit', (code) => reject(new Error(`the writer exited early (${code})`)));
          child.stdout.on('data', (chunk: Buffer) => {
            const lines = (partial + chunk.toString()).split('\n');
            partial = lines.pop()!;
            for (const line of lines) {
              const [name, revision] = line.split(' ');
              acked.set(name, revision);
            }
            if (acked.size >= 200 && child.exitCode === null) {
              child.kill('SIGKILL');
              resolve();
            }
          });
        });
      } finally {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await new Promise((r) => child.once('exit', r));
        }
      }
      const s = await openLevelStore(path);
      opened.push(s);
      const stored = new Map((await s.list('pods')).items.map((p) => [p.metadata.name!, p.metadata.resourceVersion]));
      for (const [name, revision] of acked) assert.equal(stored.get(name), revision, `acknowledged ${name}@${revision} is in the store`);
      assert.ok(s.currentRevision() >= Math.max(...[...acked.values()].map(Number)));
      assert.equal(s.currentRevision(), stored.size, 'the revision counter matches the writes on disk');
    });
  }
});
