import assert from 'node:assert/strict';
import { test } from 'node:test';
import { podInfo } from '../../../src/scheduler/pod-info.js';
import { makePod } from './fixtures.js';

const t = { timeout: 5_000 };

test('requests: app containers summed, the largest init container when bigger, per resource', t, () => {
  const info = podInfo(
    makePod('p', {
      initContainers: [
        { name: 'i1', resources: { requests: { cpu: '2', memory: '64Mi' } } },
        { name: 'i2', resources: { requests: { memory: '1Gi' } } },
      ],
      containers: [
        { name: 'a', resources: { requests: { cpu: '250m', memory: '128Mi' } } },
        { name: 'b', resources: { requests: { cpu: '0.25', memory: '128Mi' } } },
      ],
    }),
  );
  assert.deepEqual(info.requests, { milliCpu: 2000, memory: 1024 ** 3 });
});

test('non-zero requests count unset cpu as 100m and memory as 200Mi per container', t, () => {
  const info = podInfo(makePod('p', { containers: [{ name: 'a' }, { name: 'b', resources: { requests: { cpu: '0' } } }] }));
  assert.deepEqual(info.requests, { milliCpu: 0, memory: 0 });
  assert.deepEqual(info.nonZeroRequests, { milliCpu: 100, memory: 400 * 1024 * 1024 });
});

test('host ports, owner, constraints', t, () => {
  const info = podInfo(
    makePod('p', {
      ownerUid: 'rs-1',
      containers: [{ name: 'a', ports: [{ containerPort: 80 }, { containerPort: 53, hostPort: 53, protocol: 'UDP', hostIP: '10.0.0.1' }, { containerPort: 443, hostPort: 8443 }] }],
      spec: { nodeSelector: { zone: 'edge' } },
    }),
  );
  assert.deepEqual(info.hostPorts, [
    { ip: '10.0.0.1', protocol: 'UDP', port: 53 },
    { ip: '0.0.0.0', protocol: 'TCP', port: 8443 },
  ]);
  assert.equal(info.ownerUid, 'rs-1');
  assert.deepEqual(info.nodeSelector, { zone: 'edge' });
  assert.equal(info.key, 'default/p');
});

test('a quantity that slipped past validation requests nothing rather than throwing', t, () => {
  const info = podInfo(makePod('p', { containers: [{ name: 'a', resources: { requests: { cpu: 'lots' } } }] }));
  assert.equal(info.requests.milliCpu, 0);
});
