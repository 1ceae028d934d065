import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pod, TestServer } from './helpers.js';

// `?dryRun=All` (kubectl's --dry-run=server): every check a real request meets, and no write.

const t = { timeout: 15_000 };
const pods = '/api/v1/namespaces/default/pods';

describe('dryRun=All', { timeout: 60_000 }, () => {
  let s: TestServer;
  before(async () => {
    s = await TestServer.start();
  });
  after(async () => {
    await s?.stop();
  });

  test('create answers with the defaulted object and stores nothing; no event reaches watchers', t, async () => {
    const before = s.cp.store.currentRevision();
    const r = await s.request('POST', `${pods}?dryRun=All`, pod('dry'));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.metadata.name, 'dry');
    assert.ok(r.json.metadata.uid, 'the reply looks like a created object');
    assert.equal(r.json.metadata.resourceVersion, undefined, 'no revision: nothing was written');
    assert.equal(r.json.status.phase, 'Pending');
    assert.equal(r.json.spec.restartPolicy, 'Always', 'defaults applied');
    assert.equal((await s.request('GET', `${pods}/dry`)).status, 404);
    assert.equal(s.cp.store.currentRevision(), before);
  });

  test('a dry run is refused for every reason a real request would be', t, async () => {
    const invalid = await s.request('POST', `${pods}?dryRun=All`, pod('Bad_Name', { spec: { containers: [{ name: 'c' }] } }));
    assert.equal(invalid.status, 422);
    assert.ok(invalid.json.details.causes.length >= 2, invalid.text);
    const noNs = await s.request('POST', '/api/v1/namespaces/nowhere/pods?dryRun=All', pod('x'));
    assert.equal(noNs.status, 404);
    assert.equal((await s.request('POST', pods, pod('taken'))).status, 201);
    assert.equal((await s.request('POST', `${pods}?dryRun=All`, pod('taken'))).status, 409);
    const stale = await s.request('PUT', `${pods}/taken?dryRun=All`, { ...pod('taken'), metadata: { name: 'taken', resourceVersion: '1' } });
    assert.equal(stale.status, 409);
  });

  test('update, patch and delete answer with the result and leave the stored object as it was', t, async () => {
    const made = await s.request('POST', pods, pod('keep'));
    assert.equal(made.status, 201, made.text);
    const stored = made.json;

    const patched = await s.request('PATCH', `${pods}/keep?dryRun=All`, { metadata: { labels: { tier: 'web' } } }, { contentType: 'application/merge-patch+json' });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.json.metadata.labels.tier, 'web');

    const put = await s.request('PUT', `${pods}/keep?dryRun=All`, { ...stored, metadata: { ...stored.metadata, labels: { app: 'changed' } } });
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.metadata.labels.app, 'changed');

    const del = await s.request('DELETE', `${pods}/keep?dryRun=All`);
    assert.equal(del.status, 200, del.text);

    const now = await s.request('GET', `${pods}/keep`);
    assert.equal(now.status, 200);
    assert.deepEqual(now.json, stored);
  });

  test('deleting a namespace in a dry run keeps it and its objects', t, async () => {
    assert.equal((await s.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } })).status, 201);
    assert.equal((await s.request('POST', '/api/v1/namespaces/team/pods', pod('p'))).status, 201);
    assert.equal((await s.request('DELETE', '/api/v1/namespaces/team?dryRun=All')).status, 200);
    assert.equal((await s.request('GET', '/api/v1/namespaces/team')).status, 200);
    assert.equal((await s.request('GET', '/api/v1/namespaces/team/pods/p')).status, 200);
  });

  test('any other dryRun value is refused rather than written for real', t, async () => {
    const r = await s.request('POST', `${pods}?dryRun=true`, pod('maybe'));
    assert.equal(r.status, 400);
    assert.match(r.json.message, /use dryRun=All/);
    assert.equal((await s.request('GET', `${pods}/maybe`)).status, 404);
  });
});
