import type { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { encodeFrame, EXEC_STREAM_PROTOCOL, ExecChannel, ExecFrameDecoder, type ExecStreamStatus } from '../api/exec-stream.js';
import type { Pod } from '../api/types.js';
import { CliError } from './errors.js';
import { resolveResource } from './kinds.js';
import type { Io } from './io.js';
import type { RestClient } from './rest-client.js';

// `ctl exec POD [-c C] [-i] [-t] -- CMD...`. Without -i the API server has the pod's node run the
// command (CRI ExecSync) and answers with its output and exit code. With -i (and -t for a
// terminal) the request is upgraded to a stream of frames both ways (src/api/exec-stream.ts).
// Either way the command's exit code becomes ours, as kubectl's does.

export interface ExecOptions {
  namespace: string;
  container?: string;
  command: string[];
  /** -i: pass stdin to the command. */
  stdin?: boolean;
  /** -t: a terminal (needs -i and a terminal on our side). */
  tty?: boolean;
}

/** The local terminal, for -t: raw mode and its size. */
export interface LocalTerminal {
  isTTY: boolean;
  setRawMode(raw: boolean): void;
  size(): { cols: number; rows: number };
  onResize(listener: () => void): () => void;
}

export const processTerminal: LocalTerminal = {
  isTTY: Boolean(process.stdin.isTTY && process.stdout.isTTY),
  setRawMode: (raw) => void process.stdin.setRawMode?.(raw),
  size: () => ({ cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 }),
  onResize: (l) => {
    process.stdout.on('resize', l);
    return () => void process.stdout.off('resize', l);
  },
};

interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  truncated: boolean;
}

/** As kubectl: the pod's default-container annotation, else its first container. */
async function defaultContainer(client: RestClient, io: Io, namespace: string, name: string): Promise<string> {
  const pod = (await client.get(resolveResource('pods'), namespace, name)) as Pod;
  const names = pod.spec.containers.map((c) => c.name);
  const annotated = pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'];
  if (annotated && names.includes(annotated)) return annotated;
  if (names.length > 1) io.err(`Defaulted container "${names[0]}" out of: ${names.join(', ')}\n`);
  return names[0];
}

export async function runExec(client: RestClient, io: Io, pod: string, opts: ExecOptions, terminal: LocalTerminal = processTerminal): Promise<number> {
  const container = opts.container ?? (await defaultContainer(client, io, opts.namespace, pod));
  if (opts.tty && !opts.stdin) io.err('Unable to use a TTY - input is not enabled: add -i\n');
  if (opts.stdin) {
    let tty = Boolean(opts.tty);
    if (tty && !terminal.isTTY) {
      io.err('Unable to use a TTY - input is not a terminal or the right kind of file\n');
      tty = false;
    }
    return runStreaming(client, io, terminal, pod, { ...opts, container, tty });
  }
  const qs = new URLSearchParams({ container });
  for (const arg of opts.command) qs.append('command', arg);
  const path = `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/pods/${encodeURIComponent(pod)}/exec?${qs}`;
  // Read as a stream: a command may run longer than the client's idle timeout before answering.
  const chunks: Buffer[] = [];
  for await (const chunk of client.getStream(path, {})) chunks.push(chunk);
  const result = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExecResult;
  const stdout = Buffer.from(result.stdout, 'base64').toString('utf8');
  const stderr = Buffer.from(result.stderr, 'base64').toString('utf8');
  if (stdout) io.out(stdout);
  if (stderr) io.err(stderr);
  if (result.truncated) io.err('(output cut: it exceeded what one exec answer may carry)\n');
  if (result.exitCode !== 0) io.err(`command terminated with exit code ${result.exitCode}\n`);
  return result.exitCode;
}

async function runStreaming(client: RestClient, io: Io, terminal: LocalTerminal, pod: string, opts: ExecOptions & { container: string; tty: boolean }): Promise<number> {
  const qs = new URLSearchParams({ container: opts.container, stdin: 'true', tty: String(opts.tty) });
  for (const arg of opts.command) qs.append('command', arg);
  const path = `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/pods/${encodeURIComponent(pod)}/exec?${qs}`;
  const socket = await client.upgrade(path, EXEC_STREAM_PROTOCOL);
  const stopResize = opts.tty ? terminal.onResize(() => sendSize()) : () => undefined;
  const sendSize = () => {
    const { cols, rows } = terminal.size();
    socket.write(encodeFrame(ExecChannel.resize, JSON.stringify({ Width: cols, Height: rows })));
  };
  if (opts.tty) {
    sendSize();
    terminal.setRawMode(true);
  }
  const onInput = (chunk: Buffer | string) => {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    // Frames are bounded; a big paste goes in several.
    for (let i = 0; i < data.length; i += 64 * 1024) socket.write(encodeFrame(ExecChannel.stdin, data.subarray(i, i + 64 * 1024)));
  };
  const onEnd = () => {
    if (!socket.destroyed) socket.write(encodeFrame(ExecChannel.closeStdin));
  };
  io.stdin.on('data', onInput);
  io.stdin.once('end', onEnd);
  try {
    const status = await readUntilStatus(socket, io);
    if ('error' in status) throw new CliError(status.error.message);
    if (status.exitCode !== 0 && !opts.tty) io.err(`command terminated with exit code ${status.exitCode}\n`);
    return status.exitCode;
  } finally {
    io.stdin.off('data', onInput);
    io.stdin.off('end', onEnd);
    io.stdin.pause();
    stopResize();
    if (opts.tty) terminal.setRawMode(false);
    socket.destroy();
  }
}

function readUntilStatus(socket: Duplex, io: Io): Promise<ExecStreamStatus> {
  const decoder = new ExecFrameDecoder();
  // A character may be cut between two frames.
  const stdout = new StringDecoder('utf8');
  const stderr = new StringDecoder('utf8');
  return new Promise((resolvePromise, reject) => {
    let status: ExecStreamStatus | undefined;
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of decoder.push(chunk)) {
          if (f.channel === ExecChannel.stdout) io.out(stdout.write(f.payload));
          else if (f.channel === ExecChannel.stderr) io.err(stderr.write(f.payload));
          else if (f.channel === ExecChannel.status) status = JSON.parse(f.payload.toString('utf8')) as ExecStreamStatus;
        }
      } catch (e) {
        reject(new CliError(`the exec stream from the server is corrupt: ${(e as Error).message}`));
        socket.destroy();
      }
    });
    socket.on('close', () => (status ? resolvePromise(status) : reject(new CliError('the connection to the server ended before the command did'))));
    socket.on('error', () => undefined);
  });
}
