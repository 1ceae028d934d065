import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from '../log/logger.js';
import { renderNatsConfig, type NatsConfigInput, type NodeNatsUser } from './nats-config.js';

// Runs nats-server as a child of the control plane: writes its config, starts it, restarts it
// with backoff when it dies, applies auth changes with a reload (SIGHUP, connections stay up),
// and stops it by pid. A pid file lets the next start end a nats-server orphaned by a crash.

export interface NatsSupervisorOptions {
  natsServerPath: string;
  /** Holds the config, pid file and TLS files: DATA_DIR/nats. */
  dir: string;
  host: string;
  port: number;
  monitorPort?: number;
  certFile: string;
  keyFile: string;
  controlPlaneNkey: string;
  log: Logger;
  /** Upper bound of the restart backoff. */
  maxRestartDelayMs?: number;
}

const readyTimeoutMs = 10_000;
const reloadTimeoutMs = 5_000;
/** A run this long resets the backoff: the server was healthy, this is a new failure. */
const healthyRunMs = 10_000;

export class NatsSupervisor {
  private child: ChildProcess | undefined;
  private nodes: readonly NodeNatsUser[] = [];
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private restarts = 0;
  private lineWaiters: { match: (line: string) => 'ok' | 'fail' | undefined; resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  private serial: Promise<unknown> = Promise.resolve();
  readonly configFile: string;
  readonly pidFile: string;

  constructor(private readonly opts: NatsSupervisorOptions) {
    this.configFile = join(opts.dir, 'nats-server.conf');
    this.pidFile = join(opts.dir, 'nats-server.pid');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get url(): string {
    return `nats://${this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host}:${this.opts.port}`;
  }

  /** Writes the config and starts nats-server; resolves once it accepts clients. */
  async start(nodes: readonly NodeNatsUser[]): Promise<void> {
    this.nodes = nodes;
    await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
    this.stopOrphan();
    await this.writeConfig();
    await this.spawnServer();
  }

  /** Replaces the node users and reloads nats-server; resolves once the reload is applied. */
  setNodes(nodes: readonly NodeNatsUser[]): Promise<void> {
    const run = this.serial.then(async () => {
      this.nodes = nodes;
      await this.writeConfig();
      const child = this.child;
      // No running server: the restart will read the new config.
      if (!child?.pid || child.exitCode !== null) return;
      // Only reload lines count: [ERR] lines about clients (a revoked node retrying) are common.
      const applied = this.waitForLine((l) => (l.includes('Reloaded server configuration') ? 'ok' : l.includes('Failed to reload') ? 'fail' : undefined), reloadTimeoutMs);
      process.kill(child.pid, 'SIGHUP');
      await applied;
    });
    this.serial = run.catch(() => undefined);
    return run;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.pidFile, { force: true });
  }

  private async writeConfig(): Promise<void> {
    const input: NatsConfigInput = {
      host: this.opts.host,
      port: this.opts.port,
      monitorPort: this.opts.monitorPort,
      certFile: this.opts.certFile,
      keyFile: this.opts.keyFile,
      controlPlaneNkey: this.opts.controlPlaneNkey,
      nodes: this.nodes,
    };
    // Write then rename: a reload or restart never reads a half-written file.
    const tmp = `${this.configFile}.tmp`;
    await writeFile(tmp, renderNatsConfig(input), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.configFile);
  }

  /** Ends a nats-server left running by a control plane that died without stopping it. */
  private stopOrphan(): void {
    if (!existsSync(this.pidFile)) return;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      // Not running any more.
    }
    if (pid > 0 && cmdline.includes(this.configFile)) {
      this.opts.log.warn({ pid }, 'stopping a nats-server left over from an earlier run');
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // It exited meanwhile.
      }
    }
    rmSync(this.pidFile, { force: true });
  }

  private async spawnServer(): Promise<void> {
    const log = this.opts.log;
    const child = spawn(this.opts.natsServerPath, ['-c', this.configFile, '-P', this.pidFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const startedAt = Date.now();
    const ready = this.waitForLine((l) => (l.includes('Server is ready') ? 'ok' : l.includes('[FTL]') ? 'fail' : undefined), readyTimeoutMs);
    const spawnFailed = new Promise<never>((_, reject) => {
      child.once('error', (e) => {
        reject(
          new Error(
            `cannot start nats-server at "${this.opts.natsServerPath}": ${e.message}; install it (Debian: apt-get install nats-server) or pass --nats-server-path PATH`,
          ),
        );
      });
    });
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream! }).on('line', (line) => this.onLine(line));
    }
    child.once('exit', (code, signal) => {
      for (const w of this.lineWaiters.splice(0)) w.reject(new Error(`nats-server exited (code ${code}, signal ${signal}) before it was ready`));
      if (this.stopping || this.child !== child) return;
      if (Date.now() - startedAt > healthyRunMs) this.restarts = 0;
      const delay = Math.min(this.opts.maxRestartDelayMs ?? 30_000, 250 * 2 ** this.restarts);
      this.restarts++;
      log.error({ code, signal, restartInMs: delay }, 'nats-server exited; restarting it');
      this.restartTimer = setTimeout(() => {
        this.spawnServer().catch((e) => log.error({ err: e }, 'restarting nats-server failed; trying again'));
      }, delay);
    });
    await Promise.race([ready, spawnFailed]);
    log.info({ pid: child.pid, url: this.url }, 'nats-server is ready');
  }

  private onLine(line: string): void {
    const log = this.opts.log;
    // The bootstrap user has no password on purpose (clients without credentials map to it).
    if (line.includes('[ERR]') || line.includes('[FTL]')) log.error({ natsServer: line }, 'nats-server');
    else if (line.includes('[WRN]') && !line.includes('Plaintext passwords')) log.warn({ natsServer: line }, 'nats-server');
    else log.debug({ natsServer: line }, 'nats-server');
    for (const w of [...this.lineWaiters]) {
      const m = w.match(line);
      if (m === undefined) continue;
      this.lineWaiters.splice(this.lineWaiters.indexOf(w), 1);
      if (m === 'ok') w.resolve(line);
      else w.reject(new Error(`nats-server: ${line.replace(/^\[\d+\]\s+\S+\s+\S+\s+/, '')}`));
    }
  }

  private waitForLine(match: (line: string) => 'ok' | 'fail' | undefined, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.lineWaiters = this.lineWaiters.filter((w) => w !== waiter);
        reject(new Error(`nats-server did not confirm within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        match,
        resolve: (l: string) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.lineWaiters.push(waiter);
    });
  }
}
