import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerdConfig } from '../../../src/cri/containerd-process.js';
import { registriesSchema, registryHostsFiles } from '../../../src/cri/registries.js';

// k3s-style registries.yaml → containerd hosts.toml files and CRI credentials.

const reg = registriesSchema.parse({
  mirrors: {
    'docker.io': { endpoint: ['https://mirror.local:5000', 'http://10.0.0.9:5000'] },
    '*': { endpoint: ['https://catch-all.local'] },
  },
  configs: {
    'mirror.local:5000': { auth: { username: 'pi', password: 's3cret' }, tls: { ca_file: '/etc/ssl/mirror-ca.pem' } },
    'registry.internal': { tls: { insecure_skip_verify: true } },
  },
});

test('each registry gets a hosts.toml: its mirrors in order with their TLS, then its own server', { timeout: 5_000 }, () => {
  const files = registryHostsFiles(reg);
  assert.deepEqual([...files.keys()].sort(), ['_default', 'docker.io', 'mirror.local:5000', 'registry.internal']);
  const docker = files.get('docker.io')!;
  assert.match(docker, /^server = "https:\/\/registry-1\.docker\.io"$/m);
  const mirror = docker.indexOf('[host."https://mirror.local:5000"]');
  const second = docker.indexOf('[host."http://10.0.0.9:5000"]');
  assert.ok(mirror > 0 && second > mirror, `mirrors in the order given:\n${docker}`);
  assert.match(docker.slice(mirror, second), /ca = "\/etc\/ssl\/mirror-ca\.pem"/, 'the mirror host carries its CA');
  assert.doesNotMatch(files.get('_default')!, /^server/m, 'the wildcard has no upstream of its own');
  assert.match(files.get('registry.internal')!, /\[host\."https:\/\/registry\.internal"\]\n.*\n\s+skip_verify = true/, 'TLS settings of a registry without mirrors');
});

test('credentials go to the CRI plugin config, not hosts.toml', { timeout: 5_000 }, () => {
  for (const toml of registryHostsFiles(reg).values()) assert.doesNotMatch(toml, /s3cret/, 'no password in hosts.toml');
  const config = containerdConfig({
    dataDir: '/d', stateDir: '/s', socket: '/d/c.sock', cniBinDir: '/c', cniConfDir: '/n', sandboxImage: 'p', snapshotter: 'native', restrictOomScoreAdj: false, logLevel: 'info', registryConfigPath: '/d/certs.d', registries: reg,
  });
  assert.match(config, /\[plugins\."io\.containerd\.grpc\.v1\.cri"\.registry\.configs\."mirror\.local:5000"\.auth\]\n\s+username = "pi"\n\s+password = "s3cret"/);
});

test('bad files are refused with the field and what to write', { timeout: 5_000 }, () => {
  const cases: [unknown, RegExp][] = [
    [{ mirrors: { 'docker.io': { endpoint: ['ftp://x'] } } }, /mirrors\.docker\.io\.endpoint\.0|http:\/\/ or https:\/\//],
    [{ mirrors: { 'docker.io': { endpoint: [] } } }, /at least one mirror/],
    [{ mirrors: { 'bad host!': { endpoint: ['https://x'] } } }, /registry host/],
    [{ configs: { 'a.io': { tls: { cert_file: '/c' } } } }, /cert_file and key_file go together/],
    [{ mirror: {} }, /mirror/],
  ];
  for (const [input, message] of cases) {
    const r = registriesSchema.safeParse(input);
    assert.equal(r.success, false, `refused: ${JSON.stringify(input)}`);
    assert.match(JSON.stringify(r.error!.issues), message, `names the problem for ${JSON.stringify(input)}`);
  }
});
