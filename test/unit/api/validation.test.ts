import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyDefaults } from '../../../src/api/defaults.js';
import { formatFieldError, type FieldError } from '../../../src/api/errors.js';
import type { KObject } from '../../../src/api/types.js';
import { cronScheduleProblem, validateObject } from '../../../src/api/validation.js';

const opts = { timeout: 5_000 };

/** Test objects are built loosely, as users write them. */
type Loose = Record<string, any>;

const busybox = () => ({ name: 'app', image: 'docker.io/library/busybox:1.36' });
const pod = (spec: Loose = {}, metadata: Loose = { name: 'web' }): Loose => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata,
  spec: { containers: [busybox()], ...spec },
});
const template = (spec: Loose = {}, labels: Loose = { app: 'web' }) => ({ metadata: { labels }, spec: { containers: [busybox()], ...spec } });
const deployment = (spec: Loose = {}): Loose => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: template(), ...spec },
});
const job = (spec: Loose = {}): Loose => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'once' },
  spec: { template: template({ restartPolicy: 'Never' }), ...spec },
});
const cronJob = (spec: Loose = {}, name = 'nightly'): Loose => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name },
  spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: template({ restartPolicy: 'OnFailure' }) } }, ...spec },
});

/** Defaults then validates, as the API server does. */
function check(obj: Loose, old?: Loose): FieldError[] {
  const o = structuredClone(obj) as KObject;
  applyDefaults(o);
  let stored: KObject | undefined;
  if (old) {
    stored = structuredClone(old) as KObject;
    applyDefaults(stored);
  }
  return validateObject(o, stored);
}

const messages = (obj: Loose, old?: Loose) => check(obj, old).map(formatFieldError);
const fields = (obj: Loose, old?: Loose) => check(obj, old).map((e) => e.field);

function assertHas(obj: Loose, want: string, old?: Loose): void {
  const msgs = messages(obj, old);
  assert.ok(msgs.includes(want), `expected:\n  ${want}\ngot:\n  ${msgs.join('\n  ')}`);
}

function assertValid(obj: Loose, old?: Loose): void {
  assert.deepEqual(messages(obj, old), []);
}

describe('kind and apiVersion', () => {
  test('missing apiVersion and kind', opts, () => {
    assert.deepEqual(messages({ metadata: { name: 'x' } }), ['apiVersion: Required value', 'kind: Required value']);
  });

  test('unknown kind lists the known ones', opts, () => {
    const [msg] = messages({ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'x' } });
    assert.match(msg, /^kind: Unsupported value: "Widget": supported values: "Namespace", "Node", "Pod"/);
  });

  test('a kind in the wrong version says which version to use', opts, () => {
    assertHas({ ...deployment(), apiVersion: 'extensions/v1beta1' }, 'apiVersion: Invalid value: "extensions/v1beta1": no matches for kind "Deployment" in version "extensions/v1beta1"; use apiVersion: apps/v1');
  });

  test('wrong types at the top never throw', opts, () => {
    for (const junk of [null, undefined, 5, 'pod', [], { kind: 5 }, { kind: 'Pod', apiVersion: 1 }]) {
      const errs = validateObject(junk as unknown as KObject);
      assert.ok(Array.isArray(errs) && errs.length > 0, JSON.stringify(junk));
    }
  });
});

