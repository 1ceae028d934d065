import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Pod } from '../../src/api/types.js';
import { importImage } from '../../src/cri/image-import.js';
import { testImages } from '../../src/cri/local-images.js';
import { writeOciArchive } from '../../src/cri/oci-image.js';
import { freePort, pollUntil, TestCluster, type CtlProcess } from './harness.js';

// Liveness, readiness and startup probes end to end: one agent on real containerd, every probe
// pod applied at once so they run side by side, each test then watching its own pod.

const nodeName = 'e2e-probes';
const bridge = `sk${randomBytes(4).toString('hex')}`;
let cluster: TestCluster;
let agent: CtlProcess | undefined;
let manifests: string;
const created = new Set<string>();

const image = 'image: docker.io/library/busybox:1.36\n    imagePullPolicy: Never';

const pods: Record<string, string> = {
  // The classic example with short times: the file goes 5 s after the start.
  'liveness-exec': `
  containers:
  - name: liveness
    ${image}
    args: ['/bin/sh', '-c', 'touch /tmp/healthy; sleep 5; rm -f /tmp/healthy; sleep 600']
    livenessProbe:
      exec:
        command: ['cat', '/tmp/healthy']
      periodSeconds: 1
      failureThreshold: 2
      terminationGracePeriodSeconds: 1`,
  'web-http': `
  containers:
  - name: web
    ${image}
    command: ['sh', '-c', 'mkdir -p /tmp/www && echo ok > /tmp/www/index.html && httpd -p 8080 -h /tmp/www && exec sleep 600']
    ports:
    - name: http
      containerPort: 8080
    readinessProbe:
      httpGet:
        path: /index.html
        port: http
        httpHeaders:
        - name: X-Probe
          value: e2e
      periodSeconds: 1
      failureThreshold: 1`,
  'web-tcp': `
  containers:
  - name: web
    ${image}
    command: ['sh', '-c', 'mkdir -p /tmp/www && httpd -p 8080 -h /tmp/www && exec sleep 600']
    readinessProbe:
      tcpSocket:
        port: 8080
      periodSeconds: 1
      failureThreshold: 1`,
  // Liveness would fail (and restart the container) at once without the startup probe's hold.
  'startup-gate': `
  containers:
  - name: slow
    ${image}
    command: ['sh', '-c', 'sleep 20; touch /tmp/started; exec sleep 600']
    startupProbe:
      exec:
        command: ['cat', '/tmp/started']
      periodSeconds: 1
      failureThreshold: 60
    livenessProbe:
      exec:
        command: ['cat', '/tmp/started']
      periodSeconds: 1
      failureThreshold: 1`,
};

before(async () => {
  const natsPort = await freePort();
  cluster = await TestCluster.start({ serverArgs: ['--nats-port', String(natsPort)] });
  manifests = cluster.tempDir('probes-manifests');
  const token = await cluster.ctl(['token', 'create', '--description', 'e2e probes', '--print-join-command']);
  assert.equal(token.code, 0, token.stderr);
  const dataDir = cluster.tempDir('agent-probes');
  agent = cluster.spawnCtl([
    ...token.stdout.trim().split(' ').slice(1),
    ...['--node-name', nodeName, '--data-dir', dataDir, '--node-status-update-frequency', '500ms'],
    ...['--cni-bridge', bridge, '--pod-cidr', `10.89.${randomInt(0, 256)}.0/24`],
  ]);
  await waitFor('the node to be Ready', 60_000, async () => /\sReady\s/.test((await cluster.ctl(['get', 'node', nodeName, '--no-headers'])).stdout));
  const archive = join(manifests, 'images.tar');
  await writeOciArchive(await testImages(), archive);
  const config = readFileSync(join(dataDir, 'containerd', 'config.toml'), 'utf8');
  const snapshotter = /^\s*snapshotter\s*=\s*"([^"]+)"/m.exec(config)?.[1] ?? 'overlayfs';
  await importImage(join(dataDir, 'containerd', 'containerd.sock'), archive, { snapshotter });
  const file = join(manifests, 'pods.yaml');
  writeFileSync(
    file,
    Object.entries(pods)
      .map(([name, spec]) => `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  terminationGracePeriodSeconds: 1\n${spec.replace(/^\n/, '')}\n`)
      .join('---\n'),
  );
  for (const name of Object.keys(pods)) created.add(name);
  const r = await cluster.ctl(['apply', '-f', file]);
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  for (const name of created) await cluster?.ctl(['delete', 'pod', name, '--grace-period', '1'], { timeoutMs: 60_000 }).catch(() => undefined);
  if (cluster) await waitFor('every pod to be gone', 60_000, async () => (await cluster.ctl(['get', 'pods', '--no-headers'])).stdout.trim() === '').catch(() => undefined);
  await agent?.stop();
  await cluster?.stop();
  spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
});

