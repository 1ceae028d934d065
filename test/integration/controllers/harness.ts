import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { KObject, Pod } from '../../../src/api/types.js';
import { startControllers, type Controllers } from '../../../src/controllers/index.js';
import { openLevelStore, type LevelStore } from '../../../src/store/level-store.js';

// A real level store in a temp dir with the controllers running over it; no nodes: tests play
// the node by writing pod status themselves.

export interface Harness {
  store: LevelStore;
  controllers: Controllers;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'skiff-controllers-'));
  const store = await openLevelStore(dir);
  await store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' }, status: { phase: 'Active' } });
  const controllers = startControllers(store, pino({ level: 'silent' }), { resyncMs: 500 });
  await controllers.ready;
  return {
    store,
    controllers,
    async close() {
      await controllers.stop();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const podsOf = async (store: LevelStore, filter: (p: Pod) => boolean = () => true): Promise<Pod[]> =>
  ((await store.list('pods', { namespace: 'default' })).items as Pod[]).filter(filter);

/** Plays the node: marks a pod Running and Ready. */
export async function markReady(store: LevelStore, name: string): Promise<void> {
  await store.guaranteedUpdate({ resource: 'pods', namespace: 'default', name }, (p: KObject) => ({
    ...p,
    spec: { ...(p.spec as object), nodeName: 'node-1' },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() }] },
  }));
}

export const template = (labels: Record<string, string>, image = 'busybox:1') => ({
  metadata: { labels },
  spec: { containers: [{ name: 'web', image }] },
});
