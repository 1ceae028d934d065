import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually as waitEventually } from '../controllers/harness.js';
import { TestServer } from './helpers.js';

// Pods a controller creates pass the same admission as pods created through the API: a quota
// binds a Deployment's pods, a LimitRange refuses them, and the ReplicaSet says why with a
// FailedCreate event and a ReplicaFailure condition, as in Kubernetes.

let server: TestServer;
const t = { timeout: 60_000 };

before(async () => {
  server = await TestServer.start({ controllers: true });
});
after(async () => {
  await server?.stop();
});

/** Controllers behind a real API server take longer than the controller harness's default wait. */
const eventually = <T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000) => waitEventually(what, check, timeoutMs);

async function create(path: string, body: unknown): Promise<any> {
  const r = await server.request('POST', path, body);
  assert.equal(r.status, 201, `POST ${path} should succeed: ${r.text}`);
  return r.json;
}

async function namespace(name: string): Promise<void> {
  await create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

const deployment = (name: string, replicas: number, cpu: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'docker.io/library/busybox:1.36', resources: { requests: { cpu }, limits: { cpu } } }] } },
  },
});

async function list(path: string): Promise<any[]> {
  const r = await server.request('GET', path);
  assert.equal(r.status, 200, `GET ${path} should succeed: ${r.text}`);
  return r.json.items;
}

async function replicaSetOf(ns: string, app: string): Promise<any> {
  return eventually(`the replica set of ${app}`, async () => (await list(`/apis/apps/v1/namespaces/${ns}/replicasets?labelSelector=app%3D${app}`))[0]);
}

const failedCreates = async (ns: string, rs: any) =>
  (await list(`/api/v1/namespaces/${ns}/events`)).filter((e) => e.involvedObject?.uid === rs.metadata.uid && e.reason === 'FailedCreate');

test('a quota caps a Deployment at what fits, and its ReplicaSet records FailedCreate until the quota grows', t, async () => {
  const ns = 'quota-deploy';
  await namespace(ns);
  await create(`/api/v1/namespaces/${ns}/resourcequotas`, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'compute' }, spec: { hard: { 'requests.cpu': '1', pods: '10' } } });
  await create(`/apis/apps/v1/namespaces/${ns}/deployments`, deployment('web', 3, '500m'));
  const rs = await replicaSetOf(ns, 'web');

  const events = await eventually('a repeated FailedCreate event', async () => {
    const evs = await failedCreates(ns, rs);
    return evs.length > 0 && evs[0].count >= 2 && evs;
  });
  assert.equal(events.length, 1, `repeated refusals should aggregate into one event, got ${JSON.stringify(events.map((e) => e.message))}`);
  const [ev] = events;
  assert.equal(ev.type, 'Warning', 'FailedCreate should be a warning');
  assert.equal(ev.source?.component, 'replicaset-controller', 'the event should come from the replicaset controller');
  assert.equal(ev.involvedObject.kind, 'ReplicaSet', 'the event should be about the ReplicaSet');
  assert.match(
    ev.message,
    /^(\(combined from similar events\): )?Error creating: pods "web-[a-z0-9]+-[a-z0-9]{5}" is forbidden: exceeded quota: compute, requested: requests\.cpu=500m, used: requests\.cpu=1, limited: requests\.cpu=1$/,
    'the event should carry the admission refusal in Kubernetes words',
  );

  const pods = await list(`/api/v1/namespaces/${ns}/pods`);
  assert.equal(pods.length, 2, `only the pods the quota allows should exist, got ${pods.map((p) => p.metadata.name).join(', ')}`);
  const failure = await eventually('the ReplicaFailure condition', async () => {
    const cur = (await server.request('GET', `/apis/apps/v1/namespaces/${ns}/replicasets/${rs.metadata.name}`)).json;
    return cur.status?.conditions?.find((c: any) => c.type === 'ReplicaFailure');
  });
  assert.equal(failure.status, 'True', 'ReplicaFailure should be True while creates fail');
  assert.equal(failure.reason, 'FailedCreate', 'ReplicaFailure should say FailedCreate');

  const quota = (await server.request('GET', `/api/v1/namespaces/${ns}/resourcequotas/compute`)).json;
  const grown = await server.request('PUT', `/api/v1/namespaces/${ns}/resourcequotas/compute`, { ...quota, spec: { hard: { 'requests.cpu': '2', pods: '10' } } });
  assert.equal(grown.status, 200, `growing the quota should succeed: ${grown.text}`);
  await eventually('the third pod once the quota allows it', async () => (await list(`/api/v1/namespaces/${ns}/pods`)).length === 3, 40_000);
  await eventually('the ReplicaFailure condition to clear', async () => {
    const cur = (await server.request('GET', `/apis/apps/v1/namespaces/${ns}/replicasets/${rs.metadata.name}`)).json;
    return !cur.status?.conditions?.some((c: any) => c.type === 'ReplicaFailure');
  });
});

