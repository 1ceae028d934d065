import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { importImage } from '../../src/cri/image-import.js';
import { TEST_IMAGE, testImages } from '../../src/cri/local-images.js';
import { writeOciArchive } from '../../src/cri/oci-image.js';
import { freePort, pollUntil, TestCluster, type CtlProcess } from './harness.js';

// `ctl reset` on a node joined as install.sh joins it (ctl join --join-only, then ctl agent), with
// a running pod: refused while the agent runs; after the agent stops
// (its containers keep running, as under systemd's KillMode=process) it removes the pod's
// containers and sandbox through the node's containerd, the containerd, the pod bridge and the
// data dir, leaving no process and no mount behind.

const bridge = `sk${randomBytes(4).toString('hex')}`;
let cluster: TestCluster;
let agent: CtlProcess;
let dataDir: string;

/** Processes whose command line names the node's data dir (containerd and its shims). */
function processesOf(dir: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}
const mountsUnder = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(dir)).length;

function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<void> {
  return pollUntil(what, timeoutMs, check, () => `${cluster.log.slice(-2000)}\nagent:\n${agent?.stderr.slice(-2000)}`);
}

before(async () => {
  cluster = await TestCluster.start({ serverArgs: ['--nats-port', String(await freePort())] });
  const token = await cluster.ctl(['token', 'create', '--print-join-command']);
  assert.equal(token.code, 0, token.stderr);
  dataDir = cluster.tempDir('agent-reset');
  // As install.sh does it: a one-time join that only saves the identity and flags, then `ctl agent`.
  const joined = await cluster.ctl([
    ...token.stdout.trim().split(' ').slice(1),
    ...['--node-name', 'e2e-reset', '--data-dir', dataDir, '--join-only'],
    ...['--cni-bridge', bridge, '--pod-cidr', `10.89.${randomInt(0, 256)}.0/24`],
  ], { timeoutMs: 60_000 });
  assert.equal(joined.code, 0, joined.stderr);
  assert.match(joined.stderr, /has joined the cluster as "e2e-reset"/, joined.stderr);
  const saved = JSON.parse(readFileSync(join(dataDir, 'identity', 'agent.json'), 'utf8'));
  assert.equal(saved.cniBridge, bridge, '--cni-bridge saved for ctl agent');
  assert.match(saved.assignedPodCidr ?? '', /^10\.42\.\d+\.0\/24$/, 'the subnet the control plane assigned is saved');
  assert.equal(existsSync(join(dataDir, 'containerd')), false, '--join-only starts no runtime');
  agent = cluster.spawnCtl(['agent', '--data-dir', dataDir, '--node-status-update-frequency', '500ms']);
  await waitFor('the node Ready', 60_000, async () => /\sReady\s/.test((await cluster.ctl(['get', 'node', 'e2e-reset', '--no-headers'])).stdout));
  const archive = join(cluster.tempDir('reset-images'), 'images.tar');
  await writeOciArchive(await testImages(), archive);
  const config = readFileSync(join(dataDir, 'containerd', 'config.toml'), 'utf8');
  await importImage(join(dataDir, 'containerd', 'containerd.sock'), archive, { snapshotter: /^\s*snapshotter\s*=\s*"([^"]+)"/m.exec(config)?.[1] ?? 'overlayfs' });
});

after(async () => {
  await agent?.stop();
  for (const pid of dataDir ? processesOf(dataDir) : []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  await cluster?.stop();
  spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
});

test('reset refuses while the agent runs, then removes pods, containerd, bridge and data dir', { timeout: 180_000 }, async () => {
  const manifest = join(cluster.tempDir('reset-manifests'), 'pod.yaml');
  writeFileSync(manifest, `apiVersion: v1\nkind: Pod\nmetadata: {name: sleeper}\nspec:\n  containers:\n  - {name: main, image: ${TEST_IMAGE}, command: [sleep, "3600"]}\n`);
  const applied = await cluster.ctl(['apply', '-f', manifest]);
  assert.equal(applied.code, 0, applied.stderr);
  await waitFor('the pod Running', 60_000, async () => /\sRunning\s/.test((await cluster.ctl(['get', 'pod', 'sleeper', '--no-headers'])).stdout));

  const refused = await cluster.ctl(['reset', '--data-dir', dataDir]);
  assert.equal(refused.code, 1, `refused while the agent runs: ${refused.stdout}`);
  assert.match(refused.stderr, /the agent is running on .* \(pid \d+\): stop it first \(sudo systemctl stop skiff-agent\), or pass --force/, refused.stderr);
  assert.ok(existsSync(join(dataDir, 'identity')), 'nothing removed');

  await agent.stop();
  assert.ok(processesOf(dataDir).length > 0, 'the pod keeps running without its agent (its shim names the data dir)');

  const r = await cluster.ctl(['reset', '--data-dir', dataDir], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /removed the node's pods and stopped its containerd/, r.stdout);
  assert.match(r.stdout, /removed 1 pod sandbox\(es\) and 1 container\(s\)/, r.stdout);
  assert.match(r.stdout, new RegExp(`deleted the pod bridge ${bridge}`), r.stdout);
  assert.match(r.stdout, /ctl delete node e2e-reset/, 'says the Node stays');
  assert.deepEqual(processesOf(dataDir), [], 'no containerd, shim or container left');
  assert.equal(spawnSync('ip', ['link', 'show', bridge], { stdio: 'ignore' }).status !== 0, true, 'bridge gone');
  assert.equal(mountsUnder(dataDir), 0, 'no mount left under the data dir');
  assert.equal(existsSync(dataDir), false, 'the data dir is gone');
  const again = await cluster.ctl(['reset', '--data-dir', dataDir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /nothing to reset/, 'a second reset has nothing to do');
});
