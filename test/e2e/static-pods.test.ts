import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectRuntime } from '../../src/cri/client.js';
import { importImage } from '../../src/cri/image-import.js';
import { testImages } from '../../src/cri/local-images.js';
import { writeOciArchive } from '../../src/cri/oci-image.js';
import type { CriRuntime } from '../../src/cri/runtime.js';
import type { Container } from '../../src/cri/types.js';
import { freePort, pollUntil, stopProcess, TestCluster, type CtlProcess } from './harness.js';

// Static pods end to end: manifests in the agent's data dir run on its containerd and show as
// mirror pods NAME-NODENAME; deleting the mirror only brings it back; editing the file restarts
// the pod with the new spec, removing it stops the pod; and an agent that cannot reach any
// control plane still starts them (checked through CRI on the agent's own containerd).

const node = 'e2e-static';
const bridge = `sk${randomBytes(4).toString('hex')}`;
const mirror = `web-${node}`;
let cluster: TestCluster;
let agent: CtlProcess;
let dataDir: string;
let manifests: string;
let runtime: CriRuntime | undefined;

const manifest = (word: string, name = 'web') => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: { app: ${name} }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: docker.io/library/busybox:1.36
    imagePullPolicy: Never
    command: ['sh', '-c', 'echo says-${word} && sleep 3600']
`;

before(async () => {
  cluster = await TestCluster.start({ serverArgs: ['--nats-port', String(await freePort())] });
  const token = await cluster.ctl(['token', 'create', '--description', 'e2e static pods', '--print-join-command']);
  assert.equal(token.code, 0, `token create failed: ${token.stderr}`);
  dataDir = cluster.tempDir('agent-static');
  manifests = join(dataDir, 'manifests');
  agent = cluster.spawnCtl([
    ...token.stdout.trim().split(' ').slice(1),
    ...['--node-name', node, '--data-dir', dataDir, '--node-status-update-frequency', '500ms'],
    ...['--cni-bridge', bridge, '--pod-cidr', `10.87.${randomInt(0, 256)}.0/24`],
  ]);
  await waitFor('the node to be Ready', 90_000, async () => /\sReady\s/.test((await cluster.ctl(['get', 'node', node, '--no-headers'])).stdout));
  const archive = join(cluster.tempDir('static-images'), 'images.tar');
  await writeOciArchive(await testImages(), archive);
  const config = readFileSync(join(dataDir, 'containerd', 'config.toml'), 'utf8');
  const snapshotter = /^\s*snapshotter\s*=\s*"([^"]+)"/m.exec(config)?.[1] ?? 'overlayfs';
  await importImage(join(dataDir, 'containerd', 'containerd.sock'), archive, { snapshotter });
});

after(async () => {
  // The static pods go with their files, through the agent, so no container outlives the test.
  rmSync(manifests, { recursive: true, force: true });
  await waitFor('the static pod containers to be gone', 60_000, async () => (await containersOf(/./)).length === 0).catch(() => undefined);
  runtime?.close();
  await agent?.stop();
  await cluster?.stop();
  spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
});

function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  // A command that times out on a busy machine is one more try, not a failure.
  return pollUntil(what, timeoutMs, () => check().catch(() => false), () => `${cluster.log.slice(-3000)}\nagent:\n${agent?.stderr.slice(-4000)}`);
}

/** The agent's containerd, reached directly as crictl would. */
async function cri(): Promise<CriRuntime> {
  runtime ??= await connectRuntime(`unix://${join(dataDir, 'containerd', 'containerd.sock')}`, { readyTimeoutMs: 30_000 });
  return runtime;
}

async function containersOf(podName: RegExp, state?: 'CONTAINER_RUNNING'): Promise<Container[]> {
  const all = await (await cri()).listContainers(state ? { state: { state } } : {});
  return all.filter((c) => podName.test(c.labels['io.kubernetes.pod.name'] ?? ''));
}

interface PodJson {
  metadata: { uid: string; annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string; controller?: boolean }[] };
  status?: { phase?: string; containerStatuses?: { containerID?: string; restartCount: number; state?: { running?: unknown } }[] };
}