function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  return pollUntil(what, timeoutMs, check, () => `${cluster.log.slice(-2000)}\nagent:\n${agent?.stderr.slice(-3000)}`, 200);
}

async function getPod(name: string): Promise<Pod> {
  const r = await cluster.ctl(['get', 'pod', name, '-o', 'json']);
  assert.equal(r.code, 0, `get pod ${name}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Pod;
}

async function waitPod(name: string, what: string, timeoutMs: number, cond: (p: Pod) => boolean): Promise<Pod> {
  let last: Pod | undefined;
  await waitFor(`${name}: ${what}`, timeoutMs, async () => cond((last = await getPod(name)))).catch((e: Error) => {
    throw new Error(`${e.message}\nlast status: ${JSON.stringify(last?.status)}`);
  });
  return last!;
}

const condition = (p: Pod, type: string) => p.status?.conditions?.find((c) => c.type === type)?.status;
const container = (p: Pod) => p.status?.containerStatuses?.[0];

/** `ctl get events` lines about one pod. */
async function eventsOf(name: string): Promise<string[]> {
  const r = await cluster.ctl(['get', 'events']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.includes(`pod/${name} `));
}

async function exec(pod: string, script: string): Promise<void> {
  const r = await cluster.ctl(['exec', pod, '--', 'sh', '-c', script], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `exec in ${pod}: ${script}: ${r.stderr}`);
}

test('a startup probe holds liveness: the container is not started, not ready, and never restarted until it passes', { timeout: 300_000 }, async () => {
  const early = await waitPod('startup-gate', 'running', 120_000, (p) => Boolean(container(p)?.state?.running));
  const startedAt = Date.parse(container(early)!.state!.running!.startedAt!);
  if (Date.now() - startedAt < 18_000) {
    assert.equal(container(early)!.started, false, 'not started while the startup probe fails');
    assert.equal(container(early)!.ready, false, 'not ready while the startup probe fails');
  }
  const done = await waitPod('startup-gate', 'started and ready', 120_000, (p) => container(p)?.started === true && container(p)?.ready === true);
  assert.equal(container(done)!.restartCount, 0, 'liveness never ran before startup passed, so no restart');
  assert.equal(condition(done, 'Ready'), 'True', 'the pod turns Ready');
  const startedSeen = Date.now() - startedAt;
  assert.ok(startedSeen >= 19_000, `started no earlier than the file appears (20 s after start), seen after ${startedSeen} ms`);
  const events = await eventsOf('startup-gate');
  assert.ok(events.some((l) => /Warning\s+Unhealthy\s+.*Startup probe failed: cat: can't open '\/tmp\/started'/.test(l)), `startup failures as events:\n${events.join('\n')}`);
  assert.ok(!events.some((l) => /Liveness probe failed/.test(l)), `no liveness attempt before startup passed:\n${events.join('\n')}`);
  const d = await cluster.ctl(['describe', 'pod', 'startup-gate']);
  assert.match(d.stdout, /^ {4}Liveness:\s+exec \[cat \/tmp\/started\] delay=0s timeout=1s period=1s #success=1 #failure=1$/m, `describe shows the liveness probe:\n${d.stdout}`);
  assert.match(d.stdout, /^ {4}Startup:\s+exec \[cat \/tmp\/started\] delay=0s timeout=1s period=1s #success=1 #failure=60$/m, 'describe shows the startup probe');
});

test('the classic exec liveness example: the container restarts soon after the file goes, in the same sandbox', { timeout: 300_000 }, async (t) => {
  // Between restarts the container waits in back-off, so the IP is taken from any status that has one.
  const first = await waitPod('liveness-exec', 'an IP', 120_000, (p) => Boolean(p.status?.podIP));
  const ip = first.status!.podIP;
  const restarted = await waitPod('liveness-exec', 'restarted', 120_000, (p) => (container(p)?.restartCount ?? 0) >= 1 && Boolean(container(p)?.lastState?.terminated));
  const last = container(restarted)!.lastState!.terminated!;
  const deletedAt = Date.parse(last.startedAt!) + 5000;
  const killedAfter = Date.parse(last.finishedAt!) - deletedAt;
  // failureThreshold × periodSeconds + 2 s, plus the probe's 1 s grace and seconds-resolution times;
  // the slack is for a loaded machine.
  assert.ok(killedAfter <= 2 * 1000 + 2000 + 1000 + 4000, `the container stopped ${killedAfter} ms after /tmp/healthy was deleted`);
  t.diagnostic(`stopped ${killedAfter} ms after the deletion (seconds-resolution times)`);
  assert.ok(killedAfter >= 0, `stopped only after the file went (${killedAfter} ms)`);
  assert.ok([137, 143].includes(last.exitCode), `killed by the kubelet-style stop, exit code ${last.exitCode}`);
  assert.ok(last.reason, 'the terminated state has a reason');
  assert.equal(restarted.status!.podIP, ip, 'the container restarted, not the pod: same IP');
  assert.equal(restarted.status!.phase, 'Running', 'the pod keeps running');
  const events = await eventsOf('liveness-exec');
  assert.ok(
    events.some((l) => /Warning\s+Unhealthy\s+.*Liveness probe failed: cat: can't open '\/tmp\/healthy': No such file or directory/.test(l)),
    `an Unhealthy event with the probe's output:\n${events.join('\n')}`,
  );
  assert.ok(events.some((l) => /Normal\s+Killing\s+.*Container liveness failed liveness probe, will be restarted/.test(l)), `a Killing event:\n${events.join('\n')}`);
  const d = await cluster.ctl(['describe', 'pod', 'liveness-exec']);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /^ {4}Liveness:\s+exec \[cat \/tmp\/healthy\] delay=0s timeout=1s period=1s #success=1 #failure=2$/m, `describe shows the probe:\n${d.stdout}`);
  assert.match(d.stdout, /^ {4}Restart Count:\s+[1-9]/m, 'describe shows the restart');
  assert.match(d.stdout, /Killing\s+.*Container liveness failed liveness probe, will be restarted/, 'describe lists the Killing event');
});

