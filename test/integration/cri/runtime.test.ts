import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { importImage } from '../../../src/cri/image-import.js';
import { buildLayer, writeOciArchive } from '../../../src/cri/oci-image.js';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connectRuntime } from '../../../src/cri/client.js';
import { CriConnectError, CriError, isNotFound } from '../../../src/cri/errors.js';
import type { ContainerConfig, ContainerStatus, PodSandboxConfig } from '../../../src/cri/types.js';
import { PAUSE_IMAGE, startTestContainerd, TEST_IMAGE, TEST_IMAGE_B, type TestContainerd } from '../../helpers/containerd.js';

// The CRI client against a real containerd started for this file: sandboxes with CNI, containers,
// logs, exec, OOM kills, pod-local networking and the error for a missing runtime.

let ctd: TestContainerd;

before(async () => {
  ctd = await startTestContainerd();
}, { timeout: 60_000 });

after(async () => {
  await ctd?.stop();
}, { timeout: 60_000 });

let podSeq = 0;

function sandboxConfig(name: string, extra: Partial<PodSandboxConfig> = {}): PodSandboxConfig {
  const uid = `uid-${name}-${++podSeq}`;
  return {
    metadata: { name, uid, namespace: 'default', attempt: 0 },
    hostname: name,
    logDirectory: join(ctd.logRoot, `default_${name}_${uid}`),
    labels: { 'io.kubernetes.pod.name': name, test: 'cri' },
    ...extra,
  };
}

function container(name: string, command: string[], extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return { metadata: { name, attempt: 0 }, image: { image: TEST_IMAGE }, command, logPath: `${name}/0.log`, ...extra };
}

async function runContainer(podId: string, sb: PodSandboxConfig, config: ContainerConfig): Promise<string> {
  const id = await ctd.runtime.createContainer(podId, config, sb);
  await ctd.runtime.startContainer(id);
  return id;
}

