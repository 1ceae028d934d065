import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import type { KObject } from '../../../src/api/types.js';
import { byController, orphansIn } from '../../../src/controllers/pods.js';
import { Controller, Informer, splitKey } from '../../../src/controllers/runtime.js';
import type { Store } from '../../../src/store/store.js';
import { MemoryStore } from '../../integration/bus/memory-store.js';

const log = pino({ level: 'silent' });
const t = { timeout: 5_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a key queued many times before it runs is reconciled once', t, async () => {
  const seen: string[] = [];
  const c = new Controller({ name: 'test', log, reconcile: async (k) => void seen.push(k) });
  c.enqueue('a/x');
  c.enqueue('a/x');
  c.enqueue('a/y');
  c.start();
  await sleep(20);
  await c.stop();
  assert.deepEqual(seen, ['a/x', 'a/y']);
});

test('a failing reconcile is retried after a backoff', t, async () => {
  let calls = 0;
  const c = new Controller({
    name: 'test',
    log,
    initialBackoffMs: 5,
    reconcile: async () => {
      calls++;
      if (calls < 3) throw new Error('not yet');
    },
  });
  c.start();
  c.enqueue('k');
  await sleep(100);
  await c.stop();
  assert.equal(calls, 3);
});

test('splitKey separates namespace and name', t, () => {
  assert.deepEqual(splitKey('ns/a'), { namespace: 'ns', name: 'a' });
  assert.deepEqual(splitKey('node1'), { namespace: '', name: 'node1' });
});

test('an informer lists again when its watch ends, reporting what changed meanwhile', t, async () => {
  const obj = (name: string, rv: string): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', resourceVersion: rv } });
  const lists = [[obj('a', '1'), obj('b', '1')], [obj('b', '2'), obj('c', '3')]];
  let listCalls = 0;
  let watchCalls = 0;
  let closeLast: (() => void) | undefined;
  const store = {
    list: async () => ({ items: lists[Math.min(listCalls++, 1)], revision: 3 }),
    watch: () => {
      watchCalls++;
      const first = watchCalls === 1;
      let close!: () => void;
      const closed = new Promise<void>((r) => (close = r));
      if (!first) closeLast = close;
      return {
        close,
        async *[Symbol.asyncIterator]() {
          // The first watch is cut off at once; later ones stay open until closed.
          if (!first) await closed;
        },
      };
    },
  } as unknown as Store;
  const events: string[] = [];
  const inf = new Informer(store, 'pods', log);
  inf.onEvent((type, o) => events.push(`${type} ${o.metadata.name}`));
  inf.start();
  await inf.ready;
  for (let i = 0; i < 50 && watchCalls < 2; i++) await sleep(10);
  assert.equal(listCalls, 2, 'listed again after the watch ended');
  assert.deepEqual(events, ['ADDED a', 'ADDED b', 'MODIFIED b', 'ADDED c', 'DELETED a']);
  assert.deepEqual(inf.list().map((o) => o.metadata.name).sort(), ['b', 'c']);
  closeLast?.();
  await inf.stop();
});

test('informer indexes follow objects as they are added, change what they are filed under, and go', t, async () => {
  const store = new MemoryStore();
  const pod = (name: string, namespace: string, owner?: string): KObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: owner, uid: `uid-${owner}`, controller: true }] } : {}) },
  });
  await store.create('pods', pod('before-start', 'a', 'rs1'));
  const inf = new Informer(store, 'pods', log);
  inf.addIndex(byController.name, byController.fn);
  inf.addIndex(byController.name, () => ['ignored']);
  inf.start();
  await inf.ready;
  const names = (value: string) => inf.byIndex(byController.name, value).map((o) => o.metadata.name).sort();
  const settle = async (what: string, check: () => boolean) => {
    for (let i = 0; i < 100 && !check(); i++) await sleep(10);
    assert.ok(check(), what);
  };
  assert.deepEqual(names('uid-rs1'), ['before-start'], 'filed from the first list');

  await store.create('pods', pod('orphan', 'a'));
  await store.create('pods', pod('other-ns', 'b'));
  await settle('the new pods are indexed', () => names(orphansIn('b')).length === 1);
  assert.deepEqual(names(orphansIn('a')), ['orphan'], 'orphans of namespace a');
  assert.deepEqual(inf.list('b').map((o) => o.metadata.name), ['other-ns'], 'list by namespace');

  await store.guaranteedUpdate({ resource: 'pods', namespace: 'a', name: 'orphan' }, (o) => ({ ...o, metadata: { ...o.metadata, ownerReferences: pod('x', 'a', 'rs1').metadata.ownerReferences } }));
  await settle('the adopted pod moves', () => names('uid-rs1').length === 2);
  assert.deepEqual(names(orphansIn('a')), [], 'no longer an orphan');

  await store.delete({ resource: 'pods', namespace: 'a', name: 'before-start' });
  await settle('the deleted pod leaves its index', () => names('uid-rs1').length === 1);
  assert.deepEqual(names('uid-rs1'), ['orphan'], 'only the adopted pod is left');
  assert.deepEqual(names('ignored'), [], 'a second index of the same name is not added');
  await inf.stop();
});
