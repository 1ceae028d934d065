import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pod, TestServer } from './helpers.js';

// Deleting a namespace: it turns Terminating first, so nothing new is created in it while its
// contents are removed (a controller replacing deleted pods would otherwise leave orphans).

const t = { timeout: 15_000 };
const ns = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

describe('namespace deletion', { timeout: 60_000 }, () => {
  let s: TestServer;
  before(async () => {
    s = await TestServer.start();
  });
  after(async () => {
    await s?.stop();
  });

  test('watchers see the namespace turn Terminating, its contents go, then the namespace', t, async () => {
    assert.equal((await s.request('POST', '/api/v1/namespaces', ns('team'))).status, 201);
    assert.equal((await s.request('POST', '/api/v1/namespaces/team/pods', pod('p'))).status, 201);
    const list = await s.request('GET', '/api/v1/namespaces');
    const nsWatch = s.watch(`/api/v1/namespaces?watch=1&resourceVersion=${list.json.metadata.resourceVersion}&fieldSelector=metadata.name%3Dteam`);
    const podWatch = s.watch(`/api/v1/namespaces/team/pods?watch=1&resourceVersion=${list.json.metadata.resourceVersion}`);
    try {
      const del = await s.request('DELETE', '/api/v1/namespaces/team');
      assert.equal(del.status, 200, del.text);
      const [marked, gone] = await nsWatch.waitFor(2);
      assert.equal(marked.type, 'MODIFIED');
      assert.equal(marked.object.status.phase, 'Terminating');
      assert.ok(marked.object.metadata.deletionTimestamp);
      assert.equal(gone.type, 'DELETED');
      const [podGone] = await podWatch.waitFor(1);
      assert.equal(podGone.type, 'DELETED');
      assert.ok(Number(podGone.object.metadata.resourceVersion) < Number(gone.object.metadata.resourceVersion), 'contents go before the namespace');
    } finally {
      nsWatch.close();
      podWatch.close();
    }
    assert.equal((await s.request('GET', '/api/v1/namespaces/team')).status, 404);
  });

  test('nothing new is created in a Terminating namespace', t, async () => {
    assert.equal((await s.request('POST', '/api/v1/namespaces', ns('closing'))).status, 201);
    await s.cp.store.guaranteedUpdate({ resource: 'namespaces', namespace: '', name: 'closing' }, (n) => ({ ...n, status: { phase: 'Terminating' } }));
    const r = await s.request('POST', '/api/v1/namespaces/closing/pods', pod('late'));
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.message, 'pods "late" is forbidden: unable to create new content in namespace closing because it is being terminated');
  });

  test('a delete with a stale resourceVersion precondition leaves the namespace Active', t, async () => {
    const made = await s.request('POST', '/api/v1/namespaces', ns('kept'));
    assert.equal(made.status, 201);
    const stale = await s.request('DELETE', '/api/v1/namespaces/kept', { preconditions: { resourceVersion: '1' } });
    assert.equal(stale.status, 409);
    const now = await s.request('GET', '/api/v1/namespaces/kept');
    assert.equal(now.json.status.phase, 'Active');
    const ok = await s.request('DELETE', '/api/v1/namespaces/kept', { preconditions: { resourceVersion: made.json.metadata.resourceVersion } });
    assert.equal(ok.status, 200, ok.text);
  });
});
