import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerConfig, linuxResources, parseResolvConf, sandboxConfig } from '../../../../src/agent/pods/cri-config.js';
import { pod } from './fixtures.js';

test('resources map as kubelet maps them', { timeout: 5000 }, () => {
  assert.deepEqual(linuxResources({ name: 'c', resources: { requests: { cpu: '250m' }, limits: { cpu: '500m', memory: '16Mi' } } }), {
    cpuShares: 256,
    cpuPeriod: 100_000,
    cpuQuota: 50_000,
    memoryLimitInBytes: 16 * 1024 * 1024,
  });
  assert.deepEqual(linuxResources({ name: 'c' }), { cpuShares: 2 });
});

test('sandbox and container configs carry the pod identity, DNS, env, mounts and logs', { timeout: 5000 }, () => {
  const p = pod({
    containers: [
      {
        name: 'main',
        image: 'docker.io/library/busybox:1.36',
        command: ['sh'],
        args: ['-c', 'true'],
        workingDir: '/w',
        env: [{ name: 'A', value: 'x' }, { name: 'B', value: '$(A)-y' }, { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        ports: [{ containerPort: 80, hostPort: 8080 }],
        volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'host', mountPath: '/h', readOnly: true }],
      },
    ],
    volumes: [{ name: 'data', emptyDir: {} }, { name: 'host', hostPath: { path: '/srv' } }],
  });
  const dns = parseResolvConf('# c\nnameserver 1.1.1.1\nnameserver 8.8.8.8\nsearch a.example b.example\noptions ndots:2\n');
  assert.deepEqual(dns, { servers: ['1.1.1.1', '8.8.8.8'], searches: ['a.example', 'b.example'], options: ['ndots:2'] });
  const sb = sandboxConfig(p, 0, { podDir: '/d/pods/u1' }, dns);
  assert.equal(sb.hostname, 'p');
  assert.equal(sb.labels!['io.kubernetes.pod.uid'], 'u1');
  assert.equal(sb.logDirectory, '/d/pods/u1/logs');
  assert.deepEqual(sb.portMappings, [{ protocol: 'TCP', containerPort: 80, hostPort: 8080 }]);
  assert.equal(sandboxConfig({ ...p, spec: { ...p.spec, hostNetwork: true } }, 0, { podDir: '/d' }, dns).hostname, '');
  const c = containerConfig(p, p.spec.containers[0], 'app', 2, { podDir: '/d/pods/u1' }, { nodeName: 'n1' });
  assert.deepEqual(c.metadata, { name: 'main', attempt: 2 });
  assert.deepEqual(c.envs, [{ key: 'A', value: 'x' }, { key: 'B', value: 'x-y' }, { key: 'POD', value: 'p' }]);
  assert.deepEqual(c.mounts, [
    { containerPath: '/data', hostPath: '/d/pods/u1/volumes/empty-dir/data', readonly: false },
    { containerPath: '/h', hostPath: '/srv', readonly: true },
  ]);
  assert.equal(c.logPath, 'main/2.log');
  assert.equal(c.labels!['io.kubernetes.container.name'], 'main');
  assert.deepEqual([c.command, c.args, c.workingDir], [['sh'], ['-c', 'true'], '/w']);
});
