import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resourceByKind } from '../../../src/api/resources.js';
import type { KObject, LimitRange, Pod, ScopedResourceSelectorRequirement } from '../../../src/api/types.js';
import { matchesScopes, missingComputeResources, parseUsage, podCountsTowardQuota, usageOf } from '../../../src/controllers/resource-quota.js';
import { applyLimitRanges, checkQuota, defaultTolerationSeconds, type AdmissionRequest } from '../../../src/server/admission.js';

const opts = { timeout: 2_000 };

const pod = (containers: Pod['spec']['containers'], initContainers?: Pod['spec']['containers']): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'x', namespace: 'default' },
  spec: { containers, ...(initContainers ? { initContainers } : {}) },
});
const limits = (items: LimitRange['spec']['limits']): LimitRange => ({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'l' }, spec: { limits: items } });

test('quota usage of a pod: sums of containers, the largest init container when bigger, and counts', opts, () => {
  const p = pod(
    [
      { name: 'a', resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } } },
      { name: 'b', resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '1', memory: '128Mi' } } },
    ],
    [{ name: 'init', resources: { requests: { cpu: '2' } } }],
  );
  const u = usageOf('pods', p, ['pods', 'count/pods', 'requests.cpu', 'cpu', 'requests.memory', 'limits.cpu', 'limits.memory', 'count/deployments.apps']);
  assert.equal(u.get('pods'), 1000, 'one pod');
  assert.equal(u.get('count/pods'), 1000, 'count/pods counts pods too');
  assert.equal(u.get('requests.cpu'), 2000, 'the init container (2) is bigger than the sum (500m)');
  assert.equal(u.get('cpu'), 2000, 'cpu means requests.cpu');
  assert.equal(u.get('requests.memory'), 128 * 2 ** 20 * 1000, 'memory requests are summed');
  assert.equal(u.get('limits.cpu'), 1500, 'limits are summed');
  assert.equal(u.get('count/deployments.apps'), undefined, 'a pod costs nothing against a deployment count');
  assert.equal(usageOf('deployments', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: {} } as KObject, ['count/deployments.apps']).get('count/deployments.apps'), 1000, 'a deployment counts against count/deployments.apps');
});

