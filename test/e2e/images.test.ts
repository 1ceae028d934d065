import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildLayer, busyboxRootfs, writeOciArchive } from '../../src/cri/oci-image.js';
import { ctlPath, freePort, pollUntil, stopProcess, TestCluster, type CtlProcess } from './harness.js';

// `ctl image load` and `ctl image ls` end to end: two agents, each with its own containerd, get
// an image archive built here (never pulled) through the control plane and NATS; a pod that may
// not pull (imagePullPolicy Never) runs from it.

const nodes = ['e2e-img-a', 'e2e-img-b'];
const bridges = nodes.map(() => `sk${randomBytes(4).toString('hex')}`);
const agentDirs: string[] = [];
const agents: CtlProcess[] = [];
let cluster: TestCluster;
let work: string;
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

before(async () => {
  cluster = await TestCluster.start({ serverArgs: ['--nats-port', String(await freePort())] });
  work = cluster.tempDir('images-work');
  const token = await cluster.ctl(['token', 'create', '--description', 'e2e images', '--print-join-command']);
  assert.equal(token.code, 0, `token create failed: ${token.stderr}`);
  const subnet = randomInt(0, 250);
  for (const [i, node] of nodes.entries()) {
    const dataDir = cluster.tempDir(`agent-${node}`);
    agentDirs.push(dataDir);
    agents.push(
      cluster.spawnCtl([
        ...token.stdout.trim().split(' ').slice(1),
        ...['--node-name', node, '--data-dir', dataDir, '--node-status-update-frequency', '500ms'],
        ...['--cni-bridge', bridges[i], '--pod-cidr', `10.89.${subnet + i}.0/24`],
      ]),
    );
  }
  for (const node of nodes) {
    await waitFor(`node ${node} to be Ready`, 90_000, async () => /\sReady\s/.test((await cluster.ctl(['get', 'node', node, '--no-headers'])).stdout));
  }
});

after(async () => {
  await cluster?.ctl(['delete', 'pod', 'from-archive', '--grace-period', '1'], { timeoutMs: 60_000 }).catch(() => undefined);
  if (cluster) await waitFor('every pod to be gone', 60_000, async () => (await cluster.ctl(['get', 'pods', '--no-headers'])).stdout.trim() === '').catch(() => undefined);
  for (const a of agents) await a.stop();
  await cluster?.stop();
  for (const b of bridges) spawnSync('ip', ['link', 'del', b], { stdio: 'ignore' });
});

function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  // A command that times out on a busy machine is one more try, not a failure.
  return pollUntil(what, timeoutMs, () => check().catch(() => false), () => `${cluster.log.slice(-3000)}\nagents:\n${agents.map((a) => a.stderr.slice(-2000)).join('\n')}`);
}

/** An OCI archive of one busybox image named `name`. */
async function archiveOf(name: string, file: string): Promise<string> {
  const path = join(work, file);
  const layer = await buildLayer(busyboxRootfs());
  await writeOciArchive([{ name, layers: [layer], config: { cmd: ['sh'], env: [PATH_ENV, `LOADED_AS=${name}`] } }], path);
  return path;
}

function tempFilesOf(dataDir: string): string[] {
  const dir = join(dataDir, 'tmp', 'images');
  return existsSync(dir) ? readdirSync(dir) : [];
}

test('image load refuses a missing file, a file that is no tar and an unknown node, saying why', { timeout: 60_000 }, async () => {
  const missing = await cluster.ctl(['image', 'load', join(work, 'nope.tar'), '--node', nodes[0]]);
  assert.equal(missing.code, 1, `a missing file must fail: ${missing.stdout}`);
  assert.match(missing.stderr, /nope\.tar: no such file/, 'the error names the missing file');

  const text = join(work, 'notes.txt');
  writeFileSync(text, 'just some text, not an archive\n'.repeat(40));
  const notTar = await cluster.ctl(['image', 'load', text, '--node', nodes[0]]);
  assert.equal(notTar.code, 1, 'a text file must be refused');
  assert.match(notTar.stderr, /is not a tar archive.*docker save/, 'the error says what the command takes');

  const archive = await archiveOf('docker.io/skiff/loaded:0', 'loaded-0.tar');
  const unknown = await cluster.ctl(['image', 'load', archive, '--node', 'no-such-node']);
  assert.equal(unknown.code, 1, 'an unknown node must fail');
  assert.match(unknown.stderr, /nodes "no-such-node" not found/, 'the error names the unknown node');

  const neither = await cluster.ctl(['image', 'load', archive]);
  assert.equal(neither.code, 1, 'load without --node or --all must fail');
  assert.match(neither.stderr, /--node NAME, or --all/, 'the error says how to choose nodes');
});

test('a tar that holds no image fails with the import error and leaves no temp file', { timeout: 120_000 }, async () => {
  const tarPath = join(work, 'not-an-image.tar');
  const made = spawnSync('tar', ['-cf', tarPath, '-C', work, 'notes.txt'], { encoding: 'utf8' });
  assert.equal(made.status, 0, `tar failed: ${made.stderr}`);
  const r = await cluster.ctl(['image', 'load', tarPath, '--node', nodes[0]], { timeoutMs: 60_000 });
  assert.equal(r.code, 1, `importing a tar without an image must fail: ${r.stdout}`);
  assert.match(r.stderr, new RegExp(`${nodes[0]}: .*importing .* failed: .+`), `the error carries ctr's message: ${r.stderr}`);
  assert.deepEqual(tempFilesOf(agentDirs[0]), [], 'the node removed the archive it received');
});

