// Rolling-update benchmark, in process against a level store on disk: the controllers and the
// scheduler run for real; simulated nodes mark each bound pod Running and Ready after a delay
// and remove pods marked for deletion. Prints the time for a Deployment of N replicas to become
// available, the time for a rolling update to a new image to complete, and the fewest
// available replicas seen during it.
// Run: node --import tsx scripts/bench/rollout.ts [--replicas 300] [--nodes 30] [--ready-ms 200]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { applyDefaults } from '../../src/api/defaults.js';
import type { Deployment, KObject, Pod } from '../../src/api/types.js';
import { startControllers } from '../../src/controllers/index.js';
import { startScheduler } from '../../src/scheduler/scheduler.js';
import { openLevelStore } from '../../src/store/level-store.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const replicas = flag('replicas', 300);
const nodeCount = flag('nodes', 30);
const readyMs = flag('ready-ms', 200);

const node = (i: number): KObject => {
  const allocatable = { cpu: '16', memory: '32Gi', pods: '110' };
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: `node-${i}` }, spec: {}, status: { capacity: allocatable, allocatable, conditions: [{ type: 'Ready', status: 'True' }] } };
};

const dir = await mkdtemp(join(tmpdir(), 'skiff-bench-rollout-'));
const store = await openLevelStore(dir);
const silent = pino({ level: 'silent' });
await store.create('namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' }, status: { phase: 'Active' } });
for (let i = 0; i < nodeCount; i++) await store.create('nodes', node(i));

const scheduler = startScheduler(store, { log: silent });
await scheduler.ready;
const controllers = startControllers(store, silent);
await controllers.ready;

// The simulated nodes.
const timers = new Set<NodeJS.Timeout>();
const nodesWatch = store.watch('pods', { sinceRevision: store.currentRevision() });
const nodesLoop = (async () => {
  for await (const e of nodesWatch) {
    if (e.type === 'DELETED') continue;
    const p = e.object as Pod;
    const key = { resource: 'pods', namespace: p.metadata.namespace!, name: p.metadata.name! };
    if (p.metadata.deletionTimestamp) {
      store.delete(key).catch(() => undefined);
    } else if (p.spec.nodeName && p.status?.phase === 'Pending') {
      const t = setTimeout(() => {
        timers.delete(t);
        store
          .guaranteedUpdate(key, (cur) => {
            if (cur.metadata.deletionTimestamp || (cur.status as Pod['status'])?.phase !== 'Pending') return undefined;
            return { ...cur, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() }] } };
          })
          .catch(() => undefined);
      }, readyMs);
      timers.add(t);
    }
  }
})();

const getDeployment = async () => (await store.get({ resource: 'deployments', namespace: 'default', name: 'web' })) as Deployment;

async function until(check: (d: Deployment) => boolean, onPoll?: (d: Deployment) => void): Promise<number> {
  const start = performance.now();
  for (;;) {
    const d = await getDeployment();
    onPoll?.(d);
    if (check(d)) return performance.now() - start;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const d: KObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'default', generation: 1 },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox:1', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] } } },
  status: {},
};
applyDefaults(d);
await store.create('deployments', d);
const createMs = await until((x) => x.status?.availableReplicas === replicas && x.status.updatedReplicas === replicas);

await store.guaranteedUpdate({ resource: 'deployments', namespace: 'default', name: 'web' }, (o) => {
  const spec = structuredClone(o.spec) as Deployment['spec'];
  spec.template.spec.containers[0].image = 'busybox:2';
  return { ...o, metadata: { ...o.metadata, generation: 2 }, spec };
});
let minAvailable = Infinity;
const rolloutMs = await until(
  (x) => x.status?.observedGeneration === 2 && x.status.updatedReplicas === replicas && x.status.availableReplicas === replicas && x.status.replicas === replicas,
  (x) => (minAvailable = Math.min(minAvailable, x.status?.availableReplicas ?? 0)),
);

const { maxSurge, maxUnavailable } = { maxSurge: Math.ceil(replicas / 4), maxUnavailable: Math.floor(replicas / 4) };
console.log(`replicas ${replicas}, nodes ${nodeCount}, pod ready after ${readyMs} ms (maxSurge ${maxSurge}, maxUnavailable ${maxUnavailable})`);
console.log(`create: ${(createMs / 1000).toFixed(2)} s to ${replicas}/${replicas} available`);
console.log(`rolling update: ${(rolloutMs / 1000).toFixed(2)} s to complete; fewest available during it: ${minAvailable} (floor ${replicas - maxUnavailable})`);

nodesWatch.close();
for (const t of timers) clearTimeout(t);
await controllers.stop();
await scheduler.stop();
await nodesLoop;
await store.close();
await rm(dir, { recursive: true, force: true });