test('finished pods and pods past their deletion deadline stop counting', opts, () => {
  const now = Date.parse('2026-01-01T00:00:10Z');
  const p = pod([{ name: 'a' }]);
  assert.ok(podCountsTowardQuota(p, now), 'a pending pod counts');
  assert.ok(!podCountsTowardQuota({ ...p, status: { phase: 'Succeeded' } }, now), 'a succeeded pod does not count');
  assert.ok(podCountsTowardQuota({ ...p, metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T00:00:30Z' } }, now), 'a terminating pod counts until its deadline');
  assert.ok(!podCountsTowardQuota({ ...p, metadata: { ...p.metadata, deletionTimestamp: '2026-01-01T00:00:05Z' } }, now), 'past its deadline it does not');
});

test('a quota on compute resources needs every container to state them, in Kubernetes words', opts, () => {
  const p = pod([{ name: 'nginx-container', resources: { requests: { memory: '64Mi' }, limits: { memory: '128Mi' } } }]);
  assert.equal(
    missingComputeResources(p, ['limits.cpu', 'requests.cpu', 'limits.memory', 'requests.memory']),
    'must specify limits.cpu for: nginx-container; requests.cpu for: nginx-container',
    'cpu is missing on the one container',
  );
  assert.equal(missingComputeResources(p, ['pods', 'count/pods']), undefined, 'a count quota asks nothing of containers');
  const two = pod([{ name: 'b' }, { name: 'a', resources: { requests: { cpu: '1' } } }]);
  assert.equal(missingComputeResources(two, ['cpu']), 'must specify cpu for: b', 'only the container without a request is named');
});

test('checkQuota refuses with requested, used and limited of the exceeded names only', opts, () => {
  const hard = { 'requests.cpu': '2', pods: '10', 'requests.memory': '1Gi' };
  const used = parseUsage({ 'requests.cpu': '1', pods: '3', 'requests.memory': '512Mi' });
  const refused = checkQuota('q', hard, used, new Map([['requests.cpu', 2000], ['pods', 1000], ['requests.memory', 256 * 2 ** 20 * 1000]]));
  assert.equal(refused.refusal, 'exceeded quota: q, requested: requests.cpu=2, used: requests.cpu=1, limited: requests.cpu=2', 'the message Kubernetes gives');
  const ok = checkQuota('q', hard, used, new Map([['requests.cpu', 1000], ['pods', 1000], ['requests.memory', 512 * 2 ** 20 * 1000]]));
  assert.equal(ok.refusal, undefined, 'exactly filling the quota is allowed');
  assert.equal(ok.used.get('requests.memory'), 2 ** 30 * 1000, 'the charge is added to used');
  const two = checkQuota('q', { pods: '1', 'requests.memory': '1Gi' }, parseUsage({ pods: '1', 'requests.memory': '1Gi' }), new Map([['pods', 1000], ['requests.memory', 1000]]));
  assert.equal(two.refusal, 'exceeded quota: q, requested: pods=1,requests.memory=1, used: pods=1,requests.memory=1Gi, limited: pods=1,requests.memory=1Gi', 'names are sorted and joined with commas');
});

test('LimitRange fills missing limits and requests from default and defaultRequest', opts, () => {
  const p = pod([{ name: 'a' }, { name: 'b', resources: { limits: { cpu: '2' }, requests: { cpu: '2' } } }]);
  const problems = applyLimitRanges(p, [limits([{ type: 'Container', default: { cpu: '500m', memory: '256Mi' }, defaultRequest: { cpu: '100m', memory: '128Mi' } }])]);
  assert.deepEqual(problems, [], 'no bounds, no problems');
  assert.deepEqual(p.spec.containers[0].resources, { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } }, 'an empty container gets both');
  assert.deepEqual(p.spec.containers[1].resources, { limits: { cpu: '2', memory: '256Mi' }, requests: { cpu: '2', memory: '128Mi' } }, 'stated values are kept');
});

test('LimitRange min, max and ratio violations in Kubernetes words', opts, () => {
  const lr = limits([{ type: 'Container', min: { cpu: '100m' }, max: { cpu: '1', memory: '1Gi' }, maxLimitRequestRatio: { cpu: '4' } }]);
  assert.deepEqual(
    applyLimitRanges(pod([{ name: 'a', resources: { requests: { cpu: '50m' }, limits: { cpu: '150m', memory: '64Mi' } } }]), [lr]),
    ['minimum cpu usage per Container is 100m, but request is 50m'],
    'a request under min',
  );
  assert.deepEqual(
    applyLimitRanges(pod([{ name: 'a', resources: { requests: { cpu: '200m' }, limits: { cpu: '2', memory: '2Gi' } } }]), [lr]),
    ['maximum cpu usage per Container is 1, but limit is 2', 'maximum memory usage per Container is 1Gi, but limit is 2Gi', 'cpu max limit to request ratio per Container is 4, but provided ratio is 10.000000'],
    'limits over max and a ratio over 4',
  );
  assert.deepEqual(
    applyLimitRanges(pod([{ name: 'a', resources: { requests: { cpu: '200m' } } }]), [limits([{ type: 'Container', max: { memory: '1Gi' } }])]),
    ['maximum memory usage per Container is 1Gi.  No limit is specified'],
    'max without a default: no limit is a violation (the API defaults default from max, so this only happens with a stored range lacking it)',
  );
  assert.deepEqual(applyLimitRanges(pod([{ name: 'a', resources: { requests: { cpu: '250m' }, limits: { cpu: '500m', memory: '64Mi' } } }]), [lr]), [], 'within bounds');
});

test('LimitRange type Pod bounds the pod\'s totals: the containers\' sum, or the largest init container when bigger', opts, () => {
  const lr = limits([{ type: 'Pod', min: { cpu: '200m' }, max: { cpu: '1', memory: '1Gi' } }]);
  const c = (name: string, cpu: string, memory = '256Mi') => ({ name, resources: { requests: { cpu, memory }, limits: { cpu, memory } } });
  assert.deepEqual(applyLimitRanges(pod([c('a', '300m'), c('b', '500m')]), [lr]), [], '800m and 512Mi in total fit');
  assert.deepEqual(
    applyLimitRanges(pod([c('a', '600m', '600Mi'), c('b', '600m', '600Mi')]), [lr]),
    ['maximum cpu usage per Pod is 1, but limit is 1200m', 'maximum cpu usage per Pod is 1, but request is 1200m', 'maximum memory usage per Pod is 1Gi, but limit is 1200Mi', 'maximum memory usage per Pod is 1Gi, but request is 1200Mi'],
    'two containers that each fit a Container bound exceed the Pod bound together',
  );
  assert.deepEqual(
    applyLimitRanges(pod([c('a', '100m')], [c('init', '2')]), [lr]),
    ['maximum cpu usage per Pod is 1, but limit is 2', 'maximum cpu usage per Pod is 1, but request is 2'],
    'an init container bigger than the app containers sets the total',
  );
  assert.deepEqual(applyLimitRanges(pod([c('a', '100m')]), [lr]), ['minimum cpu usage per Pod is 200m, but request is 100m', 'minimum cpu usage per Pod is 200m, but limit is 100m'], 'under the minimum');
  assert.deepEqual(applyLimitRanges(pod([{ name: 'a' }]), [limits([{ type: 'Pod', max: { cpu: '1' } }])]), ['maximum cpu usage per Pod is 1.  No limit is specified'], 'no container states a limit');
});

test('DefaultTolerationSeconds adds the two NoExecute tolerations unless the pod has them', opts, async () => {
  const plugin = defaultTolerationSeconds({ notReadySeconds: 7, unreachableSeconds: 9 });
  const req = (tolerations?: Pod['spec']['tolerations']): AdmissionRequest => ({
    operation: 'CREATE',
    info: resourceByKind('Pod')!,
    namespace: 'default',
    name: 'x',
    object: { ...pod([{ name: 'a' }]), spec: { containers: [{ name: 'a' }], ...(tolerations ? { tolerations } : {}) } },
    user: { name: 'admin', groups: [] },
  });
  const plain = req();
  await plugin.admit(plain);
  assert.deepEqual(
    (plain.object as Pod).spec.tolerations,
    [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 7 },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 9 },
    ],
    'both defaults with the configured seconds',
  );
  const own = req([{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 600 }]);
  await plugin.admit(own);
  assert.deepEqual(
    (own.object as Pod).spec.tolerations?.map((t) => `${t.key}=${t.tolerationSeconds}`),
    ['node.kubernetes.io/unreachable=600', 'node.kubernetes.io/not-ready=7'],
    "the pod's own unreachable toleration is kept and not doubled",
  );
  const all = req([{ operator: 'Exists' }]);
  await plugin.admit(all);
  assert.equal((all.object as Pod).spec.tolerations?.length, 1, 'a toleration of everything needs no defaults');
  const update = { ...req(), operation: 'UPDATE' as const };
  await plugin.admit(update);
  assert.equal((update.object as Pod).spec.tolerations, undefined, 'updates are left alone');
});

