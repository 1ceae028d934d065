import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LimitRange, Namespace, ResourceQuota } from '../../../src/api/types.js';
import { describeObject } from '../../../src/cli/describe/index.js';
import { describeNamespace } from '../../../src/cli/describe/node.js';
import { describeLimitRange, describeResourceQuota } from '../../../src/cli/describe/quota.js';
import { DescribeWriter } from '../../../src/cli/printers/describe-writer.js';
import type { RestClient } from '../../../src/cli/rest-client.js';

const quota: ResourceQuota = {
  apiVersion: 'v1',
  kind: 'ResourceQuota',
  metadata: { name: 'compute', namespace: 'default' },
  spec: { hard: { pods: '10', 'limits.cpu': '2' } },
  status: { hard: { pods: '10', 'limits.cpu': '2' }, used: { pods: '1', 'limits.cpu': '0' } },
};

const limits: LimitRange = {
  apiVersion: 'v1',
  kind: 'LimitRange',
  metadata: { name: 'limits', namespace: 'default' },
  spec: { limits: [{ type: 'Container', default: { cpu: '200m' }, defaultRequest: { cpu: '100m' } }] },
};

test('describe resourcequota prints Used and Hard per resource, sorted, as kubectl does', { timeout: 5_000 }, () => {
  const w = new DescribeWriter();
  describeResourceQuota(w, quota);
  assert.equal(
    w.toString(),
    ['Name:       compute', 'Namespace:  default', 'Resource    Used  Hard', '--------    ----  ----', 'limits.cpu  0     2', 'pods        1     10', ''].join('\n'),
    'the quota layout should match kubectl describe quota',
  );
});

test('describe resourcequota falls back to spec.hard before the quota is counted, and explains its scopes', { timeout: 5_000 }, () => {
  const w = new DescribeWriter();
  describeResourceQuota(w, { ...quota, spec: { hard: { pods: '2' }, scopes: ['NotBestEffort', 'BestEffort'] }, status: undefined });
  const text = w.toString();
  assert.match(text, /\nScopes:     BestEffort, NotBestEffort\n \* Matches all pod that do not have resource requirements set\./, 'scopes should be listed sorted, each with kubectl help text');
  // The help lines have no tabs, so the table below aligns on its own, as with Go's tabwriter.
  assert.match(text, /\nResource  Used  Hard\n--------  ----  ----\npods      0     2\n$/, 'an uncounted quota should show 0 used against spec.hard');
});

test('describe limitrange prints one row per resource with - for unset values, as kubectl does', { timeout: 5_000 }, () => {
  const w = new DescribeWriter();
  describeLimitRange(w, {
    ...limits,
    spec: { limits: [...limits.spec.limits, { type: 'Container', max: { memory: '1Gi' }, min: { memory: '4Mi' }, maxLimitRequestRatio: { memory: '2' } }] },
  });
  assert.equal(
    w.toString(),
    [
      'Name:       limits',
      'Namespace:  default',
      'Type        Resource  Min  Max  Default Request  Default Limit  Max Limit/Request Ratio',
      '----        --------  ---  ---  ---------------  -------------  -----------------------',
      'Container   cpu       -    -    100m             200m           -',
      'Container   memory    4Mi  1Gi  -                -              2',
      '',
    ].join('\n'),
    'the limit range layout should match kubectl describe limitrange',
  );
});

test('describe of a quota or limit range has no Events section, as in kubectl', { timeout: 5_000 }, async () => {
  const client = {} as RestClient;
  const q = await describeObject(client, quota, { showEvents: true });
  assert.doesNotMatch(q, /Events:/, 'quota describe should not list events');
  assert.match(q, /^Name:       compute\n/, 'quota describe should go through the quota describer');
  const l = await describeObject(client, limits, { showEvents: true });
  assert.doesNotMatch(l, /Events:/, 'limit range describe should not list events');
  assert.match(l, /\nContainer   cpu       -    -    100m             200m           -\n$/, 'limit range describe should go through the limit range describer');
});

test('describe namespace keeps its own quota and limit sections', { timeout: 5_000 }, () => {
  const ns: Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' }, status: { phase: 'Active' } };
  const w = new DescribeWriter();
  describeNamespace(w, ns, [quota], [limits]);
  const text = w.toString();
  assert.match(text, /\nResource Quotas\n  Name:       compute\n  Resource    Used  Hard\n  --------    ---   ---\n  limits\.cpu  0     2\n/, 'namespace describe should nest the quota with three-dash rules');
  assert.match(text, /\nResource Limits\n  Type       Resource  Min  Max  Default Request  Default Limit  Max Limit\/Request Ratio\n/, 'namespace describe should nest the limit range');
});
