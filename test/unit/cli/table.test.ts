import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Deployment, Event, KObject, Node, Pod } from '../../../src/api/types.js';
import { formatLabels, tableHeader, tableRow } from '../../../src/cli/printers/columns.js';
import { formatJson, formatNames, formatYaml, parseOutputFormat } from '../../../src/cli/printers/output.js';
import { columnWidths, renderTable } from '../../../src/cli/printers/table.js';

const now = Date.parse('2024-05-01T12:00:00Z');

test('tables look like kubectl: upper-case headers, three spaces, left aligned, no trailing blanks', { timeout: 5_000 }, () => {
  const out = renderTable(['NAME', 'READY', 'STATUS'], [
    ['web-5d9c', '0/1', 'Pending'],
    ['x', '1/1', 'Running'],
  ]);
  assert.equal(out, ['NAME       READY   STATUS', 'web-5d9c   0/1     Pending', 'x          1/1     Running'].join('\n'));
});

test('rows printed later (watch) keep the widths of the first table', { timeout: 5_000 }, () => {
  const header = ['NAME', 'STATUS', 'AGE'];
  const rows = [['a-long-name', 'Pending', '1s']];
  const widths = columnWidths(header, rows);
  assert.deepEqual(widths, [11, 7, 3]);
  assert.equal(renderTable(undefined, [['b', 'Running', '2s']], widths), 'b             Running   2s');
});

const pod: Pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'prod', creationTimestamp: '2024-05-01T11:59:55Z', labels: { tier: 'fe', app: 'web' } },
  spec: { containers: [{ name: 'c', image: 'nginx' }], nodeName: 'pi-1' },
  status: { phase: 'Pending', podIP: '10.42.0.5' },
};

