import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errors } from '../../../src/api/errors.js';
import { resourceByKind } from '../../../src/api/resources.js';
import type { KList, KObject } from '../../../src/api/types.js';
import { reflect, type ReflectorEvent } from '../../../src/cli/reflector.js';
import type { RestClient, WatchEvent, WatchOptions } from '../../../src/cli/rest-client.js';

const pods = resourceByKind('Pod')!;
const pod = (name: string, rv: string): KObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', resourceVersion: rv } });

/** A scripted server: each list call and each watch call takes the next step. */
function fakeClient(lists: KList[], watches: ((opts: WatchOptions) => WatchEvent[] | Error)[]) {
  const watchCalls: (string | undefined)[] = [];
  let listCalls = 0;
  const client = {
    async list(): Promise<KList> {
      const l = lists[listCalls++];
      if (!l) throw new Error('no more lists scripted');
      return structuredClone(l);
    },
    async *watch(_info: unknown, opts: WatchOptions): AsyncGenerator<WatchEvent> {
      watchCalls.push(opts.resourceVersion);
      const step = watches.shift();
      if (!step) return yield* hang();
      const r = step(opts);
      if (r instanceof Error) throw r;
      yield* r;
    },
  };
  return { client: client as unknown as RestClient, watchCalls, listCount: () => listCalls };
}

async function* hang(): AsyncGenerator<WatchEvent> {
  await new Promise(() => {});
}

async function take(gen: AsyncGenerator<ReflectorEvent>, n: number): Promise<ReflectorEvent[]> {
  const out: ReflectorEvent[] = [];
  for await (const ev of gen) {
    out.push(ev);
    if (out.length === n) break;
  }
  return out;
}

const list = (rv: string, items: KObject[]): KList => ({ apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: rv }, items });

test('list, then watch from the list version; a dropped stream resumes from the last version seen', { timeout: 5_000 }, async () => {
  const { client, watchCalls } = fakeClient(
    [list('1', [pod('a', '1')])],
    [() => [{ type: 'MODIFIED', object: pod('a', '2') }], () => [{ type: 'ADDED', object: pod('b', '3') }]],
  );
  const stop = new AbortController();
  const evs = await take(reflect(client, pods, { minBackoffMs: 1 }, stop.signal), 3);
  stop.abort();
  assert.deepEqual(evs.map((e) => (e.type === 'LIST' ? ['LIST', e.resourceVersion] : [e.type, e.object.metadata.name])), [
    ['LIST', '1'],
    ['MODIFIED', 'a'],
    ['ADDED', 'b'],
  ]);
  assert.deepEqual(watchCalls, ['1', '2']);
});

test('410 Gone re-lists and reports the difference as events', { timeout: 5_000 }, async () => {
  const { client, watchCalls, listCount } = fakeClient(
    [list('1', [pod('a', '1'), pod('b', '1')]), list('9', [pod('b', '7'), pod('c', '8')])],
    [
      () => [{ type: 'ERROR', object: errors.gone('too old resource version: 1 (5)').toStatus() as unknown as KObject }],
      () => [{ type: 'MODIFIED', object: pod('c', '10') }],
    ],
  );
  const stop = new AbortController();
  const evs = await take(reflect(client, pods, { minBackoffMs: 1 }, stop.signal), 5);
  stop.abort();
  assert.deepEqual(evs.slice(1).map((e) => (e.type === 'LIST' ? ['LIST'] : [e.type, e.object.metadata.name])), [
    ['DELETED', 'a'],
    ['MODIFIED', 'b'],
    ['ADDED', 'c'],
    ['MODIFIED', 'c'],
  ]);
  assert.equal(listCount(), 2);
  assert.deepEqual(watchCalls, ['1', '9']);
});

test('a watch refused with HTTP 410 re-lists too; network failures back off and retry', { timeout: 5_000 }, async () => {
  const retries: unknown[] = [];
  const { client, watchCalls } = fakeClient(
    [list('1', []), list('4', [pod('x', '4')])],
    [() => new Error('connect ECONNREFUSED'), () => errors.gone('expired'), () => [{ type: 'DELETED', object: pod('x', '5') }]],
  );
  const stop = new AbortController();
  let recovered = 0;
  const evs = await take(
    reflect(client, pods, { minBackoffMs: 1, onRetry: (e) => retries.push(e), onRecovered: () => recovered++ }, stop.signal),
    3,
  );
  stop.abort();
  assert.deepEqual(evs.map((e) => (e.type === 'LIST' ? 'LIST' : `${e.type} ${e.object.metadata.name}`)), ['LIST', 'ADDED x', 'DELETED x']);
  assert.equal(retries.length, 1);
  assert.ok(recovered >= 1);
  assert.deepEqual(watchCalls, ['1', '1', '4']);
});

test('errors that retrying cannot fix end the stream', { timeout: 5_000 }, async () => {
  const { client } = fakeClient([list('1', [])], [() => errors.forbidden('pods', '', 'no')]);
  const stop = new AbortController();
  await assert.rejects(take(reflect(client, pods, { minBackoffMs: 1 }, stop.signal), 5), { reason: 'Forbidden' });
});
