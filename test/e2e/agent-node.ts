import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importImage } from '../../src/cri/image-import.js';
import { testImages } from '../../src/cri/local-images.js';
import { writeOciArchive } from '../../src/cri/oci-image.js';
import { pollUntil, type CtlProcess, type TestCluster } from './harness.js';

// One real node for end-to-end tests: an agent joined with `ctl join` (its own containerd, CNI
// bridge and pod subnet), Ready, with the busybox test images imported into its containerd.

export interface TestNode {
  name: string;
  dataDir: string;
  bridge: string;
  /** The agent's containerd socket. */
  socket: string;
  agent: CtlProcess;
  /** Starts `ctl agent` again on the same data dir (after the first one was stopped or killed). */
  restart(): CtlProcess;
  /** Removes the CNI bridge; call after the agent and its pods are gone. */
  removeBridge(): void;
}

/** `extraArgs` go to `ctl join` (and to the agent after restart()). */
export async function startTestNode(cluster: TestCluster, name: string, extraArgs: string[] = []): Promise<TestNode> {
  const token = await cluster.ctl(['token', 'create', '--description', `e2e ${name}`, '--print-join-command']);
  assert.equal(token.code, 0, token.stderr);
  const dataDir = cluster.tempDir(`agent-${name}`);
  const bridge = `sk${randomBytes(4).toString('hex')}`;
  const agent = cluster.spawnCtl([
    ...token.stdout.trim().split(' ').slice(1),
    ...['--node-name', name, '--data-dir', dataDir, '--node-status-update-frequency', '500ms'],
    ...['--cni-bridge', bridge, '--pod-cidr', `10.88.${randomInt(0, 256)}.0/24`],
    ...extraArgs,
  ]);
  await waitForNodeReady(cluster, name, () => agent.stderr);
  const socket = join(dataDir, 'containerd', 'containerd.sock');
  const archive = join(cluster.tempDir('images'), 'images.tar');
  await writeOciArchive(await testImages(), archive);
  const config = readFileSync(join(dataDir, 'containerd', 'config.toml'), 'utf8');
  const snapshotter = /^\s*snapshotter\s*=\s*"([^"]+)"/m.exec(config)?.[1] ?? 'overlayfs';
  await importImage(socket, archive, { snapshotter });
  const node: TestNode = {
    name,
    dataDir,
    bridge,
    socket,
    agent,
    restart() {
      node.agent = cluster.spawnCtl(['agent', '--data-dir', dataDir, '--node-status-update-frequency', '500ms', ...extraArgs]);
      return node.agent;
    },
    removeBridge() {
      spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    },
  };
  return node;
}

export function waitForNodeReady(cluster: TestCluster, name: string, agentLog: () => string, timeoutMs = 60_000): Promise<void> {
  const ready = async () => /\sReady\s/.test((await cluster.ctl(['get', 'node', name, '--no-headers'])).stdout);
  return pollUntil(`node ${name} to be Ready`, timeoutMs, ready, () => `${cluster.log.slice(-3000)}\nagent:\n${agentLog().slice(-3000)}`);
}

/** Polls `check` until it holds; a timeout shows the server's and the agent's latest output. */
export function waitUntil(cluster: TestCluster, node: TestNode | undefined, what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  return pollUntil(what, timeoutMs, check, () => `${cluster.log.slice(-3000)}\nagent:\n${node?.agent.stderr.slice(-3000)}`);
}

/** Deletes the pods a test made, through the agent so no container outlives the test, then stops the node. */
export async function tearDownTestNode(cluster: TestCluster | undefined, node: TestNode | undefined, pods: Iterable<string>): Promise<void> {
  if (cluster) {
    for (const name of pods) await cluster.ctl(['delete', 'pod', name, '--grace-period', '1'], { timeoutMs: 60_000 }).catch(() => undefined);
    await waitUntil(cluster, node, 'every pod to be gone', 60_000, async () => (await cluster.ctl(['get', 'pods', '--no-headers'])).stdout.trim() === '').catch(() => undefined);
  }
  await node?.agent.stop();
}
