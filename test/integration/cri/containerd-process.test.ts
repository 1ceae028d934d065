import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startContainerd } from '../../../src/cri/containerd-process.js';
import { ensurePauseImage } from '../../../src/cri/local-images.js';
import type { PodSandboxConfig } from '../../../src/cri/types.js';
import { PAUSE_IMAGE, startTestContainerd, TEST_IMAGE, type TestContainerd } from '../../helpers/containerd.js';

// The managed containerd: it comes back after it dies, and stopping it leaves pods running for
// the next containerd on the same directory.

let ctd: TestContainerd;

before(async () => {
  ctd = await startTestContainerd();
}, { timeout: 60_000 });

after(async () => {
  await ctd?.stop();
}, { timeout: 60_000 });

async function eventually<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not happen within ${ms} ms${last ? `: ${String(last)}` : ''}`);
}

function sandbox(name: string): PodSandboxConfig {
  return { metadata: { name, uid: `uid-${name}`, namespace: 'default' }, hostname: name, logDirectory: join(ctd.logRoot, name) };
}

test('the config enables only what this machine needs and keeps state under the data directory', { timeout: 10_000 }, async () => {
  const config = readFileSync(ctd.managed.configPath, 'utf8');
  const hasSysResource = (BigInt(`0x${/^CapEff:\s*(\w+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]}`) >> 24n) & 1n;
  assert.match(config, new RegExp(`restrict_oom_score_adj = ${hasSysResource ? 'false' : 'true'}`));
  assert.match(config, new RegExp(`sandbox_image = "${PAUSE_IMAGE}"`));
  assert.match(config, new RegExp(`address = "${ctd.address}"`));
  assert.equal(ctd.endpoint, `unix://${ctd.address}`);
  assert.ok(['overlayfs', 'native'].includes(ctd.managed.snapshotter));
});

test('a killed containerd is restarted and its pods are still there', { timeout: 60_000 }, async () => {
  const sb = sandbox('survivor');
  const id = await ctd.runtime.runPodSandbox(sb);
  const c = await ctd.runtime.createContainer(id, { metadata: { name: 'main' }, image: { image: TEST_IMAGE }, command: ['sleep', '600'], logPath: 'main.log' }, sb);
  await ctd.runtime.startContainer(c);

  const before = ctd.managed.pid();
  assert.ok(before);
  process.kill(before, 'SIGKILL');
  const after = await eventually('a new containerd', 15_000, async () => {
    const pid = ctd.managed.pid();
    return pid && pid !== before ? pid : undefined;
  });
  assert.notEqual(after, before);

  // The same client reconnects on its own.
  const state = await eventually('CRI answering again', 15_000, async () => (await ctd.runtime.containerStatus(c)).status.state);
  assert.equal(state, 'CONTAINER_RUNNING');
  assert.equal((await ctd.runtime.podSandboxStatus(id)).status.state, 'SANDBOX_READY');
  const r = await ctd.runtime.execSync(c, ['echo', 'still here'], 10);
  assert.equal(r.stdout.toString(), 'still here\n');
});

test('stop() leaves containers running; the next containerd on the same directory adopts them', { timeout: 60_000 }, async () => {
  const sb = sandbox('adopted');
  const id = await ctd.runtime.runPodSandbox(sb);
  const c = await ctd.runtime.createContainer(id, { metadata: { name: 'main' }, image: { image: TEST_IMAGE }, command: ['sleep', '600'], logPath: 'main.log' }, sb);
  await ctd.runtime.startContainer(c);
  const verbose = await ctd.runtime.containerStatus(c, { verbose: true });
  const pid = (JSON.parse(verbose.info.info ?? '{}') as { pid?: number }).pid ?? 0;
  assert.ok(pid > 0, 'verbose status carries the container pid');

  await ctd.managed.stop();
  assert.equal(ctd.managed.pid(), undefined);
  assert.ok(existsSync(`/proc/${pid}`), 'the container process outlives containerd');

  await ctd.restart();
  assert.equal((await ctd.runtime.containerStatus(c)).status.state, 'CONTAINER_RUNNING');
  assert.equal((await ctd.runtime.podSandboxStatus(id)).status.state, 'SANDBOX_READY');
});

test('a node without the pause image builds and imports it once, and pods then run', { timeout: 60_000 }, async () => {
  const bare = await startTestContainerd({ images: false });
  try {
    assert.equal(await bare.runtime.imageStatus({ image: PAUSE_IMAGE }), null);
    assert.equal(await ensurePauseImage(bare.runtime, bare.address, { snapshotter: bare.managed.snapshotter }), true);
    assert.equal(await ensurePauseImage(bare.runtime, bare.address, { snapshotter: bare.managed.snapshotter }), false);
    const sb: PodSandboxConfig = { metadata: { name: 'p', uid: 'p', namespace: 'default' }, hostname: 'p', logDirectory: join(bare.logRoot, 'p') };
    const id = await bare.runtime.runPodSandbox(sb);
    assert.equal((await bare.runtime.podSandboxStatus(id)).status.state, 'SANDBOX_READY');
    // Run as an ordinary container, the pause process ends on SIGTERM instead of waiting for the kill.
    const c = await bare.runtime.createContainer(id, { metadata: { name: 'pause' }, image: { image: PAUSE_IMAGE }, logPath: 'pause.log' }, sb);
    await bare.runtime.startContainer(c);
    const started = Date.now();
    await bare.runtime.stopContainer(c, 20);
    assert.ok(Date.now() - started < 5_000, `stopped in ${Date.now() - started} ms`);
    const status = (await bare.runtime.containerStatus(c)).status;
    assert.deepEqual([status.state, status.exitCode], ['CONTAINER_EXITED', 0]);
  } finally {
    await bare.stop();
  }
});

test('a containerd binary that is not installed fails startup with what to install', { timeout: 20_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-ctd-missing-'));
  try {
    await assert.rejects(
      startContainerd({ dataDir: dir, podCidr: '10.88.250.0/24', bridgeName: 'skmissing', sandboxImage: PAUSE_IMAGE, containerdPath: join(dir, 'no-containerd'), restart: false }),
      /cannot start .*no-containerd: .*install containerd/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('invalid options are all reported at once', { timeout: 5_000 }, async () => {
  await assert.rejects(
    startContainerd({ dataDir: join(tmpdir(), 'unused'), podCidr: '10.88.1.0', bridgeName: 'a-bridge-name-too-long', sandboxImage: 'pause' }),
    (err: Error) => {
      assert.match(err.message, /bridgeName .*15/);
      assert.match(err.message, /podCidr/);
      assert.match(err.message, /sandboxImage .*fully qualified/);
      return true;
    },
  );
});