async function getMirror(): Promise<PodJson | undefined> {
  const r = await cluster.ctl(['get', 'pod', mirror, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as PodJson) : undefined;
}

const runningId = (p: PodJson | undefined) => (p?.status?.containerStatuses?.[0]?.state?.running ? p.status.containerStatuses[0].containerID : undefined);

test('a manifest in the data dir runs, and shows as the mirror pod NAME-NODENAME, Running, owned by the Node', { timeout: 120_000 }, async () => {
  mkdirSync(manifests, { recursive: true });
  writeFileSync(join(manifests, 'web.yaml'), manifest('one'));
  writeFileSync(join(manifests, 'broken.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: [\n');
  await waitFor('the mirror pod to be Running', 90_000, async () => new RegExp(`^${mirror}\\s+1/1\\s+Running\\s`, 'm').test((await cluster.ctl(['get', 'pods', '--no-headers'])).stdout));
  const pod = await getMirror();
  assert.equal(pod?.metadata.annotations?.['kubernetes.io/config.source'], 'file', 'config.source is file');
  assert.ok(pod?.metadata.annotations?.['kubernetes.io/config.mirror'], 'config.mirror holds the static pod UID');
  assert.deepEqual(pod?.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.controller]), [['Node', node, true]], 'owned by its Node');
  const running = await containersOf(new RegExp(`^${mirror}$`), 'CONTAINER_RUNNING');
  assert.equal(running.length, 1, 'one container runs on the node for it');
  await waitFor('the log of the static pod', 30_000, async () => (await cluster.ctl(['logs', mirror])).stdout.includes('says-one'));
  await waitFor("the node's events on the mirror pod", 30_000, async () => /Normal\s+Started\s/.test((await cluster.ctl(['describe', 'pod', mirror])).stdout));
  assert.match(agent.stderr + agent.stdout, /static pod manifest .*broken\.yaml: not valid YAML/, 'the broken manifest is logged by file name, and the agent runs on');
});

test('deleting the mirror pod brings it back; the static pod was not restarted', { timeout: 120_000 }, async () => {
  const before = await getMirror();
  const containerId = runningId(before);
  assert.ok(containerId, 'the container runs before the delete');
  const del = await cluster.ctl(['delete', 'pod', mirror, '--no-wait']);
  assert.equal(del.code, 0, `delete failed: ${del.stderr}`);
  await waitFor('a new mirror pod, Running', 60_000, async () => {
    const p = await getMirror();
    return !!p && p.metadata.uid !== before!.metadata.uid && !!runningId(p);
  });
  const after = await getMirror();
  assert.equal(runningId(after), containerId, 'the same container runs');
  assert.equal(after?.status?.containerStatuses?.[0].restartCount, 0, 'no restart');
  const onNode = await containersOf(new RegExp(`^${mirror}$`));
  assert.deepEqual(onNode.map((c) => c.id), [containerId!.replace(/^containerd:\/\//, '')], 'CRI has only the original container');
});

test('editing the manifest restarts the pod with the new spec', { timeout: 120_000 }, async () => {
  const before = await getMirror();
  writeFileSync(join(manifests, 'web.yaml'), manifest('two'));
  await waitFor('the mirror of the edited manifest, Running', 90_000, async () => {
    const p = await getMirror();
    return !!p && p.metadata.annotations?.['kubernetes.io/config.mirror'] !== before?.metadata.annotations?.['kubernetes.io/config.mirror'] && !!runningId(p);
  });
  await waitFor('the new log line', 30_000, async () => (await cluster.ctl(['logs', mirror])).stdout.includes('says-two'));
  await waitFor('the old container to be removed', 30_000, async () => (await containersOf(new RegExp(`^${mirror}$`))).length === 1);
});

test('removing the manifest stops the pod and removes its mirror', { timeout: 120_000 }, async () => {
  rmSync(join(manifests, 'web.yaml'));
  await waitFor('the mirror pod to go', 60_000, async () => (await cluster.ctl(['get', 'pod', mirror])).code !== 0);
  await waitFor('its containers to go', 60_000, async () => (await containersOf(new RegExp(`^${mirror}$`))).length === 0);
});

test('an agent that cannot reach the control plane still starts its static pods', { timeout: 180_000 }, async () => {
  await agent.stop();
  await stopProcess(cluster.server);
  writeFileSync(join(manifests, 'alone.yaml'), manifest('alone', 'alone'));
  agent = cluster.spawnCtl(['agent', '--data-dir', dataDir, '--node-status-update-frequency', '500ms']);
  await waitFor('the static pod to run with no control plane', 90_000, async () => (await containersOf(new RegExp(`^alone-${node}$`), 'CONTAINER_RUNNING')).length === 1);
  const sandboxes = (await (await cri()).listPodSandbox({ state: { state: 'SANDBOX_READY' } })).filter((s) => s.labels['io.kubernetes.pod.name'] === `alone-${node}`);
  assert.equal(sandboxes.length, 1, 'its sandbox is ready');
  assert.equal((await cluster.ctl(['get', 'pods'], { timeoutMs: 15_000 })).code, 1, 'the control plane is really down');
});
