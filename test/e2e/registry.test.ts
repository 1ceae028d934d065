import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { testImages, TEST_IMAGE } from '../../src/cri/local-images.js';
import { startTestRegistry, type TestRegistry } from '../helpers/oci-registry.js';
import { startTestNode, tearDownTestNode, waitUntil, type TestNode } from './agent-node.js';
import { TestCluster } from './harness.js';

// Pulls through a registry mirror: the agent's registries.yaml sends docker.io pulls to a
// registry on loopback that wants a password, and a pod with imagePullPolicy Always runs an
// image that exists nowhere else.

let cluster: TestCluster;
let node: TestNode | undefined;
let registry: TestRegistry | undefined;
let manifests: string;
const created = new Set<string>();

before(async () => {
  const busybox = (await testImages()).find((i) => i.name === TEST_IMAGE)!;
  // Its own config, so the manifest and config blob exist only in the registry (the layer is busybox's).
  const mirrored = { ...busybox, name: 'docker.io/library/mirrored:1', config: { ...busybox.config, labels: { 'skiff.test': 'mirrored' } } };
  registry = await startTestRegistry([mirrored], { username: 'pi', password: 's3cret' });
  cluster = await TestCluster.start();
  manifests = cluster.tempDir('registry-manifests');
  const registries = join(manifests, 'registries.yaml');
  writeFileSync(
    registries,
    `mirrors:\n  docker.io:\n    endpoint:\n      - "http://${registry.host}"\nconfigs:\n  "${registry.host}":\n    auth:\n      username: pi\n      password: s3cret\n`,
  );
  node = await startTestNode(cluster, 'e2e-registry', ['--private-registry', registries]);
});

after(async () => {
  await tearDownTestNode(cluster, node, created);
  await cluster?.stop();
  node?.removeBridge();
  await registry?.close();
});

const waitFor = (what: string, timeoutMs: number, check: () => Promise<boolean>) => waitUntil(cluster, node, what, timeoutMs, check);

async function apply(name: string, image: string): Promise<void> {
  const file = join(manifests, `${name}.yaml`);
  writeFileSync(file, `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: ${image}\n    imagePullPolicy: Always\n    command: ['sleep', '3600']\n`);
  created.add(name);
  const r = await cluster.ctl(['apply', '-f', file]);
  assert.equal(r.code, 0, r.stderr);
}

const statusOf = async (name: string) => (await cluster.ctl(['get', 'pod', name, '--no-headers'])).stdout.trim().split(/\s+/)[2];

test('imagePullPolicy Always pulls through the mirror with its credentials; Pulling and Pulled are events', { timeout: 180_000 }, async () => {
  await apply('mirrored', 'docker.io/library/mirrored:1');
  await waitFor('the mirrored pod to run', 120_000, async () => (await statusOf('mirrored')) === 'Running');
  const asked = registry!.requests.join(', ');
  assert.ok(registry!.requests.some((r) => /^GET \/v2\/library\/mirrored\/manifests\//.test(r)), `the manifest came from the mirror: ${asked}`);
  assert.ok(registry!.requests.some((r) => r.startsWith('GET /v2/library/mirrored/blobs/sha256:')), `and the config blob: ${asked}`);
  const describe = await cluster.ctl(['describe', 'pod', 'mirrored']);
  assert.match(describe.stdout, /Pulling\s.*Pulling image "docker\.io\/library\/mirrored:1"/, describe.stdout);
  assert.match(describe.stdout, /Pulled\s.*Successfully pulled image "docker\.io\/library\/mirrored:1"/, describe.stdout);
});

test('an image the mirror does not have ends in ImagePullBackOff', { timeout: 180_000 }, async () => {
  await apply('absent', 'docker.io/library/absent:1');
  await waitFor('ImagePullBackOff', 120_000, async () => (await statusOf('absent')) === 'ImagePullBackOff');
  assert.ok(registry!.requests.includes('GET /v2/library/absent/manifests/1') || registry!.requests.includes('HEAD /v2/library/absent/manifests/1'), 'the mirror was asked');
});

test('a bad registries file stops the agent at start with the field and the fix', { timeout: 60_000 }, async () => {
  const bad = join(manifests, 'bad-registries.yaml');
  writeFileSync(bad, 'mirrors:\n  docker.io:\n    endpoint: ["ftp://nope"]\n');
  const r = await cluster.ctl(['agent', '--data-dir', node!.dataDir, '--private-registry', bad], { timeoutMs: 30_000 });
  assert.equal(r.code, 1, `refused: ${r.stderr}`);
  assert.match(r.stderr, /bad-registries\.yaml is not a valid registries file/);
  assert.match(r.stderr, /mirrors\.docker\.io\.endpoint\.0: must be an http:\/\/ or https:\/\/ URL/);
});
