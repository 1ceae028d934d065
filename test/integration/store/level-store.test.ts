import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isApiError } from '../../../src/api/errors.js';
import type { KObject } from '../../../src/api/types.js';
import { openLevelStore, type LevelStore } from '../../../src/store/level-store.js';
import type { StoreEvent, Watch } from '../../../src/store/store.js';

const pod = (name: string, labels: Record<string, string> = {}, namespace = 'default'): KObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, labels },
  spec: { containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36' }] },
});

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
  assert.equal(out.length, n, `expected ${n} events, got ${out.length}`);
  return out;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skiff-store-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fresh(name: string, opts = {}): Promise<LevelStore> {
  return openLevelStore(join(dir, name), opts);
}

describe('level store', { timeout: 30_000 }, () => {
  test('create, get, list, update, delete with revisions', async () => {
    const s = await fresh('crud');
    const a = await s.create('pods', pod('a', { app: 'web' }));
    assert.ok(a.metadata.uid);
    assert.match(a.metadata.creationTimestamp!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(a.metadata.resourceVersion, '1');
    await s.create('pods', pod('b', {}, 'other'));
    assert.equal(s.currentRevision(), 2);

    const got = await s.get({ resource: 'pods', namespace: 'default', name: 'a' });
    assert.deepEqual(got, a);
    assert.equal(await s.get({ resource: 'pods', namespace: 'default', name: 'zzz' }), undefined);

    assert.deepEqual((await s.list('pods')).items.map((p) => p.metadata.name), ['a', 'b']);
    assert.deepEqual((await s.list('pods', { namespace: 'other' })).items.map((p) => p.metadata.name), ['b']);
    assert.deepEqual((await s.list('pods', { filter: (p) => p.metadata.labels?.app === 'web' })).items.map((p) => p.metadata.name), ['a']);

    const updated = await s.update('pods', { ...a, spec: { containers: [] }, metadata: { ...a.metadata, uid: 'forged' } });
    assert.equal(updated.metadata.resourceVersion, '3');
    assert.equal(updated.metadata.uid, a.metadata.uid, 'uid is kept from the stored object');

    const deleted = await s.delete({ resource: 'pods', namespace: 'default', name: 'a' });
    assert.equal(deleted.metadata.resourceVersion, '4');
    assert.equal(await s.get({ resource: 'pods', namespace: 'default', name: 'a' }), undefined);
    await s.close();
  });

  test('returned objects are copies: changing one does not change the store', async () => {
    const s = await fresh('copies');
    const a = await s.create('pods', pod('a'));
    a.metadata.labels = { changed: 'yes' };
    const got = await s.get({ resource: 'pods', namespace: 'default', name: 'a' });
    assert.deepEqual(got!.metadata.labels, {});
    await s.close();
  });

  test('errors: AlreadyExists, NotFound, Conflict on a stale resourceVersion', async () => {
    const s = await fresh('errors');
    const a = await s.create('pods', pod('a'));
    await assert.rejects(s.create('pods', pod('a')), (e) => isApiError(e, 'AlreadyExists') && /pods "a" already exists/.test(e.message));
    await assert.rejects(s.update('pods', pod('missing')), (e) => isApiError(e, 'NotFound'));
    await s.update('pods', a);
    await assert.rejects(s.update('pods', a), (e) => isApiError(e, 'Conflict') && /the object has been modified/.test(e.message));
    await assert.rejects(
      s.delete({ resource: 'pods', namespace: 'default', name: 'a' }, { expectedResourceVersion: a.metadata.resourceVersion }),
      (e) => isApiError(e, 'Conflict'),
    );
    await s.close();
  });

  test('concurrent compare-and-swap: exactly one of two writers on the same version wins', async () => {
    const s = await fresh('cas');
    const a = await s.create('pods', pod('a'));
    const results = await Promise.allSettled([s.update('pods', { ...a, spec: { n: 1 } }), s.update('pods', { ...a, spec: { n: 2 } })]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    assert.equal(results.filter((r) => r.status === 'rejected' && isApiError(r.reason, 'Conflict')).length, 1);
    await s.close();
  });

  test('guaranteedUpdate retries until its change applies', async () => {
    const s = await fresh('guaranteed');
    await s.create('pods', pod('a'));
    const key = { resource: 'pods', namespace: 'default', name: 'a' };
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        s.guaranteedUpdate(key, (cur) => ({ ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata.labels, [`k${i}`]: 'v' } } })),
      ),
    );
    const got = await s.get(key);
    assert.equal(Object.keys(got!.metadata.labels!).length, 10);
    await s.close();
  });

  test('watch delivers live events in order', async () => {
    const s = await fresh('watch-live');
    const w = s.watch('pods');
    const a = await s.create('pods', pod('a'));
    await s.update('pods', a);
    await s.create('deployments', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' } });
    await s.delete({ resource: 'pods', namespace: 'default', name: 'a' });
    const events = await take(w, 3);
    assert.deepEqual(events.map((e) => [e.type, e.revision]), [['ADDED', 1], ['MODIFIED', 2], ['DELETED', 4]]);
    w.close();
    await s.close();
  });

  test('watch from a revision replays exactly what was missed, then continues live', async () => {
    const s = await fresh('watch-resume');
    for (const n of ['a', 'b', 'c', 'd']) await s.create('pods', pod(n));
    const w = s.watch('pods', { sinceRevision: 2 });
    await s.create('pods', pod('e'));
    const events = await take(w, 3);
    assert.deepEqual(events.map((e) => `${e.object.metadata.name}@${e.revision}`), ['c@3', 'd@4', 'e@5']);
    w.close();
    await s.close();
  });

  test('a compacted revision is Gone (410)', async () => {
    const s = await fresh('compact');
    for (const n of ['a', 'b', 'c', 'd']) await s.create('pods', pod(n));
    await s.compact(3);
    assert.equal(s.compactedRevision(), 3);
    assert.throws(() => s.watch('pods', { sinceRevision: 1 }), (e) => isApiError(e, 'Gone') && /too old resource version: 1 \(3\)/.test(e.message));
    const w = s.watch('pods', { sinceRevision: 3 });
    assert.deepEqual((await take(w, 1)).map((e) => e.revision), [4]);
    w.close();
    await s.close();
  });

  test('history is compacted automatically past the limit', async () => {
    const s = await fresh('auto-compact', { historyLimit: 20 });
    for (let i = 0; i < 60; i++) await s.create('pods', pod(`p${i}`));
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(s.compactedRevision() >= 60 - 20 - 2, `compacted up to ${s.compactedRevision()}`);
    assert.ok(s.compactedRevision() <= 40);
    await s.close();
  });

  test('a filtered watch sees objects entering and leaving its selection', async () => {
    const s = await fresh('watch-filter');
    const w = s.watch('pods', { filter: (p) => p.metadata.labels?.app === 'web' });
    const a = await s.create('pods', pod('a', { app: 'db' }));
    const a2 = await s.update('pods', { ...a, metadata: { ...a.metadata, labels: { app: 'web' } } });
    await s.update('pods', { ...a2, metadata: { ...a2.metadata, labels: { app: 'db' } } });
    const events = await take(w, 2);
    assert.deepEqual(events.map((e) => e.type), ['ADDED', 'DELETED']);
    w.close();
    await s.close();
  });

  test('a watcher that falls too far behind is closed and does not block writers', async () => {
    const s = await fresh('slow', { watchBufferLimit: 5 });
    const slow = s.watch('pods');
    const fast = s.watch('pods');
    const fastEvents = take(fast, 20);
    for (let i = 0; i < 20; i++) await s.create('pods', pod(`p${i}`));
    assert.equal((await fastEvents).length, 20, 'a consuming watcher gets every event');
    const seen: StoreEvent[] = [];
    for await (const e of slow) seen.push(e);
    assert.ok(seen.length <= 5, 'the slow watcher ended after its buffer filled');
    await s.close();
  });

  test('reopening keeps objects, the revision and history', async () => {
    const path = join(dir, 'reopen');
    let s = await openLevelStore(path);
    await s.create('pods', pod('a'));
    await s.create('nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
    await s.close();
    s = await openLevelStore(path);
    assert.equal(s.currentRevision(), 2);
    assert.ok(await s.get({ resource: 'nodes', namespace: '', name: 'n1' }));
    const w = s.watch('pods', { sinceRevision: 0 });
    assert.deepEqual((await take(w, 1)).map((e) => e.object.metadata.name), ['a']);
    w.close();
    const b = await s.create('pods', pod('b'));
    assert.equal(b.metadata.resourceVersion, '3', 'revisions are never reused');
    await s.close();
    await assert.rejects(s.create('pods', pod('c')), (e) => isApiError(e, 'ServiceUnavailable'));
  });

  test('every acknowledged write survives kill -9', async () => {
    const path = join(dir, 'kill9');
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./write-and-report.ts', import.meta.url)), path], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const acked: string[] = [];
    let partial = '';
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.stdout.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop()!;
        for (const line of lines) acked.push(line.split(' ')[0]);
        if (acked.length >= 50 && child.exitCode === null) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((r) => child.once('exit', r));
    const s = await openLevelStore(path);
    const names = new Set((await s.list('pods')).items.map((p) => p.metadata.name));
    for (const name of acked) assert.ok(names.has(name), `acknowledged ${name} is in the store`);
    assert.ok(s.currentRevision() >= acked.length);
    await s.close();
  });
});