async function waitExited(id: string, ms = 15_000): Promise<ContainerStatus> {
  const until = Date.now() + ms;
  for (;;) {
    const { status } = await ctd.runtime.containerStatus(id);
    if (status.state === 'CONTAINER_EXITED') return status;
    if (Date.now() > until) throw new Error(`container ${id} still ${status.state} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function removePod(id: string): Promise<void> {
  await ctd.runtime.stopPodSandbox(id);
  await ctd.runtime.removePodSandbox(id);
}

test('Version and Status describe a ready containerd serving CRI v1', { timeout: 10_000 }, async () => {
  const v = await ctd.runtime.version();
  assert.equal(v.runtimeName, 'containerd');
  assert.equal(v.runtimeApiVersion, 'v1');
  assert.match(v.runtimeVersion, /^\d+\.\d+/);
  const conditions = (await ctd.runtime.status()).status?.conditions ?? [];
  for (const type of ['RuntimeReady', 'NetworkReady']) {
    assert.equal(conditions.find((c) => c.type === type)?.status, true, `${type} is true`);
  }
});

test('the locally built images are listed and found by name; a missing one is null', { timeout: 10_000 }, async () => {
  const tags = (await ctd.runtime.listImages()).flatMap((i) => i.repoTags);
  for (const name of [PAUSE_IMAGE, TEST_IMAGE, TEST_IMAGE_B]) assert.ok(tags.includes(name), `${name} in ${tags.join(', ')}`);
  const a = await ctd.runtime.imageStatus({ image: TEST_IMAGE });
  const b = await ctd.runtime.imageStatus({ image: TEST_IMAGE_B });
  assert.match(a?.id ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.notEqual(a?.id, b?.id, 'the two busybox tags are distinct images');
  assert.equal(await ctd.runtime.imageStatus({ image: 'docker.io/library/absent:1' }), null);
  const fs = await ctd.runtime.imageFsInfo();
  // Usage figures arrive with containerd's first stats sweep; the filesystem itself is known at once.
  assert.ok(fs.imageFilesystems[0]?.fsId?.mountpoint.startsWith(ctd.dataDir), JSON.stringify(fs));
});

test('an image archive file is imported by name and can be removed again', { timeout: 20_000 }, async () => {
  const name = 'docker.io/skiff/import-check:1';
  const path = join(ctd.dataDir, 'import-check.tar');
  const layer = await buildLayer([{ type: 'file', path: 'hello.txt', content: Buffer.from('hello\n') }]);
  await writeOciArchive([{ name, layers: [layer], config: { cmd: ['/hello'] } }], path);
  assert.deepEqual(await importImage(ctd.address, path, { snapshotter: ctd.managed.snapshotter }), [name]);
  const image = await ctd.runtime.imageStatus({ image: name });
  assert.deepEqual(image?.repoTags, [name]);
  await ctd.runtime.removeImage({ image: name });
  assert.equal(await ctd.runtime.imageStatus({ image: name }), null);
  await assert.rejects(importImage(ctd.address, join(ctd.dataDir, 'no-such.tar')), /no-such\.tar/);
});

test('a pod sandbox gets an IP from the node subnet through CNI and can be found by label', { timeout: 30_000 }, async () => {
  const sb = sandboxConfig('net');
  const id = await ctd.runtime.runPodSandbox(sb);
  try {
    const { status } = await ctd.runtime.podSandboxStatus(id);
    assert.equal(status.state, 'SANDBOX_READY');
    assert.equal(status.metadata?.uid, sb.metadata.uid);
    const prefix = ctd.podCidr.split('.').slice(0, 3).join('.');
    assert.ok(status.network?.ip.startsWith(`${prefix}.`), `pod IP ${status.network?.ip} within ${ctd.podCidr}`);
    const found = await ctd.runtime.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.name': 'net' } });
    assert.deepEqual(found.map((p) => p.id), [id]);
  } finally {
    await removePod(id);
  }
});

test('a hostNetwork sandbox shares the node network namespace', { timeout: 30_000 }, async () => {
  // As kubelet does, no hostname: runc cannot set one without a private UTS namespace.
  const sb = sandboxConfig('hostnet', { hostname: '', linux: { securityContext: { namespaceOptions: { network: 'NODE' } } } });
  const id = await ctd.runtime.runPodSandbox(sb);
  try {
    const { status } = await ctd.runtime.podSandboxStatus(id);
    assert.equal(status.linux?.namespaces?.options?.network, 'NODE');
    const c = await runContainer(id, sb, container('ip', ['sh', '-c', 'sleep 600']));
    const ifaces = await ctd.runtime.execSync(c, ['ls', '/sys/class/net'], 10);
    assert.ok(ifaces.stdout.toString().split(/\s+/).includes(ctd.bridgeName) || ifaces.stdout.toString().includes('eth0'),
      `node interfaces visible: ${ifaces.stdout}`);
  } finally {
    await removePod(id);
  }
});

test('a container writes stdout and stderr to its CRI log file and exits Completed', { timeout: 30_000 }, async () => {
  const sb = sandboxConfig('logs');
  const id = await ctd.runtime.runPodSandbox(sb);
  try {
    const c = await runContainer(id, sb, container('echo', ['sh', '-c', 'echo hello from busybox; echo oops >&2'], {
      envs: [{ key: 'GREETING', value: 'hi' }],
    }));
    const status = await waitExited(c);
    assert.equal(status.exitCode, 0);
    assert.equal(status.reason, 'Completed');
    // The exit time comes from the shim, the start time from containerd: a quick exit may precede it.
    assert.ok(status.startedAt > 0 && status.finishedAt > 0);
    assert.equal(status.logPath, join(sb.logDirectory!, 'echo/0.log'));
    const lines = readFileSync(status.logPath, 'utf8').trim().split('\n');
    // CRI log format: <RFC3339Nano> <stream> <P|F> <text>
    assert.ok(lines.some((l) => /^\S+Z stdout F hello from busybox$/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /^\S+Z stderr F oops$/.test(l)), lines.join('\n'));
  } finally {
    await removePod(id);
  }
});

test('ExecSync returns stdout, stderr and the exit code, zero or not', { timeout: 30_000 }, async () => {
  const sb = sandboxConfig('exec');
  const id = await ctd.runtime.runPodSandbox(sb);
  try {
    const c = await runContainer(id, sb, container('sleeper', ['sleep', '600'], {
      image: { image: TEST_IMAGE_B },
    }));
    const ok = await ctd.runtime.execSync(c, ['sh', '-c', 'echo $SKIFF_IMAGE_VARIANT; echo to-stderr >&2'], 10);
    assert.deepEqual([ok.stdout.toString(), ok.stderr.toString(), ok.exitCode], ['b\n', 'to-stderr\n', 0]);
    const failed = await ctd.runtime.execSync(c, ['sh', '-c', 'exit 3'], 10);
    assert.equal(failed.exitCode, 3);
    const stats = await ctd.runtime.containerStats(c);
    assert.equal(stats?.attributes?.id, c);
    assert.ok((stats?.memory?.workingSetBytes?.value ?? 0) > 0, 'memory usage reported');
    const listed = await ctd.runtime.listContainerStats({ podSandboxId: id });
    assert.deepEqual(listed.map((x) => x.attributes?.id), [c]);
    await ctd.runtime.reopenContainerLog(c);
    const url = await ctd.runtime.exec({ containerId: c, cmd: ['sh'], stdout: true, stderr: true });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\//);
  } finally {
    await removePod(id);
  }
});

test('a container over its 16Mi memory limit is OOMKilled', { timeout: 30_000 }, async () => {
  const sb = sandboxConfig('oom');
  const id = await ctd.runtime.runPodSandbox(sb);
  try {
    // dd fills a 64 MiB buffer from /dev/zero, touching every page of it.
    const c = await runContainer(id, sb, container('hog', ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'], {
      linux: { resources: { memoryLimitInBytes: 16 * 1024 * 1024, cpuPeriod: 100_000, cpuQuota: 50_000, cpuShares: 512 } },
    }));
    const status = await waitExited(c);
    assert.equal(status.reason, 'OOMKilled');
    assert.equal(status.exitCode, 137);
  } finally {
    await removePod(id);
  }
});

test('two containers of one pod reach each other on 127.0.0.1', { timeout: 30_000 }, async () => {
  const sb = sandboxConfig('pair');
  const id = await ctd.runtime.runPodSandbox(sb);
  try {
    await runContainer(id, sb, container('web', ['sh', '-c', 'mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 8080 -h /www']));
    const client = await runContainer(id, sb, container('client', ['sleep', '600']));
    let body = '';
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      const r = await ctd.runtime.execSync(client, ['wget', '-q', '-O', '-', 'http://127.0.0.1:8080/'], 5);
      body = r.stdout.toString();
      if (r.exitCode === 0) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal(body, 'hello-from-web\n');
    assert.equal((await ctd.runtime.listContainers({ podSandboxId: id, state: { state: 'CONTAINER_RUNNING' } })).length, 2);
  } finally {
    await removePod(id);
  }
});

test('stop and remove a container, then the sandbox; removing again is harmless', { timeout: 30_000 }, async () => {
  const sb = sandboxConfig('lifecycle');
  const id = await ctd.runtime.runPodSandbox(sb);
  const c = await runContainer(id, sb, container('main', ['sleep', '600']));
  assert.equal((await ctd.runtime.containerStatus(c)).status.state, 'CONTAINER_RUNNING');

  await ctd.runtime.stopContainer(c, 2);
  const stopped = (await ctd.runtime.containerStatus(c)).status;
  assert.equal(stopped.state, 'CONTAINER_EXITED');
  await ctd.runtime.removeContainer(c);
  await assert.rejects(ctd.runtime.containerStatus(c), (err) => {
    assert.ok(isNotFound(err), String(err));
    assert.match((err as CriError).message, /^CRI ContainerStatus failed: /);
    return true;
  });

  await ctd.runtime.stopPodSandbox(id);
  assert.equal((await ctd.runtime.podSandboxStatus(id)).status.state, 'SANDBOX_NOTREADY');
  await ctd.runtime.removePodSandbox(id);
  assert.equal((await ctd.runtime.listPodSandbox({ id })).length, 0);
  await ctd.runtime.removePodSandbox(id);
  await ctd.runtime.stopPodSandbox(id).catch((err) => assert.ok(isNotFound(err), String(err)));
});

test('connecting to a socket that does not exist says so and asks whether containerd runs', { timeout: 10_000 }, async () => {
  const endpoint = `unix://${join(ctd.dataDir, 'nothing-here.sock')}`;
  await assert.rejects(connectRuntime(endpoint), (err) => {
    assert.ok(err instanceof CriConnectError);
    assert.equal(err.problem, 'socket-missing');
    assert.equal(err.message, `no container runtime at ${endpoint}: is containerd running?`);
    return true;
  });
});
