import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { resourceByKind } from '../../src/api/resources.js';
import type { Pod } from '../../src/api/types.js';
import { reflect } from '../../src/cli/reflector.js';
import { importImage } from '../../src/cri/image-import.js';
import { TEST_IMAGE, TEST_IMAGE_B, testImages } from '../../src/cri/local-images.js';
import { writeOciArchive } from '../../src/cri/oci-image.js';
import { freePort, pollUntil, TestCluster, type CtlProcess, type CtlResult } from './harness.js';

// A Deployment's life on real containerd, driven through `ctl` as a kubectl user would: roll
// out 3 busybox httpd replicas with a readiness probe, scale to 5, change the image while a
// watch checks that ready pods never drop below replicas − maxUnavailable, read the history,
// undo, restart, replace a pod deleted by hand, and delete it all. One agent, one cluster.

const nodeName = 'e2e-rollout';
const bridge = `sk${randomBytes(4).toString('hex')}`;
const maxUnavailable = 1;
let cluster: TestCluster;
let agent: CtlProcess | undefined;
let dir: string;

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    kubernetes.io/change-cause: first release
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: ${maxUnavailable}}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: ${TEST_IMAGE}
        imagePullPolicy: Never
        command: ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www']
        readinessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 1
`;

before(async () => {
  cluster = await TestCluster.start({ serverArgs: ['--nats-port', String(await freePort())] });
  dir = cluster.tempDir('rollout');
  const token = await cluster.ctl(['token', 'create', '--description', 'e2e rollout', '--print-join-command']);
  ok(token, 'token create');
  const dataDir = cluster.tempDir('agent-rollout');
  agent = cluster.spawnCtl([
    ...token.stdout.trim().split(' ').slice(1),
    ...['--node-name', nodeName, '--data-dir', dataDir, '--node-status-update-frequency', '500ms'],
    ...['--cni-bridge', bridge, '--pod-cidr', `10.89.${randomInt(0, 256)}.0/24`],
  ]);
  await waitFor('the node to be Ready', 60_000, async () => /\sReady\s/.test((await cluster.ctl(['get', 'node', nodeName, '--no-headers'])).stdout));
  const archive = join(dir, 'images.tar');
  await writeOciArchive(await testImages(), archive);
  const config = readFileSync(join(dataDir, 'containerd', 'config.toml'), 'utf8');
  const snapshotter = /^\s*snapshotter\s*=\s*"([^"]+)"/m.exec(config)?.[1] ?? 'overlayfs';
  await importImage(join(dataDir, 'containerd', 'containerd.sock'), archive, { snapshotter });
}, { timeout: 180_000 });

after(async () => {
  // The pods go through the agent first, so no container outlives the test.
  if (cluster) {
    await cluster.ctl(['delete', 'deployment', 'web', '--ignore-not-found'], { timeoutMs: 60_000 }).catch(() => undefined);
    await waitFor('every pod to be gone', 60_000, async () => (await cluster.ctl(['get', 'pods', '--no-headers'])).stdout.trim() === '').catch(() => undefined);
  }
  await agent?.stop();
  await cluster?.stop();
  spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
}, { timeout: 120_000 });

function ok(r: CtlResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (${r.code}):\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
}

function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  return pollUntil(what, timeoutMs, check, () => `${cluster.log.slice(-3000)}\nagent:\n${agent?.stderr.slice(-3000)}`, 300);
}

const isReady = (p: Pod) => !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** The Deployment's pods, terminating ones included. */
async function pods(): Promise<Pod[]> {
  const r = await cluster.ctl(['get', 'pods', '-l', 'app=web', '-o', 'json']);
  ok(r, 'get pods -o json');
  const parsed = JSON.parse(r.stdout || '{"items":[]}') as { items?: Pod[] } & Pod;
  return parsed.items ?? (parsed.kind === 'Pod' ? [parsed] : []);
}

/** Waits until exactly `n` pods exist, all Running and ready, all on `image`; returns them. */
async function settled(n: number, image: string, timeoutMs = 120_000): Promise<Pod[]> {
  let last: Pod[] = [];
  await waitFor(`${n} ready pods of ${image}`, timeoutMs, async () => {
    last = await pods();
    return last.length === n && last.every((p) => isReady(p) && p.status?.phase === 'Running' && p.spec.containers[0].image === image);
  }).catch((e: Error) => {
    throw new Error(`${e.message}\nlast pods: ${last.map((p) => `${p.metadata.name} ${p.status?.phase} ${p.spec.containers[0].image} ready=${isReady(p)}`).join('; ')}`);
  });
  return last;
}

async function rolloutStatus(): Promise<CtlResult> {
  const r = await cluster.ctl(['rollout', 'status', 'deployment/web', '--timeout', '3m'], { timeoutMs: 200_000 });
  ok(r, 'rollout status');
  assert.match(r.stdout, /deployment "web" successfully rolled out\n$/, `rollout status ends with kubectl's success line:\n${r.stdout}`);
  return r;
}

