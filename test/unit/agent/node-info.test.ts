import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeNode, goArch, internalIp, osImage, type SystemFacts } from '../../../src/agent/node-info.js';
import { parseNodeLabels } from '../../../src/agent/labels.js';

const pi: SystemFacts = {
  hostname: () => 'raspberrypi',
  osRelease: () => 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nID=debian\n',
  kernelRelease: () => '6.6.31+rpt-rpi-v8',
  arch: () => 'arm64',
  platform: () => 'linux',
  cpuCount: () => 4,
  memoryBytes: () => 8 * 1024 ** 3,
  networkInterfaces: () => ({
    lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true, netmask: '255.0.0.0', mac: '00:00:00:00:00:00', cidr: '127.0.0.1/8' }],
    eth0: [
      { address: 'fe80::1', family: 'IPv6', internal: false, netmask: 'ffff:ffff:ffff:ffff::', mac: 'aa:bb:cc:dd:ee:ff', cidr: 'fe80::1/64', scopeid: 2 },
      { address: '192.168.1.20', family: 'IPv4', internal: false, netmask: '255.255.255.0', mac: 'aa:bb:cc:dd:ee:ff', cidr: '192.168.1.20/24' },
    ],
  }),
  machineId: () => 'abc123',
  bootId: () => undefined,
};

test('a Raspberry Pi is described as kubelet would', { timeout: 5000 }, () => {
  const r = describeNode(pi, { nodeName: 'pi-1', labels: { zone: 'garage' }, agentVersion: 'v0.1.0', containerRuntimeVersion: 'containerd://unknown' });
  assert.deepEqual(r.labels, { zone: 'garage', 'kubernetes.io/arch': 'arm64', 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': 'pi-1' });
  assert.deepEqual(r.addresses, [
    { type: 'InternalIP', address: '192.168.1.20' },
    { type: 'Hostname', address: 'raspberrypi' },
  ]);
  assert.deepEqual(r.capacity, { cpu: '4', memory: '8388608Ki', pods: '110' });
  assert.deepEqual(r.allocatable, r.capacity);
  assert.equal(r.nodeInfo.osImage, 'Debian GNU/Linux 12 (bookworm)');
  assert.equal(r.nodeInfo.kernelVersion, '6.6.31+rpt-rpi-v8');
  assert.equal(r.nodeInfo.architecture, 'arm64');
  assert.equal(r.nodeInfo.machineID, 'abc123');
  assert.equal('bootID' in r.nodeInfo, false);
});

test('architectures map to Go names', { timeout: 5000 }, () => {
  assert.equal(goArch('x64'), 'amd64');
  assert.equal(goArch('arm64'), 'arm64');
  assert.equal(goArch('arm'), 'arm');
});

test('osImage falls back to NAME, then Unknown', { timeout: 5000 }, () => {
  assert.equal(osImage('NAME=Alpine\n'), 'Alpine');
  assert.equal(osImage(undefined), 'Unknown');
});

test('internalIp prefers an external IPv4 and falls back to loopback', { timeout: 5000 }, () => {
  assert.equal(internalIp(pi.networkInterfaces()), '192.168.1.20');
  assert.equal(internalIp({}), '127.0.0.1');
});

test('--labels collects every problem and refuses the labels the agent sets itself', { timeout: 5000 }, () => {
  assert.deepEqual(parseNodeLabels('a=1, b.example.com/c=x'), { labels: { a: '1', 'b.example.com/c': 'x' }, errors: [] });
  const bad = parseNodeLabels('novalue,kubernetes.io/arch=x,k=bad value');
  assert.equal(bad.errors.length, 3);
  assert.match(bad.errors[0], /"novalue" is not key=value/);
  assert.match(bad.errors[1], /kubernetes.io\/arch is set by the agent/);
  assert.match(bad.errors[2], /value "bad value" of k/);
});
