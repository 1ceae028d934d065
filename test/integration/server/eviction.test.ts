import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pod, TestServer } from './helpers.js';

// The policy/v1 Eviction subresource, as `drain` and kubectl use it: the pod is marked
// DisruptionTarget (EvictionByEvictionAPI) and then deleted as DELETE would.

let server: TestServer;
const t = { timeout: 15_000 };
const pods = '/api/v1/namespaces/default/pods';
const eviction = (name: string, deleteOptions?: object) => ({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'default' }, ...(deleteOptions ? { deleteOptions } : {}) });

before(async () => {
  server = await TestServer.start();
});
after(async () => {
  await server?.stop();
});

async function createPod(name: string, nodeName?: string): Promise<any> {
  const body = pod(name);
  if (nodeName) body.spec = { ...body.spec, nodeName } as typeof body.spec;
  const r = await server.request('POST', pods, body);
  assert.equal(r.status, 201, `creating pod ${name} should succeed: ${r.text}`);
  return r.json;
}

test('evicting a bound pod marks it DisruptionTarget and starts its graceful deletion', t, async () => {
  await createPod('bound', 'node-1');
  const r = await server.request('POST', `${pods}/bound/eviction`, eviction('bound', { gracePeriodSeconds: 7 }));
  assert.equal(r.status, 201, `the eviction should be accepted: ${r.text}`);
  assert.equal(r.json.kind, 'Status', 'the answer should be a Status');
  assert.equal(r.json.status, 'Success', 'the Status should say Success');
  const after = (await server.request('GET', `${pods}/bound`)).json;
  assert.ok(after.metadata.deletionTimestamp, 'the evicted pod should be terminating');
  assert.equal(after.metadata.deletionGracePeriodSeconds, 7, 'the eviction deleteOptions grace period should be used');
  const condition = after.status.conditions.find((c: any) => c.type === 'DisruptionTarget');
  assert.deepEqual(
    { status: condition?.status, reason: condition?.reason, message: condition?.message },
    { status: 'True', reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting' },
    'the evicted pod should carry Kubernetes’ DisruptionTarget condition',
  );
  assert.ok(condition.lastTransitionTime, 'the condition should have a transition time');
});

test('evicting an unbound pod removes it at once; a missing pod is NotFound', t, async () => {
  await createPod('unbound');
  const r = await server.request('POST', `${pods}/unbound/eviction`, eviction('unbound'));
  assert.equal(r.status, 201, `the eviction should be accepted: ${r.text}`);
  assert.equal((await server.request('GET', `${pods}/unbound`)).status, 404, 'an unbound pod should be gone after its eviction');
  const missing = await server.request('POST', `${pods}/nothing/eviction`, eviction('nothing'));
  assert.equal(missing.status, 404, `evicting a missing pod should be NotFound: ${missing.text}`);
});

test('an eviction is refused when its name differs from the path or a precondition fails, leaving the pod alone', t, async () => {
  const created = await createPod('kept', 'node-1');
  const mismatch = await server.request('POST', `${pods}/kept/eviction`, eviction('other'));
  assert.equal(mismatch.status, 400, `a name mismatch should be a bad request: ${mismatch.text}`);
  const stale = await server.request('POST', `${pods}/kept/eviction`, eviction('kept', { preconditions: { resourceVersion: '1' } }));
  assert.equal(stale.status, 409, `a stale resourceVersion precondition should conflict: ${stale.text}`);
  const wrongUid = await server.request('POST', `${pods}/kept/eviction`, eviction('kept', { preconditions: { uid: 'not-it' } }));
  assert.equal(wrongUid.status, 409, `a wrong uid precondition should conflict: ${wrongUid.text}`);
  const now = (await server.request('GET', `${pods}/kept`)).json;
  assert.equal(now.metadata.resourceVersion, created.metadata.resourceVersion, 'a refused eviction should not change the pod');
  assert.equal((await server.request('GET', `${pods}/kept/eviction`)).status, 405, 'eviction should only accept POST');
});

test('discovery lists pods/eviction as kubectl expects', t, async () => {
  const list = (await server.request('GET', '/api/v1')).json;
  const entry = list.resources.find((r: any) => r.name === 'pods/eviction');
  assert.deepEqual({ group: entry?.group, version: entry?.version, kind: entry?.kind, verbs: entry?.verbs }, { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] }, 'discovery should describe the eviction subresource');
});
