// The manifests users bring: the good ones validate with no errors after defaulting, unchanged;
// each bad one reports all of its problems at once.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { applyDefaults } from '../../../src/api/defaults.js';
import { errors, formatFieldError } from '../../../src/api/errors.js';
import type { KObject } from '../../../src/api/types.js';
import { validateObject } from '../../../src/api/validation.js';

const opts = { timeout: 5_000 };
const dir = fileURLToPath(new URL('../../fixtures/manifests/', import.meta.url));

function load(file: string): KObject {
  const obj = parse(readFileSync(join(dir, file), 'utf8')) as KObject;
  applyDefaults(obj);
  return obj;
}

const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
const good = files.filter((f) => !f.startsWith('bad-'));
const bad = files.filter((f) => f.startsWith('bad-'));

describe('good manifests', () => {
  test('the required fixtures exist', opts, () => {
    for (const f of [
      'pod-resources.yaml',
      'pod-init-containers.yaml',
      'pod-liveness-exec.yaml',
      'deployment-nginx.yaml',
      'replicaset-match-expressions.yaml',
      'replicationcontroller.yaml',
      'namespace.yaml',
    ]) {
      assert.ok(good.includes(f), `${f} is missing`);
    }
  });

  for (const f of good) {
    test(`${f} validates with no errors`, opts, () => {
      const errs = validateObject(load(f));
      assert.deepEqual(errs.map(formatFieldError), []);
    });

    test(`${f} validates as an update of itself`, opts, () => {
      const obj = load(f);
      assert.deepEqual(validateObject(obj, structuredClone(obj)).map(formatFieldError), []);
    });
  }

  test('containers that must run use the local busybox image', opts, () => {
    for (const f of good) {
      const text = readFileSync(join(dir, f), 'utf8');
      for (const m of text.matchAll(/image:\s*(\S+)/g)) assert.equal(m[1], 'docker.io/library/busybox:1.36', f);
    }
  });

  test('the liveness fixture is the classic exec probe', opts, () => {
    const pod = load('pod-liveness-exec.yaml') as KObject & { spec: { containers: { args: string[]; livenessProbe: Record<string, unknown> }[] } };
    const c = pod.spec.containers[0];
    assert.equal(c.args[2], 'touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600');
    assert.deepEqual(c.livenessProbe, {
      exec: { command: ['cat', '/tmp/healthy'] },
      initialDelaySeconds: 5,
      periodSeconds: 5,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });
});

/** For each bad manifest, every field path it must report, in order. */
const expected: Record<string, string[]> = {
  'bad-pod.yaml': [
    'metadata.name',
    'metadata.labels[version]',
    'metadata.labels',
    'spec.volumes[0].emptyDir',
    'spec.volumes[1].name',
    'spec.containers[0].image',
    'spec.containers[0].ports[0].name',
    'spec.containers[0].ports[0].containerPort',
    'spec.containers[0].resources.limits[memory]',
    'spec.containers[0].resources.requests',
    'spec.containers[0].volumeMounts[0].name',
    'spec.containers[0].livenessProbe',
    'spec.containers[1].name',
    'spec.containers[1].livenessProbe.successThreshold',
    'spec.containers[1].readinessProbe.httpGet',
    'spec.restartPolicy',
    'spec.terminationGracePeriodSeconds',
    'spec.tolerations[0].operator',
    'spec.tolerations[0].effect',
  ],
  'bad-deployment.yaml': [
    'spec.replicas',
    'spec.template.spec.containers[0].env[0].name',
    'spec.template.spec.restartPolicy',
    'spec.template.metadata.labels',
    'spec.strategy.rollingUpdate.maxUnavailable',
  ],
  'bad-replicaset.yaml': [
    'apiVersion',
    'metadata.namespace',
    'spec.replicas',
    'spec.selector.matchExpressions[0].values',
    'spec.selector.matchExpressions[1].values',
    'spec.template.spec.containers',
  ],
  'bad-cronjob.yaml': [
    'spec.schedule',
    'spec.concurrencyPolicy',
    'spec.startingDeadlineSeconds',
    'spec.jobTemplate.spec.backoffLimit',
    'spec.jobTemplate.spec.template.spec.restartPolicy',
  ],
  'bad-resourcequota.yaml': [
    'spec.hard[pods]',
    'spec.hard[cpu]',
    'spec.hard[memory]',
    'spec.hard[widgets]',
    'spec.scopes[0]',
    'spec.scopeSelector.matchExpressions[0].values',
    'spec.scopeSelector.matchExpressions[1].operator',
    'spec.scopeSelector.matchExpressions[2].values',
    'spec.scopeSelector.matchExpressions[3].scopeName',
    'spec.scopeSelector.matchExpressions[3].operator',
  ],
  'bad-limitrange.yaml': [
    'spec.limits[0].min[memory]',
    'spec.limits[0].defaultRequest[memory]',
    'spec.limits[0].default[memory]',
    'spec.limits[1].default',
    'spec.limits[2].type',
  ],
};

describe('bad manifests', () => {
  test('every bad fixture has its expectations', opts, () => {
    assert.deepEqual(bad.sort(), Object.keys(expected).sort());
  });

  for (const f of bad) {
    test(`${f} reports all its errors at once`, opts, () => {
      const errs = validateObject(load(f));
      assert.deepEqual(
        errs.map((e) => e.field),
        expected[f],
        errs.map(formatFieldError).join('\n'),
      );
    });
  }

  test('bad-pod messages read as Kubernetes writes them', opts, () => {
    const msgs = validateObject(load('bad-pod.yaml')).map(formatFieldError);
    for (const want of [
      'spec.containers[0].image: Required value',
      'spec.containers[0].livenessProbe: Required value: must specify a handler type',
      'spec.containers[1].readinessProbe.httpGet: Forbidden: may not specify more than 1 handler type',
      'spec.containers[1].livenessProbe.successThreshold: Invalid value: 2: must be 1',
      'spec.containers[0].volumeMounts[0].name: Not found: "missing"',
      'spec.containers[1].name: Duplicate value: "web"',
      'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
      'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
      'spec.tolerations[0].operator: Invalid value: "gpu": value must be empty when `operator` is \'Exists\'',
      'metadata.labels[version]: Invalid value: 1: must be a string; quote it in YAML: version: "1"',
    ]) {
      assert.ok(msgs.includes(want), `missing ${want}\nin:\n${msgs.join('\n')}`);
    }
  });

  test('bad-deployment messages read as Kubernetes writes them', opts, () => {
    const obj = load('bad-deployment.yaml');
    const errs = validateObject(obj);
    const msgs = errs.map(formatFieldError);
    assert.ok(msgs.includes('spec.replicas: Invalid value: "three": must be an integer'));
    assert.ok(msgs.includes('spec.template.metadata.labels: Invalid value: map[string]string{"app":"api"}: `selector` does not match template `labels`'));
    assert.ok(msgs.includes('spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0'));
    const status = errors.invalid('Deployment.apps', 'web', errs).toStatus();
    assert.equal(status.code, 422);
    assert.equal(status.details?.causes?.length, 5);
    assert.match(status.message, /^Deployment\.apps "web" is invalid: \[spec\.replicas: Invalid value: "three": must be an integer, /);
  });
});
