// An interactive process in a running container. With a terminal: `ctr task exec --tty`, which
// ships with containerd, inside a pseudo-terminal from node-pty (window size included). With
// plain pipes: `runc exec` on the container's runc state, because it passes our pipes straight
// to the process, so the end of stdin reaches it; ctr never tells the shim to close stdin, and
// `cat` would wait forever. CRI's own Exec answers with a URL to containerd's streaming server,
// which speaks SPDY or WebSocket; these reach the same container without either.
import { spawn as spawnChild } from 'node:child_process';
import * as pty from 'node-pty';
import { socketPathOf } from './client.js';
import { CRI_NAMESPACE } from './image-import.js';

export interface TaskExecOptions {
  /** containerd's grpc socket (`unix://` optional). */
  address: string;
  containerId: string;
  command: string[];
  tty: boolean;
  /** Unique per container while the process runs. */
  execId: string;
  cols?: number;
  rows?: number;
  /** runc's state directory for containerd's k8s.io namespace (`runc --root`). */
  runcRoot: string;
  /** Default `ctr` from PATH. */
  ctrPath?: string;
  /** Default `runc` from PATH. */
  runcPath?: string;
}

export interface TaskExecProcess {
  /** Output; a terminal merges stderr into stdout as a real one does. */
  onOutput(listener: (stream: 'stdout' | 'stderr', data: Buffer) => void): void;
  /** Once, with the process's exit code (128 + signal when a signal ended it). */
  onExit(listener: (exitCode: number) => void): void;
  write(data: Buffer): void;
  /** No more input (without a terminal: closes the process's stdin). */
  endInput(): void;
  resize(cols: number, rows: number): void;
  kill(): void;
}

const signalNumbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };


export function startTaskExec(o: TaskExecOptions): TaskExecProcess {
  return o.tty ? startInTerminal(o) : startWithPipes(o);
}

function startInTerminal(o: TaskExecOptions): TaskExecProcess {
  const args = ['--address', socketPathOf(o.address), '--namespace', CRI_NAMESPACE, 'task', 'exec', '--tty', '--exec-id', o.execId, o.containerId, ...o.command];
  const term = pty.spawn(o.ctrPath ?? 'ctr', args, {
    name: 'xterm',
    cols: o.cols ?? 80,
    rows: o.rows ?? 24,
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  return {
    onOutput: (l) => void term.onData((d) => l('stdout', Buffer.from(d, 'utf8'))),
    onExit: (l) => void term.onExit(({ exitCode, signal }) => l(signal ? 128 + signal : exitCode)),
    write: (data) => term.write(data.toString('utf8')),
    // ^D at the start of a line is what ends a terminal's input.
    endInput: () => term.write('\x04'),
    resize: (cols, rows) => term.resize(cols, rows),
    kill: () => term.kill('SIGHUP'),
  };
}

function startWithPipes(o: TaskExecOptions): TaskExecProcess {
  const child = spawnChild(o.runcPath ?? 'runc', ['--root', o.runcRoot, 'exec', o.containerId, ...o.command], { stdio: ['pipe', 'pipe', 'pipe'] });
  const outputListeners: ((stream: 'stdout' | 'stderr', data: Buffer) => void)[] = [];
  const exitListeners: ((code: number) => void)[] = [];
  let exitCode: number | undefined;
  const exited = (code: number) => {
    if (exitCode !== undefined) return;
    exitCode = code;
    for (const l of exitListeners) l(code);
  };
  child.stdout.on('data', (d: Buffer) => outputListeners.forEach((l) => l('stdout', d)));
  child.stderr.on('data', (d: Buffer) => outputListeners.forEach((l) => l('stderr', d)));
  child.on('error', (e) => {
    outputListeners.forEach((l) => l('stderr', Buffer.from(`cannot run runc: ${e.message}\n`)));
    exited(127);
  });
  child.on('close', (code, signal) => exited(code ?? 128 + (signal ? (signalNumbers[signal] ?? 0) : 0)));
  // A process that stops reading its stdin must not crash the agent with EPIPE.
  child.stdin.on('error', () => undefined);
  return {
    onOutput: (l) => void outputListeners.push(l),
    onExit: (l) => {
      if (exitCode !== undefined) l(exitCode);
      else exitListeners.push(l);
    },
    write: (data) => void child.stdin.write(data),
    endInput: () => child.stdin.end(),
    resize: () => undefined,
    kill: () => void child.kill('SIGTERM'),
  };
}