test('httpGet and tcpSocket readiness pass while httpd serves and fail when it stops; Ready flips without restarts', { timeout: 300_000 }, async () => {
  const ready = (p: Pod) => container(p)?.ready === true && condition(p, 'Ready') === 'True' && condition(p, 'ContainersReady') === 'True';
  const unready = (p: Pod) => container(p)?.ready === false && condition(p, 'Ready') === 'False' && Boolean(container(p)?.state?.running);
  const http = await waitPod('web-http', 'Ready', 60_000, ready);
  await waitPod('web-tcp', 'Ready', 60_000, ready);
  const ip = http.status!.podIP!;

  // A 404 is a failed httpGet.
  await exec('web-http', 'rm /tmp/www/index.html');
  await waitPod('web-http', 'unready on 404', 90_000, unready);
  await exec('web-http', 'echo ok > /tmp/www/index.html');
  await waitPod('web-http', 'Ready again', 90_000, ready);

  // No server: both fail.
  await exec('web-http', 'killall httpd');
  await exec('web-tcp', 'killall httpd');
  await waitPod('web-http', 'unready without a server', 90_000, unready);
  const tcpDown = await waitPod('web-tcp', 'unready without a server', 90_000, unready);
  const tcpIp = tcpDown.status!.podIP!;
  await exec('web-http', 'httpd -p 8080 -h /tmp/www');
  await exec('web-tcp', 'httpd -p 8080 -h /tmp/www');
  const httpBack = await waitPod('web-http', 'Ready with httpd back', 90_000, ready);
  const tcpBack = await waitPod('web-tcp', 'Ready with httpd back', 90_000, ready);
  assert.equal(container(httpBack)!.restartCount, 0, 'readiness never restarts a container (httpGet)');
  assert.equal(container(tcpBack)!.restartCount, 0, 'readiness never restarts a container (tcpSocket)');

  const httpEvents = await eventsOf('web-http');
  assert.ok(httpEvents.some((l) => /Readiness probe failed: HTTP probe failed with statuscode: 404/.test(l)), `the 404 as an event:\n${httpEvents.join('\n')}`);
  assert.ok(
    httpEvents.some((l) => l.includes(`Readiness probe failed: Get "http://${ip}:8080/index.html": dial tcp ${ip}:8080: connect: connection refused`)),
    `the refused connection as an event:\n${httpEvents.join('\n')}`,
  );
  const tcpEvents = await eventsOf('web-tcp');
  assert.ok(tcpEvents.some((l) => l.includes(`Readiness probe failed: dial tcp ${tcpIp}:8080: connect: connection refused`)), `the tcp failure as an event:\n${tcpEvents.join('\n')}`);
  assert.ok(!httpEvents.some((l) => /Killing/.test(l)) && !tcpEvents.some((l) => /Killing/.test(l)), 'nothing was killed');

  const d = await cluster.ctl(['describe', 'pod', 'web-http']);
  assert.match(d.stdout, /^ {4}Readiness:\s+http-get http:\/\/:http\/index.html delay=0s timeout=1s period=1s #success=1 #failure=1$/m, `describe shows the httpGet probe:\n${d.stdout}`);
  const t = await cluster.ctl(['describe', 'pod', 'web-tcp']);
  assert.match(t.stdout, /^ {4}Readiness:\s+tcp-socket :8080 delay=0s timeout=1s period=1s #success=1 #failure=1$/m, `describe shows the tcpSocket probe:\n${t.stdout}`);
});
