import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTaskExec, type TaskExecProcess } from '../../../src/cri/task-exec.js';
import { startTestContainerd, TEST_IMAGE, type TestContainerd } from '../../helpers/containerd.js';

// Interactive processes in a real container: with pipes (stdin's end reaches the process) and in
// a terminal (a tty, resized on request), each ending with the process's exit code.

let ctd: TestContainerd;
let podId: string;
let containerId: string;

before(async () => {
  ctd = await startTestContainerd();
  const sb = {
    metadata: { name: 'task-exec', uid: 'uid-task-exec', namespace: 'default', attempt: 0 },
    hostname: 'task-exec',
    logDirectory: join(ctd.logRoot, 'task-exec'),
    labels: { test: 'task-exec' },
  };
  podId = await ctd.runtime.runPodSandbox(sb);
  containerId = await ctd.runtime.createContainer(podId, { metadata: { name: 'main', attempt: 0 }, image: { image: TEST_IMAGE }, command: ['sleep', '3600'], logPath: 'main/0.log' }, sb);
  await ctd.runtime.startContainer(containerId);
}, { timeout: 90_000 });

after(async () => {
  if (podId) {
    await ctd.runtime.stopPodSandbox(podId).catch(() => undefined);
    await ctd.runtime.removePodSandbox(podId).catch(() => undefined);
  }
  await ctd?.stop();
}, { timeout: 60_000 });

function collect(p: TaskExecProcess): { out: () => string; err: () => string; exit: Promise<number> } {
  let out = '';
  let err = '';
  p.onOutput((stream, d) => {
    if (stream === 'stdout') out += d.toString('utf8');
    else err += d.toString('utf8');
  });
  const exit = new Promise<number>((r) => p.onExit(r));
  return { out: () => out, err: () => err, exit };
}

function start(command: string[], tty: boolean): TaskExecProcess {
  return startTaskExec({ address: ctd.address, runcRoot: ctd.managed.runcRoot, containerId, command, tty, execId: `test-${Math.random().toString(36).slice(2)}` });
}

async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

test('with pipes: input goes in, the end of input ends cat, stdout and stderr stay apart', { timeout: 60_000 }, async () => {
  const cat = start(['cat'], false);
  const c = collect(cat);
  cat.write(Buffer.from('one\ntwo\n'));
  cat.endInput();
  assert.equal(await within(20_000, 'cat ending at the end of its input', c.exit), 0);
  assert.equal(c.out(), 'one\ntwo\n');

  const sh = start(['sh', '-c', 'read x; echo "got $x"; echo oops >&2; exit 5'], false);
  const s = collect(sh);
  sh.write(Buffer.from('hello\n'));
  assert.equal(await within(20_000, 'sh exiting', s.exit), 5);
  assert.equal(s.out(), 'got hello\n');
  assert.equal(s.err(), 'oops\n');
});

test('in a terminal: a tty, its size follows resize, the exit code comes back', { timeout: 60_000 }, async () => {
  const sh = start(['sh'], true);
  const c = collect(sh);
  const waitOut = async (pattern: RegExp, what: string) => {
    const deadline = Date.now() + 20_000;
    while (!pattern.test(c.out())) {
      if (Date.now() > deadline) assert.fail(`no ${what} in the terminal output: ${JSON.stringify(c.out())}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  sh.write(Buffer.from('tty\n'));
  await waitOut(/\/dev\/pts\/\d+/, 'tty device');
  sh.resize(101, 33);
  await new Promise((r) => setTimeout(r, 300));
  sh.write(Buffer.from('stty size\n'));
  await waitOut(/^33 101\r?$/m, 'new size');
  sh.write(Buffer.from('exit 7\n'));
  assert.equal(await within(20_000, 'the shell exiting', c.exit), 7);
});

test('a container that does not exist: the process fails with a message, not a hang', { timeout: 30_000 }, async () => {
  const p = startTaskExec({ address: ctd.address, runcRoot: ctd.managed.runcRoot, containerId: 'no-such-container', command: ['true'], tty: false, execId: 'x' });
  const c = collect(p);
  const code = await within(20_000, 'runc failing', c.exit);
  assert.notEqual(code, 0, 'a non-zero exit code');
  assert.match(c.err(), /no-such-container|not exist|not found/i, `runc says why: ${c.err()}`);
});
