import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyDefaults } from '../../../src/api/defaults.js';
import type { KObject } from '../../../src/api/types.js';

const opts = { timeout: 5_000 };

/** Applies defaults to a copy and returns it, loosely typed for easy reading of nested fields. */
function defaulted(obj: unknown): any {
  const copy = structuredClone(obj) as KObject;
  applyDefaults(copy);
  return copy;
}

const pod = (spec: unknown) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec });
const template = (spec: unknown, labels: Record<string, string> = { app: 'web' }) => ({ metadata: { labels }, spec });
const busybox = { name: 'c', image: 'docker.io/library/busybox:1.36' };

describe('Pod defaults', () => {
  test('pod spec fields', opts, () => {
    const p = defaulted(pod({ containers: [busybox] }));
    assert.equal(p.spec.restartPolicy, 'Always');
    assert.equal(p.spec.terminationGracePeriodSeconds, 30);
    assert.equal(p.spec.dnsPolicy, 'ClusterFirst');
    assert.equal(p.spec.schedulerName, 'default-scheduler');
    assert.equal(p.spec.enableServiceLinks, true);
    assert.deepEqual(p.spec.securityContext, {});
    assert.equal(p.status, undefined, 'status belongs to the server');
  });

  test('given values are kept', opts, () => {
    const p = defaulted(pod({ containers: [{ ...busybox, imagePullPolicy: 'Never' }], restartPolicy: 'Never', terminationGracePeriodSeconds: 0, dnsPolicy: 'Default' }));
    assert.equal(p.spec.restartPolicy, 'Never');
    assert.equal(p.spec.terminationGracePeriodSeconds, 0);
    assert.equal(p.spec.dnsPolicy, 'Default');
    assert.equal(p.spec.containers[0].imagePullPolicy, 'Never');
  });

  const pullCases: [string, string][] = [
    ['busybox', 'Always'],
    ['busybox:latest', 'Always'],
    ['docker.io/library/busybox:1.36', 'IfNotPresent'],
    ['localhost:5000/app', 'Always'],
    ['localhost:5000/app:v2', 'IfNotPresent'],
    ['busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', 'IfNotPresent'],
    ['busybox:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', 'IfNotPresent'],
  ];
  for (const [image, policy] of pullCases) {
    test(`imagePullPolicy of ${image} is ${policy}`, opts, () => {
      assert.equal(defaulted(pod({ containers: [{ name: 'c', image }] })).spec.containers[0].imagePullPolicy, policy);
    });
  }

  test('containers, init containers, ports, env', opts, () => {
    const p = defaulted(
      pod({
        initContainers: [{ ...busybox, name: 'init' }],
        containers: [{ ...busybox, ports: [{ containerPort: 80 }, { containerPort: 53, protocol: 'UDP' }], env: [{ name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }],
      }),
    );
    for (const c of [p.spec.initContainers[0], p.spec.containers[0]]) {
      assert.equal(c.terminationMessagePath, '/dev/termination-log');
      assert.equal(c.terminationMessagePolicy, 'File');
      assert.equal(c.imagePullPolicy, 'IfNotPresent');
    }
    assert.equal(p.spec.containers[0].ports[0].protocol, 'TCP');
    assert.equal(p.spec.containers[0].ports[1].protocol, 'UDP');
    assert.equal(p.spec.containers[0].ports[0].hostPort, undefined);
    assert.equal(p.spec.containers[0].env[0].valueFrom.fieldRef.apiVersion, 'v1');
  });

  test('probes', opts, () => {
    const p = defaulted(
      pod({
        containers: [
          {
            ...busybox,
            livenessProbe: { httpGet: { port: 8080 } },
            readinessProbe: { exec: { command: ['true'] }, periodSeconds: 5, timeoutSeconds: 0 },
            startupProbe: { tcpSocket: { port: 8080 }, failureThreshold: 30 },
          },
        ],
      }),
    );
    const c = p.spec.containers[0];
    assert.deepEqual(c.livenessProbe, { httpGet: { port: 8080, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    assert.deepEqual(c.readinessProbe, { exec: { command: ['true'] }, timeoutSeconds: 1, periodSeconds: 5, successThreshold: 1, failureThreshold: 3 });
    assert.equal(c.startupProbe.failureThreshold, 30);
    assert.equal(c.startupProbe.initialDelaySeconds, undefined);
  });

  test('volumes: emptyDir stays, hostPath gets type "", a volume without a source becomes emptyDir', opts, () => {
    const p = defaulted(
      pod({
        containers: [busybox],
        volumes: [{ name: 'a', emptyDir: {} }, { name: 'b', hostPath: { path: '/var/log' } }, { name: 'c' }, { name: 'd', configMap: { name: 'cm' } }],
      }),
    );
    assert.deepEqual(p.spec.volumes, [
      { name: 'a', emptyDir: {} },
      { name: 'b', hostPath: { path: '/var/log', type: '' } },
      { name: 'c', emptyDir: {} },
      { name: 'd', configMap: { name: 'cm', defaultMode: 0o644 } },
    ]);
  });

  test('a limit without a request sets the request, in pods only', opts, () => {
    const c = { ...busybox, resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '100m' } } };
    const p = defaulted(pod({ containers: [c] }));
    assert.deepEqual(p.spec.containers[0].resources.requests, { cpu: '100m', memory: '128Mi' });
    const d = defaulted({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { template: template({ containers: [c] }) } });
    assert.deepEqual(d.spec.template.spec.containers[0].resources.requests, { cpu: '100m' });
    const noRequests = defaulted(pod({ containers: [{ ...busybox, resources: { limits: { cpu: '1', memory: 'lots' } } }] }));
    assert.deepEqual(noRequests.spec.containers[0].resources.requests, { cpu: '1' }, 'a malformed limit is not copied');
  });

  test('hostNetwork pods use the container port as host port', opts, () => {
    const p = defaulted(pod({ hostNetwork: true, containers: [{ ...busybox, ports: [{ containerPort: 9100 }] }] }));
    assert.equal(p.spec.containers[0].ports[0].hostPort, 9100);
  });

  test('applying twice changes nothing more', opts, () => {
    const once = defaulted(pod({ containers: [{ ...busybox, livenessProbe: { httpGet: { port: 80 } }, resources: { limits: { cpu: '1' } } }] }));
    assert.deepEqual(defaulted(once), once);
  });
});

describe('workload defaults', () => {
  test('Deployment', opts, () => {
    const d = defaulted({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { selector: { matchLabels: { app: 'web' } }, template: template({ containers: [busybox] }) } });
    assert.equal(d.spec.replicas, 1);
    assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
    assert.equal(d.spec.revisionHistoryLimit, 10);
    assert.equal(d.spec.progressDeadlineSeconds, 600);
    assert.equal(d.spec.template.spec.restartPolicy, 'Always');
    assert.equal(d.spec.template.spec.containers[0].terminationMessagePath, '/dev/termination-log');
    assert.equal(d.spec.template.spec.enableServiceLinks, undefined, 'pod-only default');
  });

  test('Deployment keeps Recreate without rollingUpdate, and partial rollingUpdate is completed', opts, () => {
    const recreate = defaulted({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 0, strategy: { type: 'Recreate' } } });
    assert.deepEqual(recreate.spec.strategy, { type: 'Recreate' });
    assert.equal(recreate.spec.replicas, 0);
    const partial = defaulted({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { strategy: { rollingUpdate: { maxSurge: 1 } } } });
    assert.deepEqual(partial.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } });
  });

  test('ReplicaSet', opts, () => {
    const rs = defaulted({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'r' }, spec: { template: template({ containers: [busybox] }) } });
    assert.equal(rs.spec.replicas, 1);
    assert.equal(rs.spec.template.spec.dnsPolicy, 'ClusterFirst');
  });

  test('ReplicationController takes selector and labels from the template', opts, () => {
    const rc = defaulted({ apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc' }, spec: { template: template({ containers: [busybox] }, { app: 'nginx' }) } });
    assert.equal(rc.spec.replicas, 1);
    assert.deepEqual(rc.spec.selector, { app: 'nginx' });
    assert.deepEqual(rc.metadata.labels, { app: 'nginx' });
    const given = defaulted({
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'rc', labels: { own: 'x' } },
      spec: { selector: { app: 'nginx' }, template: template({ containers: [busybox] }, { app: 'nginx', v: '2' }) },
    });
    assert.deepEqual(given.spec.selector, { app: 'nginx' });
    assert.deepEqual(given.metadata.labels, { own: 'x' });
  });

  test('DaemonSet', opts, () => {
    const ds = defaulted({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ds' }, spec: { template: template({ containers: [busybox] }) } });
    assert.deepEqual(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    assert.equal(ds.spec.revisionHistoryLimit, 10);
    const onDelete = defaulted({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ds' }, spec: { updateStrategy: { type: 'OnDelete' } } });
    assert.deepEqual(onDelete.spec.updateStrategy, { type: 'OnDelete' });
  });

  test('Job', opts, () => {
    const job = defaulted({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: template({ containers: [busybox] }, { job: 'j' }) } });
    assert.equal(job.spec.completions, 1);
    assert.equal(job.spec.parallelism, 1);
    assert.equal(job.spec.backoffLimit, 6);
    assert.equal(job.spec.completionMode, 'NonIndexed');
    assert.equal(job.spec.suspend, false);
    assert.equal(job.spec.template.spec.restartPolicy, undefined, 'Jobs must choose OnFailure or Never themselves');
    assert.equal(job.spec.template.spec.terminationGracePeriodSeconds, 30);
    assert.deepEqual(job.metadata.labels, { job: 'j' });
  });

  test('a work-queue Job (parallelism only) keeps completions unset', opts, () => {
    const job = defaulted({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { parallelism: 4, template: template({ containers: [busybox], restartPolicy: 'Never' }) } });
    assert.equal(job.spec.parallelism, 4);
    assert.equal(job.spec.completions, undefined);
    assert.equal(job.spec.template.spec.restartPolicy, 'Never');
    const fixed = defaulted({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { completions: 5 } });
    assert.equal(fixed.spec.parallelism, 1);
    assert.equal(fixed.spec.completions, 5);
  });

  test('CronJob', opts, () => {
    const cj = defaulted({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { containers: [busybox], restartPolicy: 'OnFailure' } } } } },
    });
    assert.equal(cj.spec.concurrencyPolicy, 'Allow');
    assert.equal(cj.spec.suspend, false);
    assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
    assert.equal(cj.spec.failedJobsHistoryLimit, 1);
    assert.equal(cj.spec.jobTemplate.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent');
    assert.equal(cj.spec.jobTemplate.spec.template.spec.restartPolicy, 'OnFailure');
  });
});

describe('cluster object defaults', () => {
  test('Namespace is Active and labelled with its name', opts, () => {
    const ns = defaulted({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dev', labels: { team: 'a' } } });
    assert.deepEqual(ns.status, { phase: 'Active' });
    assert.deepEqual(ns.metadata.labels, { team: 'a', 'kubernetes.io/metadata.name': 'dev' });
    const terminating = defaulted({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' }, status: { phase: 'Terminating' } });
    assert.equal(terminating.status.phase, 'Terminating');
  });

  test('Node allocatable defaults to capacity', opts, () => {
    const node = defaulted({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'pi' }, status: { capacity: { cpu: '4', memory: '8Gi' } } });
    assert.deepEqual(node.status.allocatable, { cpu: '4', memory: '8Gi' });
  });

  test('LimitRange container defaults come from max, then default, then min', opts, () => {
    const lr = defaulted({
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: { name: 'l' },
      spec: { limits: [{ type: 'Container', max: { cpu: '1' }, min: { memory: '64Mi' } }, { type: 'Pod', max: { cpu: '2' } }] },
    });
    assert.deepEqual(lr.spec.limits[0].default, { cpu: '1' });
    assert.deepEqual(lr.spec.limits[0].defaultRequest, { cpu: '1', memory: '64Mi' });
    assert.equal(lr.spec.limits[1].default, undefined);
  });
});

describe('malformed input', () => {
  const junk: unknown[] = [
    null,
    undefined,
    42,
    'pod',
    [],
    { kind: 'Pod' },
    { kind: 'Pod', spec: 'x' },
    { kind: 'Pod', spec: { containers: 'x', volumes: 7, initContainers: [null, 3, 'c'] } },
    { kind: 'Pod', spec: { hostNetwork: true, containers: [{ ports: 'x', env: [null, { valueFrom: 'x' }], livenessProbe: 'x', resources: { limits: 'x' } }] } },
    { kind: 'Pod', spec: { containers: [{ image: 5, ports: [null, { containerPort: 'x' }], readinessProbe: { httpGet: 'x' } }] } },
    { kind: 'Deployment', spec: { strategy: 'x', template: 'x' } },
    { kind: 'Deployment', spec: { strategy: { type: 'RollingUpdate', rollingUpdate: 'x' } } },
    { kind: 'DaemonSet', spec: { updateStrategy: [] } },
    { kind: 'ReplicationController', metadata: 'x', spec: { template: { metadata: { labels: 'x' } } } },
    { kind: 'ReplicationController', metadata: null, spec: { template: { metadata: { labels: { a: 'b' } } } } },
    { kind: 'Job', metadata: 5, spec: { template: { metadata: { labels: { a: 'b' } }, spec: null } } },
    { kind: 'CronJob', spec: { jobTemplate: 'x' } },
    { kind: 'Namespace', metadata: { name: 5 }, status: 'x' },
    { kind: 'Node', status: { capacity: 'x' } },
    { kind: 'LimitRange', spec: { limits: [null, { type: 'Container', max: 'x', default: [] }] } },
  ];
  for (const input of junk) {
    test(`does not throw on ${JSON.stringify(input)}`, opts, () => {
      assert.doesNotThrow(() => applyDefaults(input as KObject));
    });
  }
});