describe('metadata', () => {
  test('name is required unless generateName is given', opts, () => {
    assertHas(pod({}, {}), 'metadata.name: Required value: name or generateName is required');
    assertHas(pod({}, { name: '' }), 'metadata.name: Required value: name or generateName is required');
    assertValid(pod({}, { generateName: 'web-' }));
    assert.deepEqual(fields(pod({}, { generateName: 'Web_' })), ['metadata.generateName']);
    assertHas({ apiVersion: 'v1', kind: 'Pod', spec: { containers: [busybox()] } }, 'metadata.name: Required value: name or generateName is required');
  });

  test('names are DNS subdomains, namespaces DNS labels', opts, () => {
    assertValid(pod({}, { name: 'web.v1-a' }));
    assert.deepEqual(fields(pod({}, { name: 'Web' })), ['metadata.name']);
    assert.deepEqual(fields(pod({}, { name: 'a'.repeat(254) })), ['metadata.name']);
    assertHas(pod({}, { name: 'a'.repeat(254) }), `metadata.name: Invalid value: "${'a'.repeat(254)}": must be no more than 253 characters`);
    assertValid({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    assert.deepEqual(fields({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team.a' } }), ['metadata.name']);
    assert.deepEqual(fields({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a'.repeat(64) } }), ['metadata.name']);
  });

  test('CronJob names leave room for the job suffix', opts, () => {
    assertValid(cronJob({}, 'a'.repeat(52)));
    assertHas(cronJob({}, 'a'.repeat(53)), `metadata.name: Invalid value: "${'a'.repeat(53)}": must be no more than 52 characters`);
  });

  test('namespace: a DNS label on namespaced kinds, forbidden on cluster-scoped ones', opts, () => {
    assertValid(pod({}, { name: 'web', namespace: 'default' }));
    assert.deepEqual(fields(pod({}, { name: 'web', namespace: 'Default' })), ['metadata.namespace']);
    assertHas({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', namespace: 'y' } }, 'metadata.namespace: Forbidden: not allowed on this type');
  });

  test('label keys and values', opts, () => {
    assertValid(pod({}, { name: 'web', labels: { 'app.kubernetes.io/name': 'web', tier: '', 'example.com/a_b': 'x.y-z' } }));
    const long = 'a'.repeat(64);
    assert.deepEqual(fields(pod({}, { name: 'web', labels: { [long]: 'x', a: long, '-a': 'x', 'a/b/c': 'x', '/a': 'x', 'Example.com/a': 'x', b: 'not ok' } })), Array(7).fill('metadata.labels'));
    assertHas(pod({}, { name: 'web', labels: { [long]: 'x' } }), `metadata.labels: Invalid value: "${long}": name part must be no more than 63 characters`);
    assertHas(pod({}, { name: 'web', labels: { '/a': 'x' } }), 'metadata.labels: Invalid value: "/a": prefix part must be non-empty');
  });

  test('label values must be strings', opts, () => {
    assertHas(pod({}, { name: 'web', labels: { canary: true } }), 'metadata.labels[canary]: Invalid value: true: must be a string; quote it in YAML: canary: "true"');
    assertHas(pod({}, { name: 'web', labels: 'app=web' }), 'metadata.labels: Invalid value: "app=web": must be an object');
  });

  test('annotations: keys are qualified names, values any string, 256 KiB in total', opts, () => {
    assertValid(pod({}, { name: 'web', annotations: { 'kubernetes.io/change-cause': 'anything at all: {"json": true}' } }));
    assert.deepEqual(fields(pod({}, { name: 'web', annotations: { 'a b': 'x' } })), ['metadata.annotations']);
    assertHas(pod({}, { name: 'web', annotations: { big: 'x'.repeat(300 * 1024) } }), 'metadata.annotations: Too long: may not be more than 262144 bytes');
  });

  test('ownerReferences and finalizers', opts, () => {
    assert.deepEqual(fields(pod({}, { name: 'web', ownerReferences: [{ kind: 'ReplicaSet' }] })), [
      'metadata.ownerReferences[0].apiVersion',
      'metadata.ownerReferences[0].name',
      'metadata.ownerReferences[0].uid',
    ]);
    const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'a', uid: 'u', controller: true };
    assert.deepEqual(fields(pod({}, { name: 'web', ownerReferences: [ref, { ...ref, name: 'b' }] })), ['metadata.ownerReferences']);
    assert.deepEqual(fields(pod({}, { name: 'web', finalizers: ['example.com/cleanup', 'bad finalizer'] })), ['metadata.finalizers[1]']);
  });
});

describe('pod spec', () => {
  test('containers are required and non-empty', opts, () => {
    assertHas({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }, 'spec.containers: Required value');
    assertHas(pod({ containers: [] }), 'spec.containers: Required value');
    assertHas(pod({ containers: 'busybox' }), 'spec.containers: Invalid value: "busybox": must be a list');
  });

  test('container names: required, DNS labels, unique across init and app containers', opts, () => {
    assertHas(pod({ containers: [{ image: 'busybox' }] }), 'spec.containers[0].name: Required value');
    assert.deepEqual(fields(pod({ containers: [{ name: 'App', image: 'busybox' }] })), ['spec.containers[0].name']);
    assertHas(pod({ initContainers: [busybox()] }), 'spec.containers[0].name: Duplicate value: "app"');
  });

  test('image is required and has no surrounding space', opts, () => {
    assertHas(pod({ containers: [{ name: 'a' }] }), 'spec.containers[0].image: Required value');
    assertHas(pod({ containers: [{ name: 'a', image: '' }] }), 'spec.containers[0].image: Required value');
    assertHas(pod({ containers: [{ name: 'a', image: ' busybox' }] }), 'spec.containers[0].image: Invalid value: " busybox": must not have leading or trailing whitespace');
  });

  test('command and args are lists of strings', opts, () => {
    assertHas(pod({ containers: [{ ...busybox(), command: 'sleep 10' }] }), 'spec.containers[0].command: Invalid value: "sleep 10": must be a list');
    assertHas(pod({ containers: [{ ...busybox(), args: ['sleep', 10] }] }), 'spec.containers[0].args[1]: Invalid value: 10: must be a string');
  });

  test('env', opts, () => {
    const env = [
      { name: 'GOOD', value: 'x' },
      { value: 'x' },
      { name: 'A=B' },
      { name: 'C', value: 'x', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'D', valueFrom: {} },
      { name: 'E', valueFrom: { fieldRef: { fieldPath: 'x' }, secretKeyRef: { name: 's', key: 'k' } } },
      { name: 'F', valueFrom: { configMapKeyRef: { name: 'cm' } } },
      { name: 'G', value: 5 },
    ];
    assert.deepEqual(fields(pod({ containers: [{ ...busybox(), env }] })), [
      'spec.containers[0].env[1].name',
      'spec.containers[0].env[2].name',
      'spec.containers[0].env[3].valueFrom',
      'spec.containers[0].env[4].valueFrom',
      'spec.containers[0].env[5].valueFrom',
      'spec.containers[0].env[6].valueFrom.configMapKeyRef.key',
      'spec.containers[0].env[7].value',
    ]);
    assertHas(pod({ containers: [{ ...busybox(), env: [env[3]] }] }), 'spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty');
  });

  test('ports', opts, () => {
    const ports = [
      { name: 'http', containerPort: 80 },
      { name: 'http', containerPort: 81 },
      { containerPort: 0 },
      { containerPort: 8080, hostPort: 70000 },
      { containerPort: 53, protocol: 'ICMP' },
      { name: 'HTTP', containerPort: 82 },
      { name: '8080', containerPort: 83 },
    ];
    assert.deepEqual(fields(pod({ containers: [{ ...busybox(), ports }] })), [
      'spec.containers[0].ports[1].name',
      'spec.containers[0].ports[2].containerPort',
      'spec.containers[0].ports[3].hostPort',
      'spec.containers[0].ports[4].protocol',
      'spec.containers[0].ports[5].name', // upper case letters, and so no letter a-z either
      'spec.containers[0].ports[5].name',
      'spec.containers[0].ports[6].name',
    ]);
    assertHas(pod({ containers: [{ ...busybox(), ports }] }), 'spec.containers[0].ports[6].name: Invalid value: "8080": must contain at least one letter (a-z)');
    assertHas(pod({ containers: [{ ...busybox(), ports }] }), 'spec.containers[0].ports[4].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"');
  });

  test('hostNetwork is a boolean and pins host ports to container ports', opts, () => {
    assertHas(pod({ hostNetwork: 'yes' }), 'spec.hostNetwork: Invalid value: "yes": must be a boolean (true or false)');
    assertValid(pod({ hostNetwork: true, containers: [{ ...busybox(), ports: [{ containerPort: 9100 }] }] }));
    assertHas(
      pod({ hostNetwork: true, containers: [{ ...busybox(), ports: [{ containerPort: 9100, hostPort: 9200 }] }] }),
      'spec.containers[0].ports[0].hostPort: Invalid value: 9200: must match `containerPort` when `hostNetwork` is true',
    );
  });

  test('resources: valid quantities, standard names, requests within limits', opts, () => {
    assertValid(pod({ containers: [{ ...busybox(), resources: { requests: { cpu: 0.5, memory: '64Mi' }, limits: { cpu: '500m', memory: '1Gi', 'example.com/gpu': 1 } } }] }));
    const resources = {
      requests: { cpu: '2', memory: '2Gi', gpu: '1', 'example.com/dongle': '1' },
      limits: { cpu: '1', memory: '-1Gi', 'example.com/fpga': '0.5' },
    };
    assert.deepEqual(fields(pod({ containers: [{ ...busybox(), resources }] })), [
      'spec.containers[0].resources.limits[memory]',
      'spec.containers[0].resources.limits[example.com/fpga]',
      'spec.containers[0].resources.requests[gpu]',
      'spec.containers[0].resources.requests[example.com/fpga]', // the request defaulted from the limit
      'spec.containers[0].resources.requests',
      'spec.containers[0].resources.limits[example.com/dongle]',
    ]);
    const msgs = messages(pod({ containers: [{ ...busybox(), resources }] }));
    assert.ok(msgs.includes('spec.containers[0].resources.limits[memory]: Invalid value: "-1Gi": must be greater than or equal to 0'));
    assert.ok(msgs.includes('spec.containers[0].resources.limits[example.com/fpga]: Invalid value: "0.5": must be an integer'));
    assert.ok(msgs.includes('spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1'));
    assert.ok(msgs.includes('spec.containers[0].resources.limits[example.com/dongle]: Required value: Limit must be set for non overcommitable resources'));
    assertHas(
      pod({ containers: [{ ...busybox(), resources: { requests: { 'example.com/gpu': '1' }, limits: { 'example.com/gpu': '2' } } }] }),
      'spec.containers[0].resources.requests: Invalid value: "1": must be equal to example.com/gpu limit of 2',
    );
    assertValid(pod({ containers: [{ ...busybox(), resources: { requests: { memory: '1Gi' }, limits: { memory: '1024Mi' } } }] }));
  });

  test('volumes: a name, exactly one source, unique names; mounts refer to them', opts, () => {
    const volumes = [
      { name: 'data', emptyDir: {} },
      { name: 'data', emptyDir: {} },
      { name: 'two', emptyDir: {}, hostPath: { path: '/x' } },
      { emptyDir: {} },
      { name: 'host', hostPath: { type: 'Pipe' } },
      { name: 'cm', configMap: { defaultMode: 0o1777, items: [{ key: 'a', path: '../etc' }] } },
      { name: 'Bad_Name', emptyDir: {} },
    ];
    const volumeMounts = [
      { name: 'data', mountPath: '/data' },
      { name: 'nope', mountPath: '/nope' },
      { name: 'data', mountPath: '/data' },
      { name: 'data', mountPath: '/sub', subPath: '/abs' },
      { name: 'data' },
    ];
    assert.deepEqual(fields(pod({ volumes, containers: [{ ...busybox(), volumeMounts }] })), [
      'spec.volumes[1].name',
      'spec.volumes[2].emptyDir',
      'spec.volumes[3].name',
      'spec.volumes[4].hostPath.path',
      'spec.volumes[4].hostPath.type',
      'spec.volumes[5].configMap.name',
      'spec.volumes[5].configMap.defaultMode',
      'spec.volumes[5].configMap.items[0].path',
      'spec.volumes[6].name',
      'spec.containers[0].volumeMounts[1].name',
      'spec.containers[0].volumeMounts[2].mountPath',
      'spec.containers[0].volumeMounts[3].subPath',
      'spec.containers[0].volumeMounts[4].mountPath',
    ]);
    assertHas(pod({ volumes: [{ name: 'two', emptyDir: {}, hostPath: { path: '/x' } }] }), 'spec.volumes[0].emptyDir: Forbidden: may not specify more than 1 volume type');
    assertHas(pod({ containers: [{ ...busybox(), volumeMounts: [{ name: 'nope', mountPath: '/x' }] }] }), 'spec.containers[0].volumeMounts[0].name: Not found: "nope"');
  });

  test('a volume with no source is an emptyDir after defaulting; without defaulting it is an error', opts, () => {
    assertValid(pod({ volumes: [{ name: 'scratch' }] }));
    const raw = pod({ volumes: [{ name: 'scratch' }] }) as KObject;
    assert.ok(validateObject(raw).map(formatFieldError).includes('spec.volumes[0]: Required value: must specify a volume type'));
  });

  test('restartPolicy, terminationGracePeriodSeconds, activeDeadlineSeconds, dnsPolicy', opts, () => {
    assert.deepEqual(fields(pod({ restartPolicy: 'Sometimes', terminationGracePeriodSeconds: -1, activeDeadlineSeconds: 0, dnsPolicy: 'Google' })), [
      'spec.restartPolicy',
      'spec.terminationGracePeriodSeconds',
      'spec.activeDeadlineSeconds',
      'spec.dnsPolicy',
    ]);
    assertHas(pod({ activeDeadlineSeconds: 0 }), 'spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive');
    assertValid(pod({ restartPolicy: 'OnFailure', terminationGracePeriodSeconds: 0, activeDeadlineSeconds: 60 }));
  });

  test('nodeSelector is a label map', opts, () => {
    assertValid(pod({ nodeSelector: { 'kubernetes.io/arch': 'arm64' } }));
    assert.deepEqual(fields(pod({ nodeSelector: { 'kubernetes.io/arch': 'arm 64' } })), ['spec.nodeSelector']);
  });

  test('tolerations', opts, () => {
    const tolerations = [
      { key: 'dedicated', operator: 'Equal', value: 'edge', effect: 'NoSchedule' },
      { operator: 'Exists' },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'a', operator: 'Exists', value: 'x' },
      { value: 'x' },
      { key: 'a', operator: 'Near' },
      { key: 'a', effect: 'Sometimes' },
      { key: 'a', effect: 'NoSchedule', tolerationSeconds: 5 },
      { key: 'bad key' },
    ];
    assert.deepEqual(fields(pod({ tolerations })), [
      'spec.tolerations[3].operator',
      'spec.tolerations[4].operator',
      'spec.tolerations[5].operator',
      'spec.tolerations[6].effect',
      'spec.tolerations[7].effect',
      'spec.tolerations[8].key',
    ]);
    const msgs = messages(pod({ tolerations }));
    assert.ok(msgs.includes('spec.tolerations[4].operator: Invalid value: "": operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    assert.ok(msgs.includes('spec.tolerations[5].operator: Unsupported value: "Near": supported values: "Equal", "Exists"'));
    assert.ok(msgs.includes('spec.tolerations[7].effect: Invalid value: "NoSchedule": effect must be \'NoExecute\' when `tolerationSeconds` is set'));
  });

  test('node affinity terms', opts, () => {
    const good = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/arch', operator: 'In', values: ['arm64', 'amd64'] }, { key: 'gpu', operator: 'Exists' }, { key: 'cores', operator: 'Gt', values: ['2'] }] }],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] } }],
      },
    };
    assertValid(pod({ affinity: good }));
    const bad = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: 'a', operator: 'In' },
                { key: 'b', operator: 'Exists', values: ['x'] },
                { key: 'c', operator: 'Gt', values: ['x'] },
                { key: 'd', operator: 'Lt', values: ['1', '2'] },
                { key: 'e', operator: 'Near', values: ['x'] },
              ],
              matchFields: [{ key: 'spec.nodeName', operator: 'In', values: ['n'] }],
            },
          ],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 0, preference: {} }],
      },
    };
    const base = 'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]';
    assert.deepEqual(fields(pod({ affinity: bad })), [
      `${base}.matchExpressions[0].values`,
      `${base}.matchExpressions[1].values`,
      `${base}.matchExpressions[2].values[0]`,
      `${base}.matchExpressions[3].values`,
      `${base}.matchExpressions[4].operator`,
      `${base}.matchFields[0].key`,
      'spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight',
    ]);
    assertHas(
      pod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } } }),
      'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: Required value: must have at least one node selector term',
    );
  });
});