test('a Deployment rolls out, scales, updates without dropping below its availability, rolls back, restarts and is deleted with its pods', { timeout: 900_000 }, async () => {
  const file = join(dir, 'web.yaml');
  writeFileSync(file, deployment);
  ok(await cluster.ctl(['apply', '-f', file]), 'apply');
  await rolloutStatus();
  await settled(3, TEST_IMAGE);
  const get = await cluster.ctl(['get', 'deploy', 'web', '--no-headers']);
  assert.match(get.stdout, /^web\s+3\/3\s+3\s+3\s/, `get deploy shows 3/3 ready, 3 up to date, 3 available:\n${get.stdout}`);

  const scale = await cluster.ctl(['scale', 'deployment/web', '--replicas=5']);
  ok(scale, 'scale');
  assert.equal(scale.stdout, 'deployment.apps/web scaled\n', 'scale prints what kubectl prints');
  const stale = await cluster.ctl(['scale', 'deployment', 'web', '--replicas=4', '--current-replicas=3']);
  assert.equal(stale.code, 1, `a failed --current-replicas precondition fails the command:\n${stale.stdout}${stale.stderr}`);
  assert.match(stale.stderr, /Expected replicas to be 3, was 5/, `the precondition error says what it found: ${stale.stderr}`);
  await settled(5, TEST_IMAGE);
  const all = await cluster.ctl(['get', 'all']);
  ok(all, 'get all');
  assert.match(all.stdout, /^pod\/web-[a-z0-9]+-[a-z0-9]+\s+1\/1\s+Running\s/m, `get all lists the pods with their kind:\n${all.stdout}`);
  assert.match(all.stdout, /\n\nNAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\ndeployment\.apps\/web\s+5\/5\s/, `get all lists the deployment after a blank line:\n${all.stdout}`);
  assert.match(all.stdout, /\n\nNAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\nreplicaset\.apps\/web-[a-z0-9]+\s+5\s+5\s+5\s/, `get all lists the replica set:\n${all.stdout}`);

  // A watch from before the image change to the end of the rollout: the ready count after every event.
  const client = cluster.client();
  const stop = new AbortController();
  const ready = new Map<string, boolean>();
  let minReady = Infinity;
  let events = 0;
  const imagesSeenReady = new Set<string>();
  const watching = (async () => {
    for await (const ev of reflect(client, resourceByKind('Pod')!, { namespace: 'default', labelSelector: 'app=web' }, stop.signal)) {
      const changed = ev.type === 'LIST' ? ev.items : [ev.object];
      for (const o of changed as Pod[]) {
        if (ev.type === 'DELETED') ready.delete(o.metadata.name!);
        else ready.set(o.metadata.name!, isReady(o));
        if (ev.type !== 'DELETED' && isReady(o)) imagesSeenReady.add(o.spec.containers[0].image!);
      }
      events++;
      minReady = Math.min(minReady, [...ready.values()].filter(Boolean).length);
    }
  })();
  try {
    await waitFor('the watch to list the pods', 30_000, async () => events > 0);
    assert.equal(minReady, 5, 'the watch starts from 5 ready pods');
    const bad = await cluster.ctl(['set', 'image', 'deployment/web', 'nosuch=busybox']);
    assert.equal(bad.code, 1, 'an unknown container fails set image');
    assert.match(bad.stderr, /unable to find container named "nosuch"/, `the error names the container: ${bad.stderr}`);
    const set = await cluster.ctl(['set', 'image', 'deployment/web', `web=${TEST_IMAGE_B}`]);
    ok(set, 'set image');
    assert.equal(set.stdout, 'deployment.apps/web image updated\n', 'set image prints what kubectl prints');
    const status = await rolloutStatus();
    assert.match(status.stdout, /Waiting for deployment "web" rollout to finish: /, `rollout status shows progress while it waits:\n${status.stdout}`);
    await settled(5, TEST_IMAGE_B);
  } finally {
    stop.abort();
    await watching.catch(() => undefined);
    client.close();
  }
  assert.ok(imagesSeenReady.has(TEST_IMAGE_B), `the watch saw pods of the new image become ready (saw ${[...imagesSeenReady].join(', ')})`);
  assert.ok(events > 10, `the watch saw the rollout (${events} events)`);
  assert.ok(minReady >= 5 - maxUnavailable, `ready pods never dropped below replicas − maxUnavailable = ${5 - maxUnavailable}; the fewest seen was ${minReady}`);

  const history = await cluster.ctl(['rollout', 'history', 'deployment/web']);
  ok(history, 'rollout history');
  assert.equal(history.stdout, 'deployment.apps/web\nREVISION  CHANGE-CAUSE\n1         first release\n2         first release\n\n', `two revisions:\n${history.stdout}`);
  const rev1 = await cluster.ctl(['rollout', 'history', 'deployment/web', '--revision=1']);
  ok(rev1, 'rollout history --revision=1');
  assert.match(rev1.stdout, /^deployment\.apps\/web with revision #1\nPod Template:\n/, `revision 1's template is shown:\n${rev1.stdout}`);
  assert.match(rev1.stdout, new RegExp(`Image:\\s+${TEST_IMAGE.replace(/\./g, '\\.')}\\n`), `revision 1 ran the first image:\n${rev1.stdout}`);
  const missing = await cluster.ctl(['rollout', 'undo', 'deployment/web', '--to-revision=9']);
  assert.equal(missing.code, 1, 'undo to an unknown revision fails');
  assert.match(missing.stderr, /unable to find specified revision 9 in history/, `the error names the revision: ${missing.stderr}`);

  const undo = await cluster.ctl(['rollout', 'undo', 'deployment/web']);
  ok(undo, 'rollout undo');
  assert.equal(undo.stdout, 'deployment.apps/web rolled back\n', 'undo prints what kubectl prints');
  await rolloutStatus();
  const back = await settled(5, TEST_IMAGE);
  assert.ok(back.every((p) => p.spec.containers[0].image === TEST_IMAGE), 'every pod runs the first image again');

  const restart = await cluster.ctl(['rollout', 'restart', 'deployment/web']);
  ok(restart, 'rollout restart');
  assert.equal(restart.stdout, 'deployment.apps/web restarted\n', 'restart prints what kubectl prints');
  await rolloutStatus();
  const before = new Set(back.map((p) => p.metadata.name));
  const restarted = await settled(5, TEST_IMAGE);
  assert.ok(restarted.every((p) => !before.has(p.metadata.name)), `every pod was replaced: before ${[...before].join(',')}, after ${restarted.map((p) => p.metadata.name).join(',')}`);
  assert.ok(restarted.every((p) => p.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']), 'the new pods carry the restartedAt annotation');

  const victim = restarted[0].metadata.name!;
  ok(await cluster.ctl(['delete', 'pod', victim, '--grace-period', '1'], { timeoutMs: 60_000 }), 'delete a pod by hand');
  const replaced = await settled(5, TEST_IMAGE);
  assert.ok(!replaced.some((p) => p.metadata.name === victim), `the deleted pod ${victim} is gone and another took its place`);

  ok(await cluster.ctl(['delete', 'deployment', 'web'], { timeoutMs: 60_000 }), 'delete deployment');
  await waitFor('no replica set and no pod left', 90_000, async () => {
    const rs = await cluster.ctl(['get', 'rs', '-o', 'name']);
    return rs.stdout.trim() === '' && (await pods()).length === 0;
  });
});
