import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchRoute, type ResourceRoute } from '../../../src/server/routes.js';

const res = (p: string) => {
  const r = matchRoute(p);
  assert.equal(r?.type, 'resource', p);
  const { info, ...rest } = r as ResourceRoute;
  return { plural: info.plural, ...rest };
};

test('namespaced, cluster-scoped and group paths', { timeout: 2_000 }, () => {
  assert.deepEqual(res('/api/v1/namespaces/default/pods'), { plural: 'pods', type: 'resource', namespace: 'default' });
  assert.deepEqual(res('/api/v1/namespaces/default/pods/web'), { plural: 'pods', type: 'resource', namespace: 'default', name: 'web' });
  assert.deepEqual(res('/api/v1/namespaces/default/pods/web/status'), { plural: 'pods', type: 'resource', namespace: 'default', name: 'web', subresource: 'status' });
  assert.deepEqual(res('/api/v1/pods'), { plural: 'pods', type: 'resource' });
  assert.deepEqual(res('/api/v1/nodes/n1'), { plural: 'nodes', type: 'resource', name: 'n1' });
  assert.deepEqual(res('/apis/apps/v1/namespaces/x/deployments/d'), { plural: 'deployments', type: 'resource', namespace: 'x', name: 'd' });
  assert.deepEqual(res('/apis/batch/v1/jobs'), { plural: 'jobs', type: 'resource' });
});

test('namespaces themselves: the object, its status, and the collection', { timeout: 2_000 }, () => {
  assert.deepEqual(res('/api/v1/namespaces'), { plural: 'namespaces', type: 'resource' });
  assert.deepEqual(res('/api/v1/namespaces/team'), { plural: 'namespaces', type: 'resource', name: 'team' });
  assert.deepEqual(res('/api/v1/namespaces/team/status'), { plural: 'namespaces', type: 'resource', name: 'team', subresource: 'status' });
});

test('the scale subresource of the kinds that have replicas, and of no other', { timeout: 2_000 }, () => {
  assert.deepEqual(res('/apis/apps/v1/namespaces/x/deployments/d/scale'), { plural: 'deployments', type: 'resource', namespace: 'x', name: 'd', subresource: 'scale' });
  assert.deepEqual(res('/apis/apps/v1/namespaces/x/replicasets/r/scale'), { plural: 'replicasets', type: 'resource', namespace: 'x', name: 'r', subresource: 'scale' });
  assert.deepEqual(res('/api/v1/namespaces/x/replicationcontrollers/r/scale'), { plural: 'replicationcontrollers', type: 'resource', namespace: 'x', name: 'r', subresource: 'scale' });
  assert.equal(matchRoute('/api/v1/namespaces/x/pods/p/scale'), undefined, 'pods have no scale');
  assert.equal(matchRoute('/apis/apps/v1/namespaces/x/daemonsets/d/scale'), undefined, 'daemon sets have no scale');
});

test('discovery and health routes', { timeout: 2_000 }, () => {
  assert.deepEqual(matchRoute('/api'), { type: 'coreVersions' });
  assert.deepEqual(matchRoute('/api/v1'), { type: 'resourceList', group: '', version: 'v1' });
  assert.deepEqual(matchRoute('/apis'), { type: 'groupList' });
  assert.deepEqual(matchRoute('/apis/apps'), { type: 'group', group: 'apps' });
  assert.deepEqual(matchRoute('/apis/apps/v1/'), { type: 'resourceList', group: 'apps', version: 'v1' });
  assert.deepEqual(matchRoute('/apis/metrics.k8s.io'), { type: 'group', group: 'metrics.k8s.io' }, 'the resource metrics group');
  assert.deepEqual(matchRoute('/apis/metrics.k8s.io/v1beta1'), { type: 'resourceList', group: 'metrics.k8s.io', version: 'v1beta1' }, 'its resources');
  assert.deepEqual(matchRoute('/version'), { type: 'version' });
  assert.deepEqual(matchRoute('/readyz'), { type: 'health', check: 'readyz' });
});

test('paths that address nothing', { timeout: 2_000 }, () => {
  for (const p of [
    '/',
    '/api/v2/pods',
    '/api/v1/widgets',
    '/api/v1/pods/web', // one pod needs its namespace
    '/api/v1/deployments', // wrong group
    '/apis/apps/v1/pods',
    '/apis/apps/v2/deployments',
    '/api/v1/namespaces/default/events/e/status', // events have no status
    '/api/v1/namespaces/default/deployments/web/log', // only pods have logs
    '/api/v1/namespaces/default/pods/web/log/extra',
    '/api/v1/namespaces/default/pods/web/status/extra',
    '/api/v1/namespaces/%E0%A4%A/pods',
  ]) {
    assert.equal(matchRoute(p), undefined, p);
  }
});

test('a pod log route names the namespace and pod', { timeout: 2_000 }, () => {
  assert.deepEqual(matchRoute('/api/v1/namespaces/default/pods/web/log'), { type: 'podLog', namespace: 'default', name: 'web' });
});

test('a pod eviction route names the namespace and pod; other kinds have none', { timeout: 2_000 }, () => {
  assert.deepEqual(matchRoute('/api/v1/namespaces/default/pods/web/eviction'), { type: 'podEviction', namespace: 'default', name: 'web' }, 'pods/NAME/eviction');
  assert.equal(matchRoute('/api/v1/namespaces/default/services/web/eviction'), undefined, 'only pods are evicted');
});

test("a node's images route names the node; other proxy paths are not served", { timeout: 2_000 }, () => {
  assert.deepEqual(matchRoute('/api/v1/nodes/edge-1/proxy/images'), { type: 'nodeImages', name: 'edge-1' }, 'nodes/NAME/proxy/images');
  assert.equal(matchRoute('/api/v1/nodes/edge-1/proxy/metrics'), undefined, 'only images are proxied');
  assert.equal(matchRoute('/api/v1/namespaces/default/nodes/edge-1/proxy/images'), undefined, 'nodes are not namespaced');
});
