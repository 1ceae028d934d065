import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pod, TestServer } from './helpers.js';

const t = { timeout: 15_000 };

describe('watch', { timeout: 120_000 }, () => {
  let s: TestServer;
  before(async () => {
    s = await TestServer.start();
    await s.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'w' } });
  });
  after(async () => {
    await s?.stop();
  });

  test('without a resourceVersion: ADDED for what exists, then ADDED, MODIFIED, DELETED as they happen', t, async () => {
    await s.request('POST', '/api/v1/namespaces/w/pods', pod('before'));
    const w = s.watch('/api/v1/namespaces/w/pods?watch=1');
    try {
      const [first] = await w.waitFor(1);
      assert.equal(first.type, 'ADDED');
      assert.equal(first.object.metadata.name, 'before');
      await s.request('POST', '/api/v1/namespaces/w/pods', pod('live'));
      await s.request('PATCH', '/api/v1/namespaces/w/pods/live', { metadata: { labels: { x: 'y' } } }, { contentType: 'application/merge-patch+json' });
      await s.request('DELETE', '/api/v1/namespaces/w/pods/live');
      const events = await w.waitFor(4);
      assert.deepEqual(events.slice(1).map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED live', 'MODIFIED live', 'DELETED live']);
      assert.equal(events[2].object.metadata.labels.x, 'y');
      assert.equal(w.status, 200);
    } finally {
      w.close();
    }
  });

  test('resourceVersion=N replays every change after N, then live ones', t, async () => {
    const c = await s.request('POST', '/api/v1/namespaces/w/pods', pod('resume'));
    const rv = c.json.metadata.resourceVersion;
    await s.request('PATCH', '/api/v1/namespaces/w/pods/resume', { metadata: { labels: { step: '1' } } }, { contentType: 'application/merge-patch+json' });
    await s.request('DELETE', '/api/v1/namespaces/w/pods/resume');
    const w = s.watch(`/api/v1/namespaces/w/pods?watch=true&resourceVersion=${rv}`);
    try {
      const replayed = await w.waitFor(2);
      assert.deepEqual(replayed.map((e) => `${e.type} ${e.object.metadata.labels?.step ?? ''}`), ['MODIFIED 1', 'DELETED 1']);
      await s.request('POST', '/api/v1/namespaces/w/pods', pod('after'));
      const events = await w.waitFor(3);
      assert.equal(events[2].type, 'ADDED');
      assert.ok(Number(events[2].object.metadata.resourceVersion) > Number(events[1].object.metadata.resourceVersion));
    } finally {
      w.close();
    }
  });

  test('label selectors apply to watches; timeoutSeconds ends the stream', t, async () => {
    const w = s.watch('/api/v1/namespaces/w/pods?watch=1&labelSelector=app%3Dpicked&timeoutSeconds=1');
    await s.request('POST', '/api/v1/namespaces/w/pods', pod('ignored'));
    await s.request('POST', '/api/v1/namespaces/w/pods', pod('picked'));
    await w.waitEnd(5_000);
    assert.deepEqual(w.events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED picked']);
  });

  test('a compacted resourceVersion ends the watch with one ERROR event carrying 410', t, async () => {
    const c = await s.request('POST', '/api/v1/namespaces/w/pods', pod('old'));
    const rv = Number(c.json.metadata.resourceVersion);
    await s.request('DELETE', '/api/v1/namespaces/w/pods/old');
    await s.cp.store.compact(s.cp.store.currentRevision());
    const w = s.watch(`/api/v1/namespaces/w/pods?watch=1&resourceVersion=${rv}`);
    await w.waitEnd();
    assert.equal(w.status, 200);
    assert.equal(w.events.length, 1);
    assert.equal(w.events[0].type, 'ERROR');
    assert.equal(w.events[0].object.kind, 'Status');
    assert.equal(w.events[0].object.code, 410);
    assert.equal(w.events[0].object.reason, 'Gone');
  });

  test('a watch on cluster-scoped and group resources works the same', t, async () => {
    const w = s.watch('/apis/apps/v1/deployments?watch=1');
    try {
      await s.request('POST', '/apis/apps/v1/namespaces/w/replicasets', {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'rs' },
        spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36' }] } } },
      });
      await s.request('POST', '/apis/apps/v1/namespaces/w/deployments', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'd' },
        spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36' }] } } },
      });
      const [ev] = await w.waitFor(1);
      assert.equal(ev.object.kind, 'Deployment');
      assert.equal(ev.object.metadata.name, 'd');
    } finally {
      w.close();
    }
  });
});
