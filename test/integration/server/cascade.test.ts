import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pod, TestServer } from './helpers.js';

const t = { timeout: 15_000 };

describe('DELETE propagationPolicy', { timeout: 60_000 }, () => {
  let s: TestServer;
  before(async () => {
    s = await TestServer.start();
  });
  after(async () => {
    await s?.stop();
  });

  test('Orphan removes the owner and strips its references from the dependents, which stay', t, async () => {
    const rs = await s.request('POST', '/apis/apps/v1/namespaces/default/replicasets', {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web' },
      spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox:1' }] } } },
    });
    assert.equal(rs.status, 201, rs.text);
    const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: rs.json.metadata.uid, controller: true };
    const p = pod('web-abcde');
    const created = await s.request('POST', '/api/v1/namespaces/default/pods', { ...p, metadata: { ...p.metadata, labels: { app: 'web' }, ownerReferences: [owner] } });
    assert.equal(created.status, 201, created.text);

    const bad = await s.request('DELETE', '/apis/apps/v1/namespaces/default/replicasets/web?propagationPolicy=Sometimes');
    assert.equal(bad.status, 400, bad.text);

    const del = await s.request('DELETE', '/apis/apps/v1/namespaces/default/replicasets/web?propagationPolicy=Orphan');
    assert.equal(del.status, 200, del.text);
    assert.equal((await s.request('GET', '/apis/apps/v1/namespaces/default/replicasets/web')).status, 404);
    const kept = await s.request('GET', '/api/v1/namespaces/default/pods/web-abcde');
    assert.equal(kept.status, 200, 'the dependent pod is kept');
    assert.deepEqual(kept.json.metadata.ownerReferences ?? [], [], 'the reference to the deleted owner is gone');
  });
});