describe('probes', () => {
  const withProbe = (kind: string, probe: Loose) => pod({ containers: [{ ...busybox(), [kind]: probe }] });

  test('each handler type alone is fine', opts, () => {
    for (const handler of [{ exec: { command: ['true'] } }, { httpGet: { port: 8080 } }, { httpGet: { port: 'http', path: '/healthz', scheme: 'HTTPS' } }, { tcpSocket: { port: 22 } }, { grpc: { port: 9000 } }]) {
      for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe']) assertValid(withProbe(kind, handler));
    }
  });

  test('no handler and more than one handler', opts, () => {
    assertHas(withProbe('livenessProbe', { initialDelaySeconds: 5 }), 'spec.containers[0].livenessProbe: Required value: must specify a handler type');
    assert.deepEqual(fields(withProbe('readinessProbe', { exec: { command: ['true'] }, httpGet: { port: 80 }, tcpSocket: { port: 80 } })), [
      'spec.containers[0].readinessProbe.httpGet',
      'spec.containers[0].readinessProbe.tcpSocket',
    ]);
    assertHas(withProbe('readinessProbe', { exec: { command: ['true'] }, tcpSocket: { port: 80 } }), 'spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type');
  });

  test('successThreshold must be 1 for liveness and startup, not readiness', opts, () => {
    const probe = { exec: { command: ['true'] }, successThreshold: 3 };
    assertHas(withProbe('livenessProbe', probe), 'spec.containers[0].livenessProbe.successThreshold: Invalid value: 3: must be 1');
    assertHas(withProbe('startupProbe', probe), 'spec.containers[0].startupProbe.successThreshold: Invalid value: 3: must be 1');
    assertValid(withProbe('readinessProbe', probe));
  });

  test('negative numbers, handler details, ports', opts, () => {
    const probe = { httpGet: { port: 70000, scheme: 'FTP', httpHeaders: [{ name: 'X Bad', value: 'v' }] }, initialDelaySeconds: -1, periodSeconds: -1, failureThreshold: -2 };
    assert.deepEqual(fields(withProbe('readinessProbe', probe)), [
      'spec.containers[0].readinessProbe.httpGet.port',
      'spec.containers[0].readinessProbe.httpGet.scheme',
      'spec.containers[0].readinessProbe.httpGet.httpHeaders[0].name',
      'spec.containers[0].readinessProbe.initialDelaySeconds',
      'spec.containers[0].readinessProbe.periodSeconds',
      'spec.containers[0].readinessProbe.failureThreshold',
    ]);
    assertHas(withProbe('livenessProbe', { exec: {} }), 'spec.containers[0].livenessProbe.exec.command: Required value');
    assertHas(withProbe('livenessProbe', { tcpSocket: {} }), 'spec.containers[0].livenessProbe.tcpSocket.port: Required value');
    assertHas(withProbe('livenessProbe', { tcpSocket: { port: 'Bad_Name' } }), 'spec.containers[0].livenessProbe.tcpSocket.port: Invalid value: "Bad_Name": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
    assertHas(withProbe('readinessProbe', { exec: { command: ['true'] }, terminationGracePeriodSeconds: 5 }), 'spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes');
  });

  test('init containers may have probes only as sidecars', opts, () => {
    const probe = { exec: { command: ['true'] } };
    assertHas(
      pod({ initContainers: [{ name: 'init', image: 'busybox', livenessProbe: probe }] }),
      'spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always',
    );
    assertValid(pod({ initContainers: [{ name: 'sidecar', image: 'busybox', restartPolicy: 'Always', readinessProbe: probe }] }));
    assertHas(pod({ containers: [{ ...busybox(), restartPolicy: 'Always' }] }), 'spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers');
  });
});

describe('workloads', () => {
  test('a good deployment', opts, () => assertValid(deployment()));

  test('deployment selector: required, non-empty, valid, matching the template', opts, () => {
    assertHas(deployment({ selector: undefined }), 'spec.selector: Required value');
    assertHas(deployment({ selector: {} }), 'spec.selector: Invalid value: {}: empty selector is invalid for deployment');
    assertHas(deployment({ selector: { matchLabels: { app: 'x' } }, template: template({}, { app: 'web', tier: 'a' }) }), 'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web", "tier":"a"}: `selector` does not match template `labels`');
    assertHas(deployment({ selector: { matchLabels: { app: 'x' } }, template: { spec: { containers: [busybox()] } } }), 'spec.template.metadata.labels: Invalid value: map[string]string(nil): `selector` does not match template `labels`');
    assertValid(deployment({ selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web', 'api'] }] } }));
    assert.deepEqual(fields(deployment({ selector: { matchExpressions: [{ key: 'app', operator: 'In' }] } })), ['spec.selector.matchExpressions[0].values']);
  });

  test('deployment numbers and template rules', opts, () => {
    assert.deepEqual(
      fields(deployment({ replicas: -1, revisionHistoryLimit: -1, minReadySeconds: 10, progressDeadlineSeconds: 10, template: template({ restartPolicy: 'OnFailure', activeDeadlineSeconds: 5 }) })),
      ['spec.replicas', 'spec.revisionHistoryLimit', 'spec.progressDeadlineSeconds', 'spec.template.spec.restartPolicy', 'spec.template.spec.activeDeadlineSeconds'],
    );
    assertHas(deployment({ template: template({ restartPolicy: 'OnFailure' }) }), 'spec.template.spec.restartPolicy: Unsupported value: "OnFailure": supported values: "Always"');
    assertHas(deployment({ template: template({ activeDeadlineSeconds: 5 }) }), 'spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in ReplicaSet is not Supported');
    assertHas(deployment({ replicas: 'three' }), 'spec.replicas: Invalid value: "three": must be an integer');
    assertHas(deployment({ replicas: 1.5 }), 'spec.replicas: Invalid value: 1.5: must be an integer');
    assertHas(deployment({ template: undefined }), 'spec.template: Required value');
  });

  test('rolling update: int or percent, not both zero', opts, () => {
    const ru = (rollingUpdate: Loose) => deployment({ strategy: { type: 'RollingUpdate', rollingUpdate } });
    assertValid(ru({ maxSurge: 1, maxUnavailable: 0 }));
    assertValid(ru({ maxSurge: '0%', maxUnavailable: '10%' }));
    assertHas(ru({ maxSurge: 0, maxUnavailable: '0%' }), 'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "0%": may not be 0 when `maxSurge` is 0');
    assertHas(ru({ maxUnavailable: '110%' }), 'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "110%": must not be greater than 100%');
    assertHas(ru({ maxSurge: -1 }), 'spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or equal to 0');
    assertHas(
      ru({ maxSurge: 'lots' }),
      "spec.strategy.rollingUpdate.maxSurge: Invalid value: \"lots\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    );
    assertHas(deployment({ strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } }), "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'");
    assertHas(deployment({ strategy: { type: 'BlueGreen' } }), 'spec.strategy.type: Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"');
  });

  test('replica set', opts, () => {
    const rs = (spec: Loose): Loose => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs' }, spec: { selector: { matchLabels: { app: 'web' } }, template: template(), ...spec } });
    assertValid(rs({}));
    assertHas(rs({ selector: { matchLabels: { app: 'api' } } }), 'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`');
    assertHas(rs({ selector: undefined }), 'spec.selector: Required value');
  });

  test('daemon set', opts, () => {
    const ds = (spec: Loose): Loose => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ds' }, spec: { selector: { matchLabels: { app: 'web' } }, template: template(), ...spec } });
    assertValid(ds({}));
    assertValid(ds({ updateStrategy: { type: 'OnDelete' } }));
    assertHas(ds({ updateStrategy: { type: 'OnDelete', rollingUpdate: { maxUnavailable: 1 } } }), "spec.updateStrategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'OnDelete'");
    assertHas(ds({ updateStrategy: { rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } } }), 'spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0');
    assertHas(ds({ template: template({ activeDeadlineSeconds: 5 }) }), 'spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in DaemonSet is not Supported');
  });

  test('replication controller: equality selector, defaulted from the template', opts, () => {
    const rc = (spec: Loose): Loose => ({ apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc' }, spec: { template: template(), ...spec } });
    assertValid(rc({}));
    assertValid(rc({ selector: { app: 'web' } }));
    assertHas(rc({ selector: { app: 'api' } }), 'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`');
    assertHas(rc({ template: template({}, {}) }), 'spec.selector: Required value');
    assert.deepEqual(fields(rc({ selector: { 'bad key': 'x' } })), ['spec.selector']);
    assertHas(rc({ template: undefined, selector: { app: 'web' } }), 'spec.template: Required value');
  });

  test('job', opts, () => {
    assertValid(job());
    assertHas(job({ template: template() }), 'spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"');
    assertHas(job({ template: template({ restartPolicy: 'Always' }) }), 'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"');
    assertHas(job({ completionMode: 'Indexed', parallelism: 2 }), 'spec.completions: Required value: when completion mode is Indexed');
    assertHas(job({ completionMode: 'Sometimes' }), 'spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", "Indexed"');
    assert.deepEqual(fields(job({ parallelism: -1, completions: -1, backoffLimit: -1, activeDeadlineSeconds: -1, ttlSecondsAfterFinished: -1 })), [
      'spec.parallelism',
      'spec.completions',
      'spec.activeDeadlineSeconds',
      'spec.backoffLimit',
      'spec.ttlSecondsAfterFinished',
    ]);
    assertValid(job({ selector: { matchLabels: { app: 'web' } }, manualSelector: true }));
    assertHas(job({ selector: { matchLabels: { app: 'other' } } }), 'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`');
  });

  test('cron job', opts, () => {
    assertValid(cronJob());
    assertValid(cronJob({ schedule: '@hourly', timeZone: 'Europe/Berlin' }));
    assertHas(cronJob({ schedule: '' }), 'spec.schedule: Required value');
    assertHas(cronJob({ schedule: 'every day' }), 'spec.schedule: Invalid value: "every day": expected exactly 5 fields (minute hour day-of-month month day-of-week), found 2: [every day]');
    assertHas(cronJob({ timeZone: 'Mars/Olympus' }), 'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus');
    assertHas(cronJob({ schedule: 'TZ=UTC 0 3 * * *', timeZone: 'UTC' }), 'spec.schedule: Invalid value: "TZ=UTC 0 3 * * *": cannot use both timeZone field and TZ or CRON_TZ in schedule');
    assertHas(cronJob({ jobTemplate: undefined }), 'spec.jobTemplate: Required value');
    assertHas(cronJob({ jobTemplate: { spec: { template: template() } } }), 'spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"');
    assert.deepEqual(fields(cronJob({ successfulJobsHistoryLimit: -1, failedJobsHistoryLimit: -1, suspend: 'no' })), [
      'spec.suspend',
      'spec.successfulJobsHistoryLimit',
      'spec.failedJobsHistoryLimit',
    ]);
  });

  test('cron schedules Kubernetes accepts', opts, () => {
    for (const s of ['* * * * *', '*/5 * * * *', '0 0 * * 0', '0 0 1 1 *', '15,45 9-17 * * MON-FRI', '0 0 * JAN,jul *', '0 12 ? * *', '@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly', '@every 1h30m', '@every 5m', 'TZ=Europe/Paris 0 9 * * *', 'CRON_TZ=UTC @daily', '  0 3 * * *  ']) {
      assert.equal(cronScheduleProblem(s), undefined, s);
    }
  });

  test('cron schedules Kubernetes refuses', opts, () => {
    const bad: [string, RegExp][] = [
      ['', /found 0/],
      ['* * * *', /expected exactly 5 fields.*found 4/],
      ['0 * * * * *', /found 6/],
      ['60 * * * *', /invalid schedule/],
      ['0 24 * * *', /invalid schedule/],
      ['0 0 32 * *', /invalid schedule/],
      ['0 0 * 13 *', /invalid schedule/],
      ['0 0 * * 8', /invalid schedule/],
      ['0 0 L * *', /unknown name "L"/],
      ['H * * * *', /unknown name "H"/],
      ['0 0 * * MON#2', /invalid day of week field/],
      ['0 0 * MON *', /unknown name "MON"/],
      ['@fortnightly', /unrecognized descriptor: @fortnightly/],
      ['@every often', /failed to parse duration/],
      ['TZ=Nowhere/Land 0 * * * *', /unknown time zone Nowhere\/Land/],
    ];
    for (const [s, why] of bad) assert.match(cronScheduleProblem(s) ?? '', why, s);
  });
});

describe('cluster objects', () => {
  test('resource quota', opts, () => {
    assertValid({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { 'requests.nvidia.com/gpu': 2, 'hugepages-2Mi': '1Gi', 'count/jobs.batch': 3 }, scopes: ['BestEffort'] } });
    assertHas({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { 'count/jobs.batch': '2.5' } } }, 'spec.hard[count/jobs.batch]: Invalid value: "2.5": must be an integer');
  });

  test('limit range', opts, () => {
    const lr = (limits: Loose[]): Loose => ({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'l' }, spec: { limits } });
    assertValid(lr([{ type: 'Container', max: { cpu: '2' }, min: { cpu: '100m' }, maxLimitRequestRatio: { cpu: '4' } }]));
    assertValid(lr([{ type: 'PersistentVolumeClaim', max: { storage: '10Gi' } }]));
    assertHas(lr([{ type: 'PersistentVolumeClaim', max: { cpu: '1' } }]), 'spec.limits[0].max[cpu]: Invalid value: "cpu": must be storage for PersistentVolumeClaim limits');
    assertHas(lr([{ type: 'Container', maxLimitRequestRatio: { cpu: '0.5' } }]), 'spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "0.5": ratio 0.5 is less than 1');
    assertHas(lr([{ type: 'Container', default: { cpu: '500m' }, defaultRequest: { cpu: '1' } }]), 'spec.limits[0].defaultRequest[cpu]: Invalid value: "1": default request value 1 is greater than default limit value 500m');
    assertHas(lr([{ max: { cpu: '1' } }]), 'spec.limits[0].type: Required value');
  });

  test('namespace', opts, () => {
    assertValid({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dev' }, spec: { finalizers: ['kubernetes'] } });
    assertHas({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dev' }, status: { phase: 'Gone' } }, 'status.phase: Unsupported value: "Gone": supported values: "Active", "Terminating"');
  });

  test('node taints', opts, () => {
    const node = (taints: Loose[]): Loose => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'pi-1' }, spec: { taints }, status: { capacity: { cpu: '4', memory: '8Gi', pods: '110' } } });
    assertValid(node([{ key: 'dedicated', value: 'edge', effect: 'NoSchedule' }]));
    assert.deepEqual(fields(node([{ key: 'a', effect: 'NoSchedule' }, { key: 'a', effect: 'NoSchedule' }, { effect: 'NoSchedule' }, { key: 'b' }, { key: 'c', effect: 'Maybe' }])), [
      'spec.taints[1]',
      'spec.taints[2].key',
      'spec.taints[3].effect',
      'spec.taints[4].effect',
    ]);
  });

  test('event', opts, () => {
    const ev = (extra: Loose): Loose => ({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'web.1', namespace: 'default' }, involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' }, reason: 'Scheduled', type: 'Normal', ...extra });
    assertValid(ev({}));
    assertHas(ev({ type: 'Info' }), 'type: Unsupported value: "Info": supported values: "Normal", "Warning"');
    assertHas(ev({ involvedObject: { kind: 'Pod', name: 'web', namespace: 'other' } }), 'involvedObject.namespace: Invalid value: "other": does not match event.namespace');
    assertHas(ev({ involvedObject: undefined }), 'involvedObject: Required value');
  });
});

describe('updates', () => {
  const stored = (obj: Loose): Loose => {
    const o = structuredClone(obj);
    o.metadata = { ...o.metadata, namespace: 'default', uid: 'uid-1' };
    return o;
  };

  test('name, namespace and uid are immutable; leaving namespace and uid out keeps them', opts, () => {
    const old = stored(pod());
    assertValid(pod(), old);
    assertHas(pod({}, { name: 'other' }), 'metadata.name: Invalid value: "other": field is immutable', old);
    assertHas(pod({}, { name: 'web', namespace: 'prod' }), 'metadata.namespace: Invalid value: "prod": field is immutable', old);
    assertHas(pod({}, { name: 'web', uid: 'uid-2' }), 'metadata.uid: Invalid value: "uid-2": field is immutable', old);
    assertHas({ ...deployment(), metadata: { name: 'web', namespace: 'default' } }, 'kind: Invalid value: "Deployment": field is immutable', old);
  });

  test('labels and annotations may change', opts, () => {
    assertValid(pod({}, { name: 'web', labels: { v: '2' }, annotations: { note: 'x' } }), stored(pod()));
  });

  test('pods: images, a shorter deadline and added tolerations may change', opts, () => {
    const old = stored(pod({ activeDeadlineSeconds: 600, tolerations: [{ key: 'a', operator: 'Exists' }] }));
    const changed = pod({
      activeDeadlineSeconds: 300,
      tolerations: [{ key: 'a', operator: 'Exists' }, { key: 'b', operator: 'Exists' }],
      containers: [{ ...busybox(), image: 'docker.io/library/busybox:1.37' }],
    });
    assertValid(changed, old);
  });

  test('pods: anything else is forbidden, naming what changed', opts, () => {
    const old = stored(pod());
    const [msg] = messages(pod({ containers: [{ ...busybox(), command: ['sleep', '1'] }] }), old);
    assert.equal(
      msg,
      'spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative); changed: spec.containers[0].command',
    );
    assert.deepEqual(fields(pod({ nodeName: 'pi-2' }), old), ['spec']);
    assert.deepEqual(fields(pod({ containers: [busybox(), { ...busybox(), name: 'two' }] }), old), ['spec']);
  });

  test('pods: deadlines may only shrink, tolerations only grow', opts, () => {
    const old = stored(pod({ activeDeadlineSeconds: 600, tolerations: [{ key: 'a', operator: 'Exists' }] }));
    assertHas(pod({ activeDeadlineSeconds: 900, tolerations: [{ key: 'a', operator: 'Exists' }] }), 'spec.activeDeadlineSeconds: Invalid value: 900: must be less than or equal to previous value', old);
    assertHas(pod({ tolerations: [{ key: 'a', operator: 'Exists' }] }), 'spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value', old);
    assertHas(pod({ activeDeadlineSeconds: 600, tolerations: [] }), 'spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds', old);
  });

  test('apps/v1 selectors are immutable', opts, () => {
    const old = stored(deployment());
    assertValid(deployment({ replicas: 5, template: template({}, { app: 'web', v: '2' }) }), old);
    const changed = deployment({ selector: { matchLabels: { app: 'web', v: '2' } }, template: template({}, { app: 'web', v: '2' }) });
    assertHas(changed, 'spec.selector: Invalid value: {"matchLabels":{"app":"web","v":"2"}}: field is immutable', old);
    for (const kind of ['ReplicaSet', 'DaemonSet']) {
      assert.deepEqual(fields({ ...changed, kind }, { ...old, kind }), ['spec.selector'], kind);
    }
  });

  test('replication controller selectors may change', opts, () => {
    const rc = (selector: Loose): Loose => ({ apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc' }, spec: { selector, template: template({}, { app: 'web', v: '2' }) } });
    assertValid(rc({ app: 'web', v: '2' }), stored(rc({ app: 'web' })));
  });

  test('a job keeps its template and completions', opts, () => {
    const old = stored(job());
    assertValid(job({ suspend: true, parallelism: 3, completions: 1 }), old);
    assert.deepEqual(fields(job({ completions: 3, template: template({ restartPolicy: 'OnFailure' }) }), old), ['spec.completions', 'spec.template']);
  });
});

describe('odd input never throws', () => {
  /** A small deterministic generator, so a failure can be replayed. */
  function rng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s * 1664525 + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  }
  const junk = [null, undefined, 0, -1, 1.5, 'x', '', true, [], [null], {}, { a: 1 }, [[1]], 'NaN'];

  /** Replaces one randomly chosen value somewhere in `obj` with junk. */
  function mutate(obj: unknown, rand: () => number): void {
    let cur = obj as Loose;
    for (let depth = 0; depth < 12; depth++) {
      const keys = Object.keys(cur);
      if (keys.length === 0) return;
      const k = keys[Math.floor(rand() * keys.length)];
      const next = cur[k];
      if (next === null || typeof next !== 'object' || rand() < 0.25) {
        cur[k] = structuredClone(junk[Math.floor(rand() * junk.length)]);
        return;
      }
      cur = next;
    }
  }

  const seeds = [
    pod({ initContainers: [busybox()], volumes: [{ name: 'v', hostPath: { path: '/x' } }], tolerations: [{ key: 'a', operator: 'Exists' }], affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['b'] }] }] } } } }),
    pod({ containers: [{ ...busybox(), ports: [{ containerPort: 80 }], env: [{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'x' } } }], resources: { limits: { cpu: '1' } }, livenessProbe: { httpGet: { port: 80, httpHeaders: [{ name: 'a', value: 'b' }] } }, volumeMounts: [{ name: 'v', mountPath: '/v' }] }] }),
    deployment({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } }),
    job({ selector: { matchLabels: { app: 'web' } } }),
    cronJob(),
    { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc', ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'x', uid: 'u' }] }, spec: { selector: { app: 'web' }, template: template() } },
    { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'l' }, spec: { limits: [{ type: 'Container', max: { cpu: '1' }, min: { cpu: '1m' } }] } },
    { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { cpu: '1' }, scopes: ['BestEffort'] } },
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' }, spec: { taints: [{ key: 'a', effect: 'NoSchedule' }] }, status: { capacity: { cpu: '1' } } },
    { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e', namespace: 'd' }, involvedObject: { namespace: 'd' } },
  ];

  test('2000 random corruptions of valid objects give field errors, not exceptions', { timeout: 30_000 }, () => {
    const rand = rng(42);
    for (let i = 0; i < 2000; i++) {
      const base = seeds[i % seeds.length];
      const obj = structuredClone(base);
      const mutations = 1 + Math.floor(rand() * 3);
      for (let m = 0; m < mutations; m++) mutate(obj, rand);
      const old = structuredClone(base);
      try {
        applyDefaults(obj as KObject);
        applyDefaults(old as KObject);
        const errs = validateObject(obj as KObject, rand() < 0.5 ? (old as KObject) : undefined);
        assert.ok(Array.isArray(errs));
        for (const e of errs) assert.equal(typeof formatFieldError(e), 'string');
      } catch (e) {
        assert.fail(`iteration ${i} threw on ${JSON.stringify(obj)}: ${(e as Error).stack}`);
      }
    }
  });
});
