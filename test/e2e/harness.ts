// End-to-end harness: runs the built `ctl` (dist/cmd/ctl.js) as real processes. A TestCluster
// starts `ctl server` on a loopback port with its own data directory, waits for its kubeconfig
// and /readyz, runs client commands against it, and on stop ends every process it started (by
// pid) and removes its directories. Later stages add agents and containerd through `addProcess`
// and `tempDir`, so their cleanup rides along.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadClientConfig } from '../../src/cli/config.js';
import { RestClient } from '../../src/cli/rest-client.js';
import { freePort } from '../helpers/ports.js';

export { freePort };

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ctlPath = join(repoRoot, 'dist/cmd/ctl.js');

export interface CtlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CtlOptions {
  stdin?: string;
  env?: Record<string, string | undefined>;
  /** Kills the command (by pid) when it runs longer; default 30 s. */
  timeoutMs?: number;
  cwd?: string;
}

// ---- build ----------------------------------------------------------------------------------

function newestSource(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (name.endsWith('.ts')) newest = Math.max(newest, st.mtimeMs);
  }
  return newest;
}

function buildIsCurrent(): boolean {
  if (!existsSync(ctlPath)) return false;
  const built = statSync(ctlPath).mtimeMs;
  return newestSource(join(repoRoot, 'src')) <= built && newestSource(join(repoRoot, 'cmd')) <= built;
}

/**
 * The test command builds before running tests; a test file run on its own builds here when
 * dist/ is missing or older than the sources. A lock directory keeps parallel files from
 * compiling over each other.
 */
export async function ensureBuilt(): Promise<void> {
  if (buildIsCurrent()) return;
  const lock = join(tmpdir(), `skiff-e2e-build-${Buffer.from(repoRoot).toString('hex').slice(-16)}.lock`);
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`timed out waiting for the build lock ${lock}`);
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // removed by its owner meanwhile
      }
      await sleep(250);
    }
  }
  try {
    if (buildIsCurrent()) return;
    const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

// ---- processes ------------------------------------------------------------------------------

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Kills by pid: SIGTERM, then SIGKILL to its process group if it is still there after `graceMs`. */
/**
 * Polls `check` until it holds. On timeout the error names what was awaited and carries
 * `diagnostics()`: the tails of the logs of the processes involved.
 */
export async function pollUntil(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean, diagnostics: () => string, intervalMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${diagnostics()}`);
}

export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (done) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
  await Promise.race([exited, sleep(5_000)]);
}

/**
 * Agents (`ctl join`, `ctl agent`) serve metrics on 0.0.0.0:10249 by default, which side-by-side
 * test agents would fight over: unless a test says where, each gets a free loopback port, which
 * it reports in its Node's status.
 */
export function withAgentMetricsPort(args: string[]): string[] {
  const command = args[0] === '--kubeconfig' ? args[2] : args[0];
  if ((command !== 'join' && command !== 'agent') || args.some((a) => a.startsWith('--metrics-bind-address'))) return args;
  return [...args, '--metrics-bind-address', '127.0.0.1:0'];
}

/** Runs `ctl ARGS` to completion. */
export function runCtl(args: string[], opts: CtlOptions = {}): Promise<CtlResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [ctlPath, ...withAgentMetricsPort(args)], {
      cwd: opts.cwd ?? repoRoot,
      env: cleanEnv(opts.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ctl ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

/** The environment for child processes: no inherited KUBECONFIG, so tests say which they mean. */
function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SKIFF_LOG_FORMAT: 'json' };
  delete env.KUBECONFIG;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** A long-running `ctl` (e.g. `get -w`) whose output is read as it comes. */
export class CtlProcess {
  stdout = '';
  stderr = '';
  private readonly waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.notify();
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.notify();
    });
    child.on('exit', () => this.notify());
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once stdout matches; rejects after `timeoutMs` or if the process ends first. */
  async waitForOutput(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.stdout.match(pattern);
      if (m) return m;
      if (this.child.exitCode !== null) throw new Error(`ctl exited (${this.child.exitCode}) before printing ${pattern}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no output matching ${pattern} within ${timeoutMs} ms\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), sleep(Math.min(left, 500))]);
    }
  }

  async stop(): Promise<CtlResult> {
    await stopProcess(this.child, 5_000);
    return { code: this.child.exitCode, stdout: this.stdout, stderr: this.stderr };
  }
}

/** A TCP port free on loopback right now. */

export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `skiff-${prefix}-`));
}

// ---- cluster ----------------------------------------------------------------------------------

let serverPortFlags: string[] | undefined;

/** The `--*-port` flags `ctl server` takes besides --api-port, read from its help once. */
function portFlags(): string[] {
  if (serverPortFlags) return serverPortFlags;
  const help = spawnSync(process.execPath, [ctlPath, 'server', '--help'], { encoding: 'utf8' }).stdout ?? '';
  serverPortFlags = [...new Set([...help.matchAll(/(--[a-z-]+-port)\b/g)].map((m) => m[1]))].filter((f) => f !== '--api-port');
  return serverPortFlags;
}

export interface ClusterOptions {
  /** Extra flags for `ctl server`. */
  serverArgs?: string[];
  env?: Record<string, string | undefined>;
  /** How long the control plane may take to become ready; default 30 s. */
  startTimeoutMs?: number;
}

