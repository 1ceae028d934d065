import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestNode, tearDownTestNode, waitUntil, type TestNode } from './agent-node.js';
import { ctlPath, fixture, sleep, TestCluster } from './harness.js';

// Pods end to end on real containerd: `ctl server`, one agent joined with `ctl join`, and the
// busybox test image imported into that agent's containerd, all driven through `ctl`.

let cluster: TestCluster;
let node: TestNode | undefined;
let manifests: string;
const created = new Set<string>();

before(async () => {
  cluster = await TestCluster.start();
  manifests = cluster.tempDir('pods-manifests');
  node = await startTestNode(cluster, 'e2e-pods');
});

after(async () => {
  // Pods go first, through the agent, so no container outlives the test.
  await tearDownTestNode(cluster, node, created);
  await cluster?.stop();
  node?.removeBridge();
});

const waitFor = (what: string, timeoutMs: number, check: () => Promise<boolean>) => waitUntil(cluster, node, what, timeoutMs, check);

async function apply(name: string, yaml: string): Promise<void> {
  const file = join(manifests, `${name}.yaml`);
  writeFileSync(file, yaml);
  created.add(name);
  const r = await cluster.ctl(['apply', '-f', file]);
  assert.equal(r.code, 0, r.stderr);
}

async function podStatus(name: string): Promise<string | undefined> {
  const r = await cluster.ctl(['get', 'pod', name, '--no-headers']);
  return r.code === 0 ? r.stdout.trim().split(/\s+/)[2] : undefined;
}

async function waitStatus(name: string, want: string, timeoutMs = 60_000): Promise<void> {
  let last: string | undefined;
  await waitFor(`pod ${name} to be ${want}`, timeoutMs, async () => (last = await podStatus(name)) === want).catch((e: Error) => {
    throw new Error(`${e.message}\nlast status: ${last}`);
  });
}