test('image load --node puts the image on that node only; a pod that never pulls runs from it', { timeout: 240_000 }, async () => {
  const name = 'docker.io/skiff/loaded:1';
  const archive = await archiveOf(name, 'loaded-1.tar');
  const r = await cluster.ctl(['image', 'load', archive, '--node', nodes[0]], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `image load failed: ${r.stderr}`);
  assert.match(r.stdout, new RegExp(`^${nodes[0]}: sent [\\d.]+ MiB of [\\d.]+ MiB$`, 'm'), `plain progress lines when stdout is no terminal: ${r.stdout}`);
  assert.match(r.stdout, new RegExp(`^${nodes[0]}: loaded ${name.replace(/\./g, '\\.')}$`, 'm'), `the node reports the image it imported: ${r.stdout}`);
  assert.deepEqual(tempFilesOf(agentDirs[0]), [], 'the node removed the archive after importing it');

  const onA = await cluster.ctl(['image', 'ls', '--node', nodes[0]]);
  assert.equal(onA.code, 0, `image ls failed: ${onA.stderr}`);
  assert.match(onA.stdout, /^NODE\s+IMAGE\s+ID\s+SIZE$/m, `kubectl-style header: ${onA.stdout}`);
  assert.match(onA.stdout, new RegExp(`^${nodes[0]}\\s+docker\\.io/skiff/loaded:1\\s+[0-9a-f]{13}\\s+[\\d.]+[kM]?B$`, 'm'), `the loaded image is listed: ${onA.stdout}`);
  const onB = await cluster.ctl(['image', 'ls', '--node', nodes[1]]);
  assert.equal(onB.code, 0, `image ls on the other node failed: ${onB.stderr}`);
  assert.doesNotMatch(onB.stdout, /skiff\/loaded:1/, 'the other node did not get the image');

  const pod = join(work, 'pod.yaml');
  writeFileSync(
    pod,
    `apiVersion: v1
kind: Pod
metadata:
  name: from-archive
spec:
  nodeSelector:
    kubernetes.io/hostname: ${nodes[0]}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${name}
    imagePullPolicy: Never
    command: ['sh', '-c', 'echo loaded-as=$LOADED_AS && sleep 3600']
`,
  );
  const applied = await cluster.ctl(['apply', '-f', pod]);
  assert.equal(applied.code, 0, `apply failed: ${applied.stderr}`);
  await waitFor('the pod to run', 90_000, async () => /\sRunning\s/.test((await cluster.ctl(['get', 'pod', 'from-archive', '--no-headers'])).stdout));
  await waitFor('its log line', 30_000, async () => (await cluster.ctl(['logs', 'from-archive'])).stdout.includes(`loaded-as=${name}`));
});

test('image load --all loads every Ready node; image ls lists them all', { timeout: 240_000 }, async () => {
  const name = 'docker.io/skiff/loaded:2';
  const archive = await archiveOf(name, 'loaded-2.tar');
  const r = await cluster.ctl(['image', 'load', archive, '--all'], { timeoutMs: 180_000 });
  assert.equal(r.code, 0, `image load --all failed: ${r.stderr}`);
  for (const node of nodes) assert.match(r.stdout, new RegExp(`^${node}: loaded docker\\.io/skiff/loaded:2$`, 'm'), `node ${node} reports the image: ${r.stdout}`);

  const ls = await cluster.ctl(['image', 'ls']);
  assert.equal(ls.code, 0, `image ls failed: ${ls.stderr}`);
  for (const node of nodes) assert.match(ls.stdout, new RegExp(`^${node}\\s+docker\\.io/skiff/loaded:2\\s`, 'm'), `image ls shows the image on ${node}: ${ls.stdout}`);
  assert.match(ls.stdout, new RegExp(`^${nodes[0]}\\s+docker\\.io/skiff/pause:3\\.9\\s`, 'm'), `the pause image each agent builds is listed too: ${ls.stdout}`);
});

test('on a terminal, image load draws a progress bar per node', { timeout: 180_000 }, async () => {
  const archive = await archiveOf('docker.io/skiff/loaded:3', 'loaded-3.tar');
  // script(1) gives the command a pseudo-terminal, as a user's shell would.
  const command = [process.execPath, ctlPath, '--kubeconfig', cluster.kubeconfig, 'image', 'load', archive, '--node', nodes[1]].join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: undefined } });
  cluster.addProcess(child);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const timer = setTimeout(() => void stopProcess(child), 150_000);
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  clearTimeout(timer);
  assert.equal(code, 0, `image load on a terminal failed: ${out}`);
  assert.match(out, new RegExp(`${nodes[1]} \\[[^\\]]+\\] 100% \\| [\\d.]+ MiB/[\\d.]+ MiB`), `a bar that reaches 100%: ${JSON.stringify(out.slice(-600))}`);
  assert.doesNotMatch(out, /sent [\d.]+ MiB of/, 'no plain progress lines on a terminal');
  assert.match(out, new RegExp(`${nodes[1]}: loaded docker\\.io/skiff/loaded:3`), 'the result line follows the bar');
});
