import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { labels } from '../../src/agent/pods/labels.js';
import { connectRuntime } from '../../src/cri/client.js';
import type { CriRuntime } from '../../src/cri/runtime.js';
import { startTestNode, tearDownTestNode, waitForNodeReady, waitUntil, type TestNode } from './agent-node.js';
import { sleep, TestCluster } from './harness.js';

// Edge autonomy through real processes: an agent killed with SIGKILL comes back and adopts the
// containers it left running; a control plane away for 30 s leaves pods running and a crashing
// container still restarted by the node, and status converges once it returns.

let cluster: TestCluster;
let node: TestNode | undefined;
let cri: CriRuntime | undefined;
let manifests: string;
const created = new Set<string>();

before(async () => {
  cluster = await TestCluster.start();
  manifests = cluster.tempDir('edge-manifests');
  node = await startTestNode(cluster, 'e2e-edge');
  cri = await connectRuntime(`unix://${node.socket}`);
});

after(async () => {
  cri?.close();
  await tearDownTestNode(cluster, node, created);
  await cluster?.stop();
  node?.removeBridge();
});

const waitFor = (what: string, timeoutMs: number, check: () => Promise<boolean>) => waitUntil(cluster, node, what, timeoutMs, check);

async function apply(name: string, command: string): Promise<void> {
  const file = join(manifests, `${name}.yaml`);
  writeFileSync(
    file,
    `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: docker.io/library/busybox:1.36
    imagePullPolicy: Never
    command: ['sh', '-c', '${command}']
`,
  );
  created.add(name);
  const r = await cluster.ctl(['apply', '-f', file]);
  assert.equal(r.code, 0, r.stderr);
}

interface MainStatus {
  phase?: string;
  containerID?: string;
  restartCount: number;
  running: boolean;
}

async function mainStatus(name: string): Promise<MainStatus | undefined> {
  const r = await cluster.ctl(['get', 'pod', name, '-o', 'json']);
  if (r.code !== 0) return undefined;
  const pod = JSON.parse(r.stdout);
  const s = pod.status?.containerStatuses?.[0];
  return { phase: pod.status?.phase, containerID: s?.containerID, restartCount: s?.restartCount ?? 0, running: Boolean(s?.state?.running) };
}

/** What containerd itself runs for a pod, whatever the control plane believes. */
async function containersOf(pod: string): Promise<{ id: string; running: boolean }[]> {
  const list = await cri!.listContainers({ labelSelector: { [labels.podName]: pod } });
  return list.map((c) => ({ id: c.id, running: c.state === 'CONTAINER_RUNNING' }));
}

test('kill -9 of the agent: the next agent adopts the running containers and restarts none', { timeout: 180_000 }, async () => {
  await apply('steady', 'sleep 3600');
  await waitFor('steady to run', 60_000, async () => (await mainStatus('steady'))?.running === true);
  const before = (await mainStatus('steady'))!;
  assert.equal(before.restartCount, 0, 'not restarted before the test');

  const pid = node!.agent.child.pid!;
  const exited = new Promise<void>((r) => node!.agent.child.once('exit', () => r()));
  process.kill(pid, 'SIGKILL');
  await exited;
  const orphaned = await containersOf('steady');
  assert.deepEqual(orphaned.filter((c) => c.running).map((c) => `containerd://${c.id}`), [before.containerID], 'the container outlives its agent');

  node!.restart();
  await waitForNodeReady(cluster, node!.name, () => node!.agent.stderr);
  // Time for the new agent's workers to look at the pod and, were adoption broken, restart it.
  await sleep(5_000);
  const after = (await mainStatus('steady'))!;
  assert.equal(after.containerID, before.containerID, 'the same container, adopted');
  assert.equal(after.restartCount, 0, 'no restart');
  assert.ok(after.running, 'still running');
  const now = await containersOf('steady');
  assert.equal(now.length, 1, `one container for the pod in containerd, not a second one: ${JSON.stringify(now)}`);
});

test('the control plane away for 30 s: pods keep running, a crash is still restarted, status converges after', { timeout: 240_000 }, async () => {
  await apply('crasher', 'echo run; sleep 2; exit 1');
  await waitFor('crasher to run once', 60_000, async () => (await containersOf('crasher')).some((c) => c.running));
  const steadyBefore = (await mainStatus('steady'))!;
  const seen = new Set((await containersOf('crasher')).map((c) => c.id));
  const restartsBefore = (await mainStatus('crasher'))?.restartCount ?? 0;

  const outageStarted = Date.now();
  await cluster.stopServer();
  const unreachable = await cluster.ctl(['get', 'pods'], { timeoutMs: 30_000 });
  assert.notEqual(unreachable.code, 0, 'the control plane is really down');
  // The node restarts the crashed container on its own (back-off 10 s, then 20 s).
  await waitFor('a new crasher container started by the node alone', 30_000, async () => (await containersOf('crasher')).some((c) => !seen.has(c.id)));
  const steadyDuring = await containersOf('steady');
  assert.deepEqual(steadyDuring.filter((c) => c.running).map((c) => `containerd://${c.id}`), [steadyBefore.containerID], 'steady keeps running, untouched');
  const left = 30_000 - (Date.now() - outageStarted);
  if (left > 0) await sleep(left);

  await cluster.startServer();
  await waitForNodeReady(cluster, node!.name, () => node!.agent.stderr);
  await waitFor('the crasher restarts to reach the control plane', 60_000, async () => ((await mainStatus('crasher'))?.restartCount ?? 0) > restartsBefore);
  const steadyAfter = (await mainStatus('steady'))!;
  assert.equal(steadyAfter.containerID, steadyBefore.containerID, 'steady was never restarted');
  assert.equal(steadyAfter.restartCount, 0, 'steady restartCount stays 0');
  assert.equal(steadyAfter.phase, 'Running');
});
