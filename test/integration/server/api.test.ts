import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CertificateAuthority } from '../../../src/pki/cluster-pki.js';
import { pod, TestServer } from './helpers.js';

const t = { timeout: 15_000 };

describe('API server', { timeout: 120_000 }, () => {
  let s: TestServer;
  before(async () => {
    s = await TestServer.start();
  });
  after(async () => {
    await s?.stop();
  });

  test('discovery: /api, /api/v1, /apis, a group, its resources and /version', t, async () => {
    assert.match(s.cp.caHash, /^sha256:[0-9a-f]{64}$/);
    const api = await s.request('GET', '/api');
    assert.equal(api.status, 200);
    assert.deepEqual(api.json.versions, ['v1']);
    const core = await s.request('GET', '/api/v1');
    const pods = core.json.resources.find((r: { name: string }) => r.name === 'pods');
    assert.deepEqual({ kind: pods.kind, namespaced: pods.namespaced, shortNames: pods.shortNames }, { kind: 'Pod', namespaced: true, shortNames: ['po'] });
    assert.ok(core.json.resources.some((r: { name: string }) => r.name === 'pods/status'));
    const groups = await s.request('GET', '/apis');
    assert.deepEqual(groups.json.groups.map((g: { name: string }) => g.name).sort(), ['apps', 'batch', 'metrics.k8s.io'], 'the groups, with resource metrics');
    const metricsGroup = groups.json.groups.find((g: { name: string }) => g.name === 'metrics.k8s.io');
    assert.equal(metricsGroup.preferredVersion.groupVersion, 'metrics.k8s.io/v1beta1', 'resource metrics at v1beta1, as metrics-server serves them');
    assert.equal((await s.request('GET', '/apis/metrics.k8s.io')).json.preferredVersion.version, 'v1beta1', 'the metrics group');
    const metrics = await s.request('GET', '/apis/metrics.k8s.io/v1beta1');
    assert.deepEqual(
      metrics.json.resources.map((r: { name: string; kind: string; namespaced: boolean }) => [r.name, r.kind, r.namespaced]),
      [['nodes', 'NodeMetrics', false], ['pods', 'PodMetrics', true]],
      'the resources kubectl top reads',
    );
    assert.equal((await s.request('GET', '/apis/apps')).json.preferredVersion.groupVersion, 'apps/v1');
    const apps = await s.request('GET', '/apis/apps/v1');
    assert.ok(apps.json.resources.some((r: { name: string; kind: string }) => r.name === 'deployments' && r.kind === 'Deployment'));
    const v = await s.request('GET', '/version');
    assert.match(v.json.gitVersion, /^v\d+\.\d+\.\d+$/);
    assert.equal((await s.request('GET', '/apis/nope/v1')).status, 404);
  });

  test('the system namespaces exist at start', t, async () => {
    const list = await s.request('GET', '/api/v1/namespaces');
    const names = list.json.items.map((n: { metadata: { name: string } }) => n.metadata.name);
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) assert.ok(names.includes(n), n);
    const del = await s.request('DELETE', '/api/v1/namespaces/default');
    assert.equal(del.status, 403);
  });

  test('pod CRUD: create with defaults, get, list with selectors, update, patch, delete', t, async () => {
    const created = await s.request('POST', '/api/v1/namespaces/default/pods', pod('web'));
    assert.equal(created.status, 201, created.text);
    const p = created.json;
    assert.equal(p.metadata.namespace, 'default');
    assert.equal(p.metadata.generation, 1);
    assert.ok(p.metadata.uid && p.metadata.resourceVersion && p.metadata.creationTimestamp);
    assert.equal(p.status.phase, 'Pending');
    assert.equal(p.status.qosClass, 'BestEffort');
    assert.equal(p.spec.restartPolicy, 'Always');
    assert.equal(p.spec.containers[0].imagePullPolicy, 'IfNotPresent');

    const got = await s.request('GET', '/api/v1/namespaces/default/pods/web');
    assert.equal(got.json.metadata.uid, p.metadata.uid);
    const dup = await s.request('POST', '/api/v1/namespaces/default/pods', pod('web'));
    assert.equal(dup.status, 409);
    assert.equal(dup.json.reason, 'AlreadyExists');

    await s.request('POST', '/api/v1/namespaces/default/pods', pod('db'));
    const sel = await s.request('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb');
    assert.equal(sel.json.kind, 'PodList');
    assert.deepEqual(sel.json.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['web']);
    assert.ok(Number(sel.json.metadata.resourceVersion) >= Number(p.metadata.resourceVersion));
    const field = await s.request('GET', '/api/v1/pods?fieldSelector=metadata.name%3Ddb');
    assert.deepEqual(field.json.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['db']);
    const all = await s.request('GET', '/api/v1/pods');
    assert.ok(all.json.items.length >= 2);
    assert.equal((await s.request('GET', '/api/v1/pods?labelSelector=a%20in%20(')).status, 400);

    // PUT keeps the stored status; a spec change bumps generation.
    const body = structuredClone(got.json);
    body.metadata.labels.tier = 'front';
    body.spec.activeDeadlineSeconds = 30;
    body.status = { phase: 'Running' };
    const put = await s.request('PUT', '/api/v1/namespaces/default/pods/web', body);
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.metadata.labels.tier, 'front');
    assert.equal(put.json.status.phase, 'Pending');
    assert.equal(put.json.metadata.generation, 2);
    assert.equal(put.json.metadata.uid, p.metadata.uid);

    // /status writes status only.
    const st = structuredClone(put.json);
    st.status.phase = 'Running';
    st.metadata.labels.ignored = 'yes';
    const putStatus = await s.request('PUT', '/api/v1/namespaces/default/pods/web/status', st);
    assert.equal(putStatus.status, 200, putStatus.text);
    assert.equal(putStatus.json.status.phase, 'Running');
    assert.equal(putStatus.json.metadata.labels.ignored, undefined);
    assert.equal(putStatus.json.metadata.generation, 2);

    const merge = await s.request('PATCH', '/api/v1/namespaces/default/pods/web', { metadata: { labels: { tier: null, env: 'prod' } } }, { contentType: 'application/merge-patch+json' });
    assert.equal(merge.status, 200, merge.text);
    assert.deepEqual(merge.json.metadata.labels, { app: 'web', env: 'prod' });
    const json = await s.request('PATCH', '/api/v1/namespaces/default/pods/web', [{ op: 'add', path: '/metadata/annotations', value: { a: 'b' } }], { contentType: 'application/json-patch+json' });
    assert.equal(json.status, 200, json.text);
    assert.deepEqual(json.json.metadata.annotations, { a: 'b' });
    const smp = await s.request('PATCH', '/api/v1/namespaces/default/pods/web', { metadata: { annotations: { c: 'd' } } }, { contentType: 'application/strategic-merge-patch+json' });
    assert.deepEqual(smp.json.metadata.annotations, { a: 'b', c: 'd' });
    const statusPatch = await s.request('PATCH', '/api/v1/namespaces/default/pods/web/status', { status: { podIP: '10.1.0.5' } }, { contentType: 'application/merge-patch+json' });
    assert.equal(statusPatch.json.status.podIP, '10.1.0.5');
    const noType = await s.request('PATCH', '/api/v1/namespaces/default/pods/web', {}, { contentType: 'application/json' });
    assert.equal(noType.status, 415);

    const del = await s.request('DELETE', '/api/v1/namespaces/default/pods/web');
    assert.equal(del.status, 200);
    assert.equal(del.json.metadata.name, 'web');
    assert.equal((await s.request('GET', '/api/v1/namespaces/default/pods/web')).status, 404);
    const again = await s.request('DELETE', '/api/v1/namespaces/default/pods/web');
    assert.equal(again.status, 404);
    assert.equal(again.json.message, 'pods "web" not found');
  });

  test('an unchanged update keeps the resourceVersion', t, async () => {
    const c = await s.request('POST', '/api/v1/namespaces/default/pods', pod('same'));
    const put = await s.request('PUT', '/api/v1/namespaces/default/pods/same', c.json);
    assert.equal(put.json.metadata.resourceVersion, c.json.metadata.resourceVersion);
  });

  test('deployments under /apis/apps/v1, generateName and YAML bodies', t, async () => {
    const yaml = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: my-nginx',
      'spec:',
      '  replicas: 3',
      '  selector: {matchLabels: {app: my-nginx}}',
      '  template:',
      '    metadata: {labels: {app: my-nginx}}',
      '    spec: {containers: [{name: nginx, image: docker.io/library/nginx:1.25}]}',
      '',
    ].join('\n');
    const c = await s.request('POST', '/apis/apps/v1/namespaces/default/deployments', undefined, { raw: yaml, contentType: 'application/yaml' });
    assert.equal(c.status, 201, c.text);
    assert.equal(c.json.spec.strategy.type, 'RollingUpdate');
    assert.deepEqual(c.json.status, {});
    const scaled = await s.request('PATCH', '/apis/apps/v1/namespaces/default/deployments/my-nginx', { spec: { replicas: 5 } }, { contentType: 'application/merge-patch+json' });
    assert.equal(scaled.json.spec.replicas, 5);
    assert.equal(scaled.json.metadata.generation, 2);
    const list = await s.request('GET', '/apis/apps/v1/deployments');
    assert.equal(list.json.kind, 'DeploymentList');
    assert.equal(list.json.items.length, 1);

    const gen = await s.request('POST', '/api/v1/namespaces/default/pods', { ...pod(''), metadata: { generateName: 'web-' } });
    assert.equal(gen.status, 201, gen.text);
    assert.match(gen.json.metadata.name, /^web-[a-z0-9]{5}$/);

    const wrong = await s.request('POST', '/api/v1/namespaces/default/pods', { ...pod('x'), kind: 'Deployment', apiVersion: 'apps/v1' });
    assert.equal(wrong.status, 400);
    const wrongNs = await s.request('POST', '/api/v1/namespaces/default/pods', { ...pod('x'), metadata: { name: 'x', namespace: 'other' } });
    assert.equal(wrongNs.status, 400);
  });

  test('an invalid pod is refused with 422 and every cause', t, async () => {
    const bad = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'Bad_Name' },
      spec: { restartPolicy: 'Sometimes', containers: [{ name: 'c' }, { name: 'c', image: 'x', resources: { limits: { cpu: 'lots' } } }] },
    };
    const r = await s.request('POST', '/api/v1/namespaces/default/pods', bad);
    assert.equal(r.status, 422);
    assert.equal(r.json.kind, 'Status');
    assert.equal(r.json.reason, 'Invalid');
    const fields = r.json.details.causes.map((c: { field: string }) => c.field);
    for (const f of ['metadata.name', 'spec.restartPolicy', 'spec.containers[0].image', 'spec.containers[1].name']) assert.ok(fields.includes(f), `${f} in ${fields}`);
    assert.match(r.json.message, /^Pod "Bad_Name" is invalid: \[/);
  });

  test('a namespaced object needs its namespace; deleting a namespace removes its objects', t, async () => {
    const r = await s.request('POST', '/api/v1/namespaces/nowhere/pods', pod('p'));
    assert.equal(r.status, 404);
    assert.equal(r.json.message, 'namespaces "nowhere" not found');

    assert.equal((await s.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } })).status, 201);
    assert.equal((await s.request('POST', '/api/v1/namespaces/team/pods', pod('p'))).status, 201);
    const ns = await s.request('GET', '/api/v1/namespaces/team');
    assert.equal(ns.json.status.phase, 'Active');
    assert.equal((await s.request('DELETE', '/api/v1/namespaces/team')).status, 200);
    assert.equal((await s.request('GET', '/api/v1/namespaces/team/pods/p')).status, 404);
    assert.equal((await s.request('GET', '/api/v1/namespaces/team')).status, 404);
  });

  test('a stale resourceVersion on PUT is a 409 Conflict', t, async () => {
    const c = await s.request('POST', '/api/v1/namespaces/default/pods', pod('cas'));
    const first = structuredClone(c.json);
    first.metadata.labels.v = '1';
    assert.equal((await s.request('PUT', '/api/v1/namespaces/default/pods/cas', first)).status, 200);
    const stale = structuredClone(c.json);
    stale.metadata.labels.v = '2';
    const r = await s.request('PUT', '/api/v1/namespaces/default/pods/cas', stale);
    assert.equal(r.status, 409);
    assert.equal(r.json.reason, 'Conflict');
    assert.match(r.json.message, /the object has been modified/);
  });

  test('DELETE preconditions on uid and resourceVersion', t, async () => {
    const c = await s.request('POST', '/api/v1/namespaces/default/pods', pod('pre'));
    const wrongUid = await s.request('DELETE', '/api/v1/namespaces/default/pods/pre', { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'nope' } });
    assert.equal(wrongUid.status, 409);
    assert.match(wrongUid.json.message, /Precondition failed: UID/);
    const ok = await s.request('DELETE', '/api/v1/namespaces/default/pods/pre', { preconditions: { uid: c.json.metadata.uid, resourceVersion: c.json.metadata.resourceVersion } });
    assert.equal(ok.status, 200, ok.text);
  });

  test('deleting a pod bound to a node marks it for its node; grace 0 removes it at once', t, async () => {
    const c = await s.request('POST', '/api/v1/namespaces/default/pods', pod('bound', { spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36' }] } }));
    assert.equal(c.status, 201, c.text);
    const marked = await s.request('DELETE', '/api/v1/namespaces/default/pods/bound');
    assert.equal(marked.status, 200);
    assert.ok(marked.json.metadata.deletionTimestamp, 'deletionTimestamp set');
    assert.equal(marked.json.metadata.deletionGracePeriodSeconds, 30);
    assert.equal((await s.request('GET', '/api/v1/namespaces/default/pods/bound')).status, 200);
    const forced = await s.request('DELETE', '/api/v1/namespaces/default/pods/bound?gracePeriodSeconds=0');
    assert.equal(forced.status, 200);
    assert.equal((await s.request('GET', '/api/v1/namespaces/default/pods/bound')).status, 404);
    assert.equal((await s.request('DELETE', '/api/v1/namespaces/default/pods/x?gracePeriodSeconds=soon')).status, 400);
  });

  test('bad bodies: invalid JSON 400, too large 413, unknown paths 404', t, async () => {
    const bad = await s.request('POST', '/api/v1/namespaces/default/pods', undefined, { raw: '{"kind": ' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.kind, 'Status');
    const big = await s.request('POST', '/api/v1/namespaces/default/pods', undefined, { raw: Buffer.alloc(3 * 1024 * 1024 + 10, 32) });
    assert.equal(big.status, 413);
    assert.equal((await s.request('GET', '/api/v1/widgets')).status, 404);
    assert.equal((await s.request('GET', '/api/v1/pods/x')).status, 404);
    assert.equal((await s.request('DELETE', '/api/v1/namespaces/default/pods')).status, 405);
  });

  test('authentication: health is open, everything else needs a certificate from the cluster CA', t, async () => {
    for (const p of ['/healthz', '/livez', '/readyz']) {
      const r = await s.request('GET', p, undefined, { cert: {} });
      assert.equal(r.status, 200, p);
      assert.equal(r.text, 'ok');
    }
    const anon = await s.request('GET', '/api/v1/pods', undefined, { cert: {} });
    assert.equal(anon.status, 401);
    assert.equal(anon.json.kind, 'Status');
    assert.equal(anon.json.reason, 'Unauthorized');

    const otherCa = await CertificateAuthority.create();
    const forged = await otherCa.issueClient('admin', ['system:masters']);
    const r = await s.request('GET', '/api/v1/pods', undefined, { cert: forged });
    assert.equal(r.status, 401);
  });

  test('bootstrap tokens: created with the secret shown once, listed without it', t, async () => {
    const created = await s.request('POST', '/apis/bootstrap.skiff.io/v1/tokens', { spec: { description: 'api test' } });
    assert.equal(created.status, 201, created.text);
    const token: string = created.json.status.token;
    assert.match(token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const listed = await s.request('GET', '/apis/bootstrap.skiff.io/v1/tokens');
    assert.equal(listed.status, 200);
    assert.ok(listed.text.includes(token.split('.')[0]), 'the token id is listed');
    assert.ok(!listed.text.includes(token.split('.')[1]), 'the secret is never listed');
  });
});