export class TestCluster {
  readonly kubeconfig: string;
  private readonly processes: ChildProcess[] = [];
  private readonly dirs: string[] = [];
  private serverLog = '';

  private constructor(
    readonly dataDir: string,
    readonly apiPort: number,
    private readonly opts: ClusterOptions,
  ) {
    this.kubeconfig = join(dataDir, 'admin.kubeconfig');
    this.dirs.push(dataDir);
    this.server = this.spawnServer();
  }

  /** The running `ctl server` process (a new one after restartServer). */
  server: ChildProcess;

  private spawnServer(): ChildProcess {
    const server = spawn(
      process.execPath,
      [ctlPath, 'server', '--data-dir', this.dataDir, '--api-port', String(this.apiPort), '--bind-address', '127.0.0.1', ...(this.opts.serverArgs ?? [])],
      { cwd: repoRoot, env: cleanEnv(this.opts.env), stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    this.addProcess(server);
    const keep = (d: Buffer) => {
      this.serverLog = (this.serverLog + d.toString('utf8')).slice(-64_000);
    };
    server.stdout?.on('data', keep);
    server.stderr?.on('data', keep);
    return server;
  }

  /** Starts `ctl server` on 127.0.0.1 with a fresh data directory and waits until it is ready. */
  static async start(opts: ClusterOptions = {}): Promise<TestCluster> {
    await ensureBuilt();
    const serverArgs = [...(opts.serverArgs ?? [])];
    // Test files run side by side: any port the server would otherwise take by default gets a free one.
    for (const flag of portFlags()) if (!serverArgs.includes(flag)) serverArgs.push(flag, String(await freePort()));
    const cluster = new TestCluster(makeTempDir('e2e-server'), await freePort(), { ...opts, serverArgs });
    try {
      await cluster.waitReady(opts.startTimeoutMs ?? 30_000);
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  /** Stops the control plane and starts it again on the same data directory and port. */
  async restartServer(): Promise<void> {
    await this.stopServer();
    await this.startServer();
  }

  /** Stops the control plane (and its nats-server); the data directory stays for startServer(). */
  async stopServer(): Promise<void> {
    await stopProcess(this.server);
  }

  async startServer(): Promise<void> {
    this.server = this.spawnServer();
    await this.waitReady(this.opts.startTimeoutMs ?? 30_000);
  }

  /** Polls for the kubeconfig the server writes, then for /readyz answering ok. */
  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      if (this.server.exitCode !== null || this.server.signalCode !== null) {
        throw new Error(`ctl server exited (${this.server.exitCode ?? this.server.signalCode}) before becoming ready:\n${this.serverLog}`);
      }
      if (existsSync(this.kubeconfig)) {
        try {
          const client = new RestClient(loadClientConfig({ flag: this.kubeconfig }), 2_000);
          try {
            const body = await client.getText('/readyz');
            if (body.trim() === 'ok' || body.trim() === '') return;
            last = new Error(`/readyz said ${body}`);
          } finally {
            client.close();
          }
        } catch (e) {
          last = e;
        }
      }
      await sleep(100);
    }
    throw new Error(`ctl server not ready within ${timeoutMs} ms (last: ${(last as Error)?.message ?? 'no kubeconfig yet'}):\n${this.serverLog}`);
  }

  /** The server's recent output, for failure messages. */
  get log(): string {
    return this.serverLog;
  }

  /** Runs `ctl ARGS` with this cluster's kubeconfig. */
  ctl(args: string[], opts: CtlOptions = {}): Promise<CtlResult> {
    return runCtl(['--kubeconfig', this.kubeconfig, ...args], opts);
  }

  /** Starts a long-running `ctl ARGS` (e.g. `get pods -w`); stopped with the cluster at the latest. */
  spawnCtl(args: string[], opts: { env?: Record<string, string | undefined> } = {}): CtlProcess {
    const child = spawn(process.execPath, [ctlPath, ...withAgentMetricsPort(['--kubeconfig', this.kubeconfig, ...args])], {
      cwd: repoRoot,
      env: cleanEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.addProcess(child);
    return new CtlProcess(child);
  }

  /** A REST client on the admin kubeconfig, for checks that bypass the CLI. */
  client(): RestClient {
    return new RestClient(loadClientConfig({ flag: this.kubeconfig }));
  }

  /** Registers a process started for this cluster (an agent, containerd) so stop() ends it. */
  addProcess(child: ChildProcess): void {
    this.processes.push(child);
  }

  /** A directory removed on stop(). */
  tempDir(prefix: string): string {
    const d = makeTempDir(prefix);
    this.dirs.push(d);
    return d;
  }

  /** Ends every process (newest first, the server last) and removes every directory. */
  async stop(): Promise<void> {
    for (const p of [...this.processes].reverse()) await stopProcess(p);
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}

/** Reads a fixture manifest shared across test tiers. */
export function fixture(name: string): string {
  return readFileSync(join(repoRoot, 'test/fixtures/manifests', name), 'utf8');
}

export function fixturePath(name: string): string {
  return join(repoRoot, 'test/fixtures/manifests', name);
}