test('quota scopes and scope selectors: BestEffort, NotBestEffort, Terminating, NotTerminating and PriorityClass pick pods; scoped quotas track pods only', opts, () => {
  const plain = pod([{ name: 'a' }]);
  const sized = pod([{ name: 'a', resources: { requests: { cpu: '1' } } }]);
  const deadline: Pod = { ...plain, spec: { ...plain.spec, activeDeadlineSeconds: 60 } };
  assert.ok(matchesScopes('pods', plain, { scopes: ['BestEffort'] }), 'no requests or limits is BestEffort');
  assert.ok(!matchesScopes('pods', sized, { scopes: ['BestEffort'] }), 'a cpu request is not BestEffort');
  assert.ok(matchesScopes('pods', sized, { scopes: ['NotBestEffort', 'NotTerminating'] }), 'scopes are ANDed');
  assert.ok(matchesScopes('pods', deadline, { scopes: ['Terminating', 'BestEffort'] }), 'activeDeadlineSeconds makes a pod Terminating');
  assert.ok(!matchesScopes('pods', deadline, { scopes: ['NotTerminating'] }), 'and not NotTerminating');
  assert.ok(matchesScopes('deployments', plain, { scopes: [] }), 'an unscoped quota tracks everything');
  assert.ok(!matchesScopes('deployments', plain, { scopes: ['BestEffort'] }), 'a scoped quota tracks pods only');

  const selector = (...matchExpressions: ScopedResourceSelectorRequirement[]) => ({ scopeSelector: { matchExpressions } });
  const high: Pod = { ...sized, spec: { ...sized.spec, priorityClassName: 'high' } as Pod['spec'] };
  assert.ok(matchesScopes('pods', high, selector({ scopeName: 'PriorityClass', operator: 'In', values: ['high', 'urgent'] })), 'PriorityClass In matches the pod\'s class');
  assert.ok(!matchesScopes('pods', sized, selector({ scopeName: 'PriorityClass', operator: 'In', values: ['high'] })), 'a pod without a class is not In');
  assert.ok(matchesScopes('pods', sized, selector({ scopeName: 'PriorityClass', operator: 'NotIn', values: ['high'] })), 'and is NotIn');
  assert.ok(matchesScopes('pods', high, selector({ scopeName: 'PriorityClass', operator: 'Exists' })), 'Exists: any class');
  assert.ok(matchesScopes('pods', sized, selector({ scopeName: 'PriorityClass', operator: 'DoesNotExist' })), 'DoesNotExist: no class');
  assert.ok(matchesScopes('pods', plain, selector({ scopeName: 'BestEffort', operator: 'Exists' })), 'a selector scope with Exists is the plain scope');
  assert.ok(!matchesScopes('pods', high, { scopes: ['BestEffort'], ...selector({ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }) }), 'scopes and selector are ANDed');
  assert.ok(!matchesScopes('deployments', plain, selector({ scopeName: 'PriorityClass', operator: 'DoesNotExist' })), 'a selector-scoped quota tracks pods only');
});
