import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { NatsConnection } from 'nats';
import { pino } from 'pino';
import type { Event, KObject, Pod } from '../../../src/api/types.js';
import { Backoff } from '../../../src/agent/pods/backoff.js';
import { CriPodManager } from '../../../src/agent/pods/manager.js';
import { requestPodDeletion, startPodDispatch, type PodDispatch } from '../../../src/server/pod-dispatch.js';
import { openLevelStore } from '../../../src/store/level-store.js';
import type { Store } from '../../../src/store/store.js';
import { startTestContainerd, TEST_IMAGE, type TestContainerd } from '../../helpers/containerd.js';
import { startTestNats, type TestNats } from './nats-server.js';

// The whole loop below the API: a pod bound in the store runs on containerd through NATS, its
// status and events come back into the store, deletion goes through the node, and with the
// control plane's NATS gone the node keeps restarting a crashing container, then converges.

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const podObj = (name: string, script: string): KObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName: 'node-a', restartPolicy: 'Always', terminationGracePeriodSeconds: 30, containers: [{ name: 'main', image: TEST_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script] }] },
  }) as KObject;

describe('control plane to containerd and back', { timeout: 120_000 }, () => {
  let ctd: TestContainerd;
  let nats: TestNats;
  let dir: string;
  let store: Store;
  let cp: NatsConnection;
  let node: NatsConnection;
  let dispatch: PodDispatch;
  let manager: CriPodManager;
  const get = async (name: string) => (await store.get({ resource: 'pods', namespace: 'default', name })) as Pod | undefined;

  before(async () => {
    ctd = await startTestContainerd();
    nats = await startTestNats();
    dir = mkdtempSync(join(tmpdir(), 'skiff-loop-'));
    store = await openLevelStore(join(dir, 'store'));
    cp = await nats.connect();
    node = await nats.connect();
    dispatch = await startPodDispatch({ nc: cp, store, log, debounceMs: 20, resendIntervalMs: 2000 });
    manager = new CriPodManager({ runtime: ctd.runtime, dataDir: join(dir, 'agent'), nodeName: 'node-a', hostIP: '127.0.0.1', log, relistIntervalMs: 200, backoff: new Backoff({ initialMs: 500, maxMs: 1000 }) });
    await manager.start({ nc: node, nodeName: 'node-a', log });
  });

  after(async () => {
    await manager?.stop();
    dispatch?.close();
    for (const nc of [cp, node]) await nc?.close().catch(() => undefined);
    await store?.close();
    await nats?.stop();
    await ctd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a bound pod runs and its status and events reach the store', { timeout: 30_000 }, async () => {
    await store.create('pods', podObj('web', 'exec sleep 3600'));
    const running = await waitFor('web Running in the store', async () => {
      const p = await get('web');
      return p?.status?.phase === 'Running' && p;
    });
    assert.match(running.status!.podIP!, /^10\.88\./);
    assert.equal(running.status!.containerStatuses![0].ready, true);
    const reasons = await waitFor('Created and Started events', async () => {
      const evs = (await store.list('events', { namespace: 'default' })).items as Event[];
      const r = evs.filter((e) => e.involvedObject.name === 'web').map((e) => e.reason);
      return r.includes('Started') && r;
    });
    assert.ok(reasons.includes('Pulled') && reasons.includes('Created'), `events: ${reasons.join(', ')}`);
  });

  test('graceful delete: the node stops the pod, then the object goes', { timeout: 30_000 }, async () => {
    const before = await get('web');
    const r = await requestPodDeletion(store, { namespace: 'default', name: 'web' }, { gracePeriodSeconds: 1 });
    assert.equal(r.removed, false);
    await waitFor('web removed from the store', async () => !(await get('web')));
    assert.deepEqual(await ctd.runtime.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': before!.metadata.uid! } }), []);
    const killing = ((await store.list('events', { namespace: 'default' })).items as Event[]).find((e) => e.involvedObject.name === 'web' && e.reason === 'Killing');
    assert.ok(killing, 'a Killing event');
  });

  test('without the control plane the node keeps restarting a crashing container; afterwards status converges', { timeout: 60_000 }, async () => {
    await store.create('pods', podObj('crashy', 'sleep 0.3; exit 1'));
    await waitFor('crashy restarted once', async () => ((await get('crashy'))?.status?.containerStatuses?.[0].restartCount ?? 0) >= 1);
    await nats.stop();
    const counts: number[] = [];
    const stopListening = (() => {
      let on = true;
      manager.onStatus((pod, st) => on && pod.metadata.name === 'crashy' && counts.push(st.containerStatuses?.[0].restartCount ?? 0));
      return () => (on = false);
    })();
    const startCount = ((await get('crashy'))!.status!.containerStatuses![0].restartCount);
    await waitFor('restarts while disconnected', async () => Math.max(0, ...counts) >= startCount + 2, 20_000);
    stopListening();
    await nats.start();
    await manager.resync('reconnected');
    const local = Math.max(...counts);
    await waitFor('the store catches up', async () => ((await get('crashy'))?.status?.containerStatuses?.[0].restartCount ?? 0) >= local, 20_000);
  });
});