test('a LimitRange refusal of a controller pod is a FailedCreate event too, and no pod is stored', t, async () => {
  const ns = 'limits-deploy';
  await namespace(ns);
  await create(`/api/v1/namespaces/${ns}/limitranges`, { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'limits' }, spec: { limits: [{ type: 'Container', max: { cpu: '200m' } }] } });
  await create(`/apis/apps/v1/namespaces/${ns}/deployments`, deployment('big', 1, '500m'));
  const rs = await replicaSetOf(ns, 'big');
  const [ev] = await eventually('a FailedCreate event', async () => {
    const evs = await failedCreates(ns, rs);
    return evs.length > 0 && evs;
  });
  assert.match(ev.message, /^(\(combined from similar events\): )?Error creating: pods "big-[a-z0-9]+-[a-z0-9]{5}" is forbidden: \[maximum cpu usage per Container is 200m, but limit is 500m, maximum cpu usage per Container is 200m, but request is 500m\]$/, 'the event should carry the LimitRange refusal');
  assert.equal((await list(`/api/v1/namespaces/${ns}/pods`)).length, 0, 'a refused pod should not be stored');
});

test('a quota on replica sets binds a Deployment rollout, which records ReplicaSetCreateError on the Deployment', t, async () => {
  const ns = 'quota-rs';
  await namespace(ns);
  await create(`/api/v1/namespaces/${ns}/resourcequotas`, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'objects' }, spec: { hard: { 'count/replicasets.apps': '1' } } });
  const d = await create(`/apis/apps/v1/namespaces/${ns}/deployments`, deployment('app', 1, '100m'));
  await replicaSetOf(ns, 'app');
  const path = `/apis/apps/v1/namespaces/${ns}/deployments/app`;
  // A merge patch, as kubectl set image sends: the controllers write the Deployment's status meanwhile, so a PUT could conflict.
  const container = { ...d.spec.template.spec.containers[0], image: 'docker.io/library/busybox:1.37' };
  const updated = await server.request('PATCH', path, { spec: { template: { spec: { containers: [container] } } } }, { contentType: 'application/merge-patch+json' });
  assert.equal(updated.status, 200, `updating the template should succeed: ${updated.text}`);
  const [ev] = await eventually('a ReplicaSetCreateError event', async () => {
    const evs = (await list(`/api/v1/namespaces/${ns}/events`)).filter((e) => e.involvedObject?.uid === d.metadata.uid && e.reason === 'ReplicaSetCreateError');
    return evs.length > 0 && evs;
  });
  assert.equal(ev.type, 'Warning', 'ReplicaSetCreateError should be a warning');
  assert.match(
    ev.message,
    /^Failed to create new replica set "app-[a-z0-9]+": replicasets\.apps "app-[a-z0-9]+" is forbidden: exceeded quota: objects, requested: count\/replicasets\.apps=1, used: count\/replicasets\.apps=1, limited: count\/replicasets\.apps=1$/,
    'the event should carry the quota refusal',
  );
  assert.equal((await list(`/apis/apps/v1/namespaces/${ns}/replicasets`)).length, 1, 'the refused replica set should not be stored');
});