test('pod columns, wide columns, -A and --show-labels', { timeout: 5_000 }, () => {
  assert.deepEqual(tableHeader('Pod', {}), ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
  assert.deepEqual(tableRow(pod, { now }), ['web', '0/1', 'Pending', '0', '5s']);
  assert.deepEqual(tableHeader('Pod', { wide: true }).slice(5), ['IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
  assert.deepEqual(tableRow(pod, { wide: true, now }).slice(5), ['10.42.0.5', 'pi-1', '<none>', '<none>']);
  assert.deepEqual(tableHeader('Pod', { withNamespace: true, showLabels: true }), ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'LABELS']);
  assert.deepEqual(tableRow(pod, { withNamespace: true, showLabels: true, now }), ['prod', 'web', '0/1', 'Pending', '0', '5s', 'app=web,tier=fe']);
});

test('node STATUS, ROLES, VERSION and the wide system columns', { timeout: 5_000 }, () => {
  const node: Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'pi-1', creationTimestamp: '2024-05-01T08:00:00Z', labels: { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/edge': '' } },
    spec: { unschedulable: true },
    status: {
      conditions: [{ type: 'Ready', status: 'False' }],
      addresses: [{ type: 'InternalIP', address: '192.168.1.10' }],
      nodeInfo: {
        kernelVersion: '6.1.0',
        osImage: 'Debian GNU/Linux 12',
        containerRuntimeVersion: 'containerd://1.6.20',
        kubeletVersion: 'v0.1.0',
        operatingSystem: 'linux',
        architecture: 'arm64',
      },
    },
  };
  assert.deepEqual(tableRow(node, { wide: true, now }), [
    'pi-1',
    'NotReady,SchedulingDisabled',
    'control-plane,edge',
    '4h',
    'v0.1.0',
    '192.168.1.10',
    '<none>',
    'Debian GNU/Linux 12',
    '6.1.0',
    'containerd://1.6.20',
  ]);
  assert.equal(tableRow({ ...node, spec: {}, status: {} }, { now })[1], 'Unknown');
});

test('deployment, replica set, namespace, event and other kinds', { timeout: 5_000 }, () => {
  const d: Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', creationTimestamp: '2024-05-01T11:00:00Z' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: { spec: { containers: [{ name: 'a', image: 'nginx:1' }, { name: 'b', image: 'busybox' }] } },
    },
    status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
  };
  assert.deepEqual(tableHeader('Deployment', { wide: true }), ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE', 'CONTAINERS', 'IMAGES', 'SELECTOR']);
  assert.deepEqual(tableRow(d, { wide: true, now }), ['web', '2/3', '3', '2', '60m', 'a,b', 'nginx:1,busybox', 'app=web']);

  const rs = { ...d, kind: 'ReplicaSet', status: { replicas: 3, readyReplicas: 1 } } as KObject;
  assert.deepEqual(tableHeader('ReplicaSet', {}), ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE']);
  assert.deepEqual(tableRow(rs, { now }), ['web', '3', '3', '1', '60m']);
  const rc = { ...rs, kind: 'ReplicationController', spec: { replicas: 1, selector: { app: 'x' } } } as KObject;
  assert.deepEqual(tableHeader('ReplicationController', {}), tableHeader('ReplicaSet', {}));
  assert.equal(tableRow(rc, { wide: true, now })[7], 'app=x');

  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'prod', creationTimestamp: '2024-05-01T11:59:00Z' }, status: { phase: 'Active' } };
  assert.deepEqual(tableRow(ns, { now }), ['prod', 'Active', '60s']);

  const ev: Event = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web.1', namespace: 'prod' },
    involvedObject: { kind: 'Pod', name: 'web', namespace: 'prod' },
    reason: 'FailedScheduling',
    message: '0/0 nodes are available ',
    type: 'Warning',
    firstTimestamp: '2024-05-01T11:50:00Z',
    lastTimestamp: '2024-05-01T11:59:30Z',
    count: 4,
  };
  assert.deepEqual(tableHeader('Event', {}), ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
  assert.deepEqual(tableRow(ev, { now }), ['30s', 'Warning', 'FailedScheduling', 'pod/web', '0/0 nodes are available']);

  const quota = {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: 'q', creationTimestamp: '2024-05-01T09:00:00Z' },
    spec: { hard: { pods: '10', 'requests.cpu': '2', 'limits.memory': '2Gi' } },
    status: { hard: { pods: '10', 'requests.cpu': '2', 'limits.memory': '2Gi' }, used: { pods: '3', 'requests.cpu': '500m', 'limits.memory': '0' } },
  };
  assert.deepEqual(tableHeader('ResourceQuota', {}), ['NAME', 'AGE', 'REQUEST', 'LIMIT'], 'kubectl quota columns');
  assert.deepEqual(tableRow(quota, { now }), ['q', '3h', 'pods: 3/10, requests.cpu: 500m/2', 'limits.memory: 0/2Gi'], 'used/hard, limits apart');
  const uncounted = { ...quota, status: undefined };
  assert.deepEqual(tableRow(uncounted, { now }).slice(2), ['pods: 0/10, requests.cpu: 0/2', 'limits.memory: 0/2Gi'], 'a quota not counted yet shows 0 used');

  const limits = { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'l', creationTimestamp: '2024-05-01T09:00:00Z' } };
  assert.deepEqual(tableHeader('LimitRange', {}), ['NAME', 'CREATED AT'], 'kubectl limit range columns');
  assert.deepEqual(tableRow(limits, { now }), ['l', '2024-05-01T09:00:00Z'], 'the creation time as stored');
  const other = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c', creationTimestamp: '2024-05-01T09:00:00Z' } };
  assert.deepEqual(tableHeader('CronJob', {}), ['NAME', 'AGE'], 'kinds without columns print NAME and AGE');
  assert.deepEqual(tableRow(other, { now }), ['c', '3h'], 'name and age');
});

test('labels are printed sorted, <none> when absent', { timeout: 5_000 }, () => {
  assert.equal(formatLabels({ b: '2', a: '1' }), 'a=1,b=2');
  assert.equal(formatLabels(undefined), '<none>');
});

test('-o name, json and yaml', { timeout: 5_000 }, () => {
  const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } };
  assert.equal(formatNames([pod, dep]), 'pod/web\ndeployment.apps/web\n');
  assert.deepEqual(JSON.parse(formatJson([pod], true)), pod);
  const list = JSON.parse(formatJson([pod, dep], false));
  assert.equal(list.kind, 'List');
  assert.equal(list.items.length, 2);
  const yaml = formatYaml([dep], true);
  assert.equal(yaml, 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n');
  assert.equal(parseOutputFormat(undefined), 'table');
  assert.equal(parseOutputFormat('wide'), 'wide');
  assert.throws(() => parseOutputFormat('xml'), /allowed formats are: wide,json,yaml,name/);
});