function onePod(name: string, restartPolicy: string, command: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  restartPolicy: ${restartPolicy}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: docker.io/library/busybox:1.36
    imagePullPolicy: Never
    command: ['sh', '-c', '${command}']
`;
}

test('two init containers then two app containers: get -w shows Init, PodInitializing and Running', { timeout: 120_000 }, async () => {
  const yaml = fixture('pod-init-containers.yaml')
    .replace(/image: docker\.io\/library\/busybox:1\.36/g, 'image: docker.io/library/busybox:1.36\n    imagePullPolicy: Never')
    .replace(/^spec:\n/m, 'spec:\n  terminationGracePeriodSeconds: 1\n')
    .replace(
      /^  initContainers:/m,
      "  - name: second-app\n    image: docker.io/library/busybox:1.36\n    imagePullPolicy: Never\n    command: ['sh', '-c', 'echo second && sleep 3600']\n  initContainers:",
    );
  const watch = cluster.spawnCtl(['get', 'pods', '-w']);
  await apply('myapp-pod', yaml);
  await watch.waitForOutput(/^myapp-pod\s+2\/2\s+Running\s/m, 90_000);
  await watch.stop();
  const statuses = watch.stdout
    .split('\n')
    .filter((l) => l.startsWith('myapp-pod'))
    .map((l) => l.trim().split(/\s+/)[2]);
  assert.ok(statuses.some((s) => /^Init:[01]\/2$/.test(s)), `an Init:N/2 line in ${JSON.stringify(statuses)}`);
  assert.equal(statuses.at(-1), 'Running', `ends with Running: ${JSON.stringify(statuses)}`);
  for (const s of statuses) assert.match(s, /^(Pending|ContainerCreating|Init:[012]\/2|PodInitializing|Running)$/, `unexpected status ${s} in ${JSON.stringify(statuses)}`);

  const describe = await cluster.ctl(['describe', 'pod', 'myapp-pod']);
  assert.equal(describe.code, 0, describe.stderr);
  for (const reason of ['Scheduled', 'Created', 'Started']) assert.match(describe.stdout, new RegExp(`\\b${reason}\\b`), `describe shows ${reason}`);
});

test('restartPolicy Never: exit 0 is Completed, exit 1 is Error', { timeout: 90_000 }, async () => {
  await apply('exit-zero', onePod('exit-zero', 'Never', 'exit 0'));
  await apply('exit-one', onePod('exit-one', 'Never', 'exit 1'));
  await waitStatus('exit-zero', 'Completed');
  await waitStatus('exit-one', 'Error');
  const phase = await cluster.ctl(['get', 'pod', 'exit-one', '-o', 'json']);
  assert.equal(JSON.parse(phase.stdout).status.phase, 'Failed');
});

test('ctl delete pod removes a running pod', { timeout: 90_000 }, async () => {
  await apply('to-delete', onePod('to-delete', 'Always', 'sleep 3600'));
  await waitStatus('to-delete', 'Running');
  const r = await cluster.ctl(['delete', 'pod', 'to-delete'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /pod "to-delete" deleted/);
  await waitFor('to-delete to be gone', 30_000, async () => (await cluster.ctl(['get', 'pod', 'to-delete'])).code !== 0);
  created.delete('to-delete');
});

test('ctl logs: one container with -c, the last lines with --tail and --timestamps, Kubernetes refusals', { timeout: 90_000 }, async () => {
  await waitStatus('myapp-pod', 'Running');
  const unnamed = await cluster.ctl(['logs', 'myapp-pod']);
  assert.equal(unnamed.code, 1, 'refused without -c');
  assert.match(unnamed.stderr, /a container name must be specified for pod myapp-pod, choose one of: \[myapp-container second-app\] or one of the init containers: \[init-myservice init-mydb\]/);
  const app = await cluster.ctl(['logs', 'myapp-pod', '-c', 'myapp-container']);
  assert.equal(app.code, 0, app.stderr);
  assert.equal(app.stdout, 'The app is running!\n');
  const init = await cluster.ctl(['logs', 'myapp-pod', '-c', 'init-mydb']);
  assert.equal(init.stdout, 'waiting for mydb\n');
  const wrong = await cluster.ctl(['logs', 'myapp-pod', '-c', 'nope']);
  assert.equal(wrong.code, 1, 'an unknown container is refused');
  assert.match(wrong.stderr, /container nope is not valid for pod myapp-pod/);

  await apply('counter', onePod('counter', 'Always', 'for i in 1 2 3 4 5; do echo line $i; done; sleep 3600'));
  await waitStatus('counter', 'Running');
  await waitFor('counter to print its five lines', 10_000, async () => (await cluster.ctl(['logs', 'counter'])).stdout.includes('line 5'));
  const tail = await cluster.ctl(['logs', 'counter', '--tail', '2']);
  assert.equal(tail.code, 0, tail.stderr);
  assert.equal(tail.stdout, 'line 4\nline 5\n');
  const stamped = await cluster.ctl(['logs', 'pod/counter', '--tail', '1', '--timestamps']);
  assert.match(stamped.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z line 5\n$/);

  await apply('never-pulled', onePod('never-pulled', 'Always', 'true').replace('busybox:1.36', 'busybox:not-here'));
  await waitStatus('never-pulled', 'ErrImageNeverPull');
  const waiting = await cluster.ctl(['logs', 'never-pulled']);
  assert.equal(waiting.code, 1, 'a waiting container has no log');
  assert.match(waiting.stderr, /container "main" in pod "never-pulled" is waiting to start: ErrImageNeverPull/);
});

test('ctl logs -f prints new lines as the container writes them', { timeout: 60_000 }, async () => {
  await apply('ticker', onePod('ticker', 'Always', 'i=0; while true; i=$((i+1)); do echo tick $i; sleep 0.2; done'));
  await waitStatus('ticker', 'Running');
  const follow = cluster.spawnCtl(['logs', 'ticker', '-f', '--tail', '1']);
  const first = Number((await follow.waitForOutput(/tick (\d+)\n/, 15_000))[1]);
  await follow.waitForOutput(new RegExp(`tick ${first + 5}\\n`), 15_000);
  await follow.stop();
  const numbers = [...follow.stdout.matchAll(/tick (\d+)/g)].map((m) => Number(m[1]));
  assert.deepEqual(numbers, numbers.map((_, i) => first + i), `consecutive lines, none lost or repeated: ${numbers.join(',')}`);
});

test('ctl exec prints the command output and exits with its exit code', { timeout: 60_000 }, async () => {
  await waitStatus('counter', 'Running');
  const ok = await cluster.ctl(['exec', 'counter', '--', 'sh', '-c', 'echo out; echo err >&2']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'out\n');
  assert.equal(ok.stderr, 'err\n');
  const failed = await cluster.ctl(['exec', 'pod/counter', '-c', 'main', '--', 'sh', '-c', 'echo before; exit 3']);
  assert.equal(failed.code, 3, failed.stderr);
  assert.equal(failed.stdout, 'before\n');
  assert.match(failed.stderr, /command terminated with exit code 3/);
  const defaulted = await cluster.ctl(['exec', 'myapp-pod', '--', 'echo', 'in the first']);
  assert.equal(defaulted.code, 0, defaulted.stderr);
  assert.match(defaulted.stderr, /Defaulted container "myapp-container" out of: myapp-container, second-app/);
  assert.equal(defaulted.stdout, 'in the first\n');
});

test('ctl exec -i streams stdin to the command and ends its input at EOF', { timeout: 150_000 }, async () => {
  await apply('shell', onePod('shell', 'Always', 'sleep 3600'));
  await waitStatus('shell', 'Running');
  const cat = await cluster.ctl(['exec', '-i', 'shell', '--', 'cat'], { stdin: 'first line\nsecond line\n' });
  assert.equal(cat.code, 0, `cat ends when stdin does: ${cat.stderr}`);
  assert.equal(cat.stdout, 'first line\nsecond line\n');
  const script = await cluster.ctl(['exec', '-i', 'shell', '--', 'sh'], { stdin: 'echo piped-$((2+3))\necho to-err >&2\nexit 3\n' });
  assert.equal(script.code, 3, script.stderr);
  assert.equal(script.stdout, 'piped-5\n');
  assert.match(script.stderr, /^to-err\ncommand terminated with exit code 3\n$/);
  const notTty = await cluster.ctl(['exec', '-it', 'shell', '--', 'echo', 'plain'], { stdin: '' });
  assert.equal(notTty.code, 0, notTty.stderr);
  assert.match(notTty.stderr, /Unable to use a TTY - input is not a terminal/);
  assert.equal(notTty.stdout, 'plain\n');
  const missing = await cluster.ctl(['exec', '-i', 'shell', '-c', 'nope', '--', 'sh'], { stdin: '' });
  assert.equal(missing.code, 1, 'an unknown container is refused before the stream starts');
  assert.match(missing.stderr, /container nope is not valid for pod shell/);
});

test('ctl exec -it is an interactive terminal: typed input, window resize, the exit code (driven through tmux)', { timeout: 90_000 }, async () => {
  await apply('shell', onePod('shell', 'Always', 'sleep 3600'));
  await waitStatus('shell', 'Running');
  // A tmux server of our own (-L), ended at the end of the test.
  const socketName = `skiff-e2e-${randomBytes(4).toString('hex')}`;
  const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socketName, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  const screen = () => tmux('capture-pane', '-p', '-t', 'exec').stdout ?? '';
  const waitScreen = async (pattern: RegExp, what: string) => {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (pattern.test(screen())) return;
      await sleep(200);
    }
    assert.fail(`the terminal never showed ${what} (${pattern}); it shows:\n${screen()}\nserver log:\n${cluster.log.slice(-2000)}`);
  };
  const command = `${process.execPath} ${ctlPath} --kubeconfig ${cluster.kubeconfig} exec -it shell -- sh; echo EXIT=$?; sleep 600`;
  const started = tmux('new-session', '-d', '-s', 'exec', '-x', '120', '-y', '40', command);
  assert.equal(started.status, 0, `tmux started: ${started.stderr}`);
  try {
    await waitScreen(/^\/ # ?$/m, 'the shell prompt');
    tmux('send-keys', '-t', 'exec', 'echo tty-$((6*7)); tty', 'Enter');
    await waitScreen(/^tty-42$/m, 'the command output');
    assert.match(screen(), /^\/dev\/pts\/\d+$/m, 'the shell has a terminal');
    tmux('resize-window', '-t', 'exec', '-x', '100', '-y', '30');
    await sleep(500);
    tmux('send-keys', '-t', 'exec', 'stty size', 'Enter');
    await waitScreen(/^30 100$/m, 'the new window size');
    tmux('send-keys', '-t', 'exec', 'exit 4', 'Enter');
    await waitScreen(/^EXIT=4$/m, 'ctl exiting with the shell exit code');
  } finally {
    tmux('kill-server');
  }
});

test('the second app container reaches the first on 127.0.0.1: one network namespace per pod', { timeout: 60_000 }, async () => {
  await waitStatus('myapp-pod', 'Running');
  const serve = await cluster.ctl(['exec', 'myapp-pod', '-c', 'myapp-container', '--', 'sh', '-c', 'mkdir -p /tmp/www && echo from-the-first > /tmp/www/index.html && httpd -p 127.0.0.1:8080 -h /tmp/www']);
  assert.equal(serve.code, 0, serve.stderr);
  const fetched = await cluster.ctl(['exec', 'myapp-pod', '-c', 'second-app', '--', 'wget', '-qO-', 'http://127.0.0.1:8080/']);
  assert.equal(fetched.code, 0, fetched.stderr);
  assert.equal(fetched.stdout, 'from-the-first\n');
});

test('ctl logs --previous shows the run before the last restart', { timeout: 90_000 }, async () => {
  await apply('restarter', onePod('restarter', 'Always', 'echo run at $RANDOM$RANDOM; sleep 1; exit 1'));
  let restarts = 0;
  await waitFor('restarter to restart once', 60_000, async () => {
    const r = await cluster.ctl(['get', 'pod', 'restarter', '-o', 'json']);
    restarts = r.code === 0 ? (JSON.parse(r.stdout).status?.containerStatuses?.[0]?.restartCount ?? 0) : 0;
    return restarts >= 1;
  });
  await waitFor('the current run to print', 20_000, async () => /run at/.test((await cluster.ctl(['logs', 'restarter'])).stdout));
  const previous = await cluster.ctl(['logs', 'restarter', '--previous']);
  assert.equal(previous.code, 0, previous.stderr);
  assert.match(previous.stdout, /^run at \d+\n$/);
  const current = await cluster.ctl(['logs', 'restarter']);
  assert.match(current.stdout, /^run at \d+\n$/);
  assert.notEqual(previous.stdout, current.stdout, 'two different runs');
});

test('ctl logs -f ends by itself, with every line, when the container exits', { timeout: 60_000 }, async () => {
  await apply('finisher', onePod('finisher', 'Never', 'for i in 1 2 3 4; do echo n $i; sleep 1; done'));
  await waitStatus('finisher', 'Running');
  const follow = cluster.spawnCtl(['logs', 'finisher', '-f']);
  await follow.waitForOutput(/n 1\n/, 15_000);
  const exited = await new Promise<number | null>((resolve) => {
    if (follow.child.exitCode !== null) resolve(follow.child.exitCode);
    else follow.child.once('exit', (code) => resolve(code));
  });
  assert.equal(exited, 0, follow.stderr);
  assert.equal(follow.stdout, 'n 1\nn 2\nn 3\nn 4\n');
});
