import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeEndpoint, socketPathOf, unreadyConditions } from '../../../src/cri/client.js';
import { cniConflist, containerdConfig, needsRestrictOomScoreAdj } from '../../../src/cri/containerd-process.js';
import { CriError, isDeadlineExceeded, isNotFound } from '../../../src/cri/errors.js';

const status = (lines: string) => `Name:\tnode\nCapInh:\t0000000000000000\n${lines}\nCapAmb:\t0000000000000000\n`;

test('restrict_oom_score_adj is needed exactly when CAP_SYS_RESOURCE is missing', { timeout: 5_000 }, () => {
  assert.equal(needsRestrictOomScoreAdj(status('CapEff:\t000001ffffffffff')), false);
  assert.equal(needsRestrictOomScoreAdj(status('CapEff:\t000001fffeffffff')), true, 'bit 24 cleared');
  assert.equal(needsRestrictOomScoreAdj(status('CapEff:\t0000000000000000')), true);
  assert.equal(needsRestrictOomScoreAdj('no capability lines'), true);
});

const input = {
  dataDir: '/var/lib/skiff/containerd',
  stateDir: '/run/skiff/containerd',
  socket: '/var/lib/skiff/containerd/containerd.sock',
  cniBinDir: '/usr/lib/cni',
  cniConfDir: '/var/lib/skiff/containerd/cni/net.d',
  sandboxImage: 'docker.io/skiff/pause:3.9',
  snapshotter: 'native',
  restrictOomScoreAdj: true,
  logLevel: 'info',
  registryConfigPath: '/var/lib/skiff/containerd/certs.d',
};

test('containerd config keeps every path of the instance under its own directories', { timeout: 5_000 }, () => {
  const toml = containerdConfig(input);
  for (const line of [
    'version = 2',
    'root = "/var/lib/skiff/containerd/root"',
    'state = "/run/skiff/containerd"',
    '  address = "/var/lib/skiff/containerd/containerd.sock"',
    '  address = "/var/lib/skiff/containerd/containerd.sock.ttrpc"',
    '  sandbox_image = "docker.io/skiff/pause:3.9"',
    '  restrict_oom_score_adj = true',
    '    snapshotter = "native"',
    '        Root = "/run/skiff/containerd/runc"',
    '    bin_dir = "/usr/lib/cni"',
    '    conf_dir = "/var/lib/skiff/containerd/cni/net.d"',
    '  path = "/var/lib/skiff/containerd/opt"',
    '    config_path = "/var/lib/skiff/containerd/certs.d"',
  ]) assert.ok(toml.split('\n').includes(line), `config has: ${line}\n${toml}`);
  assert.match(containerdConfig({ ...input, restrictOomScoreAdj: false }), /^ {2}restrict_oom_score_adj = false$/m);
});

test('the CNI config is a bridge on the pod CIDR with private IPAM state and hostPort support', { timeout: 5_000 }, () => {
  const conf = JSON.parse(cniConflist({ bridgeName: 'sk01', podCidr: '10.88.7.0/24', ipamDataDir: '/d/ipam' }));
  assert.equal(conf.name, 'skiff-sk01');
  const [bridge, portmap] = conf.plugins;
  assert.equal(bridge.type, 'bridge');
  assert.equal(bridge.bridge, 'sk01');
  assert.equal(bridge.isGateway, true);
  assert.deepEqual(bridge.ipam.ranges, [[{ subnet: '10.88.7.0/24' }]]);
  assert.equal(bridge.ipam.dataDir, '/d/ipam');
  assert.deepEqual(portmap.capabilities, { portMappings: true });
});

test('endpoints are unix sockets in any of the usual spellings', { timeout: 5_000 }, () => {
  assert.equal(socketPathOf('unix:///run/containerd/containerd.sock'), '/run/containerd/containerd.sock');
  assert.equal(socketPathOf('/run/containerd/containerd.sock'), '/run/containerd/containerd.sock');
  assert.equal(normalizeEndpoint('unix:/run/x.sock'), 'unix:///run/x.sock');
  assert.throws(() => socketPathOf('tcp://10.0.0.1:1234'), /is not a unix socket: use unix:\/\/\//);
});

test('unready conditions name the condition, the reason and the message', { timeout: 5_000 }, () => {
  const s = (conditions: { type: string; status: boolean; reason?: string; message?: string }[]) => ({
    status: { conditions: conditions.map((c) => ({ reason: '', message: '', ...c })) }, info: {},
  });
  assert.deepEqual(unreadyConditions(s([{ type: 'RuntimeReady', status: true }, { type: 'NetworkReady', status: true }]), true), []);
  assert.deepEqual(
    unreadyConditions(s([{ type: 'RuntimeReady', status: true }, { type: 'NetworkReady', status: false, reason: 'NetworkPluginNotReady', message: 'cni plugin not initialized' }]), true),
    ['NetworkReady is false (NetworkPluginNotReady: cni plugin not initialized)'],
  );
  assert.deepEqual(unreadyConditions(s([{ type: 'NetworkReady', status: false }]), false), ['RuntimeReady is not reported']);
});

test('CRI errors name the call and keep the gRPC code', { timeout: 5_000 }, () => {
  const notFound = new CriError('ContainerStatus', 5, 'an error occurred when try to find container "x": not found');
  assert.equal(notFound.message, 'CRI ContainerStatus failed: an error occurred when try to find container "x": not found');
  assert.equal(notFound.codeName, 'NOT_FOUND');
  assert.ok(isNotFound(notFound));
  assert.ok(!isNotFound(new Error('not found')));
  assert.ok(isDeadlineExceeded(new CriError('StopContainer', 4, 'no answer within 32s')));
  assert.equal(new CriError('Version', 14, '').message, 'CRI Version failed: UNAVAILABLE');
});
