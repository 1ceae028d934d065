import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startControlPlane, type ControlPlane } from '../../../src/server/control-plane.js';
import { freePort } from '../../helpers/ports.js';

// An in-process control plane on a loopback port, and a small HTTPS client with its admin
// certificate, for the API server's integration tests.

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface ClientCert {
  certPem?: string;
  keyPem?: string;
}

export class TestServer {
  private constructor(
    readonly cp: ControlPlane,
    readonly dir: string,
  ) {}

  /** `controllers: true` runs the controllers too, for tests of what they do through admission. */
  static async start(opts: { controllers?: boolean } = {}): Promise<TestServer> {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-api-'));
    try {
      const cp = await startControlPlane({
        dataDir: dir,
        bindAddress: '127.0.0.1',
        apiPort: 0,
        natsPort: await freePort(),
        nodeMonitorGracePeriodMs: 15_000,
        scheduler: false,
        controllers: opts.controllers ?? false,
        log: pino({ level: 'silent' }),
      });
      return new TestServer(cp, dir);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  get admin(): ClientCert {
    return this.cp.pki.admin;
  }

  async stop(): Promise<void> {
    await this.cp.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  request(method: string, path: string, body?: unknown, opts: { contentType?: string; cert?: ClientCert; raw?: string | Buffer } = {}): Promise<Reply> {
    const payload = opts.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    const cert = opts.cert ?? this.admin;
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: this.cp.port,
          path,
          method,
          ca: this.cp.pki.ca.certPem,
          cert: cert.certPem,
          key: cert.keyPem,
          agent: false,
          headers: payload !== undefined ? { 'content-type': opts.contentType ?? 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
          res.on('error', reject);
        },
      );
      req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Opens a watch and collects its events as they arrive. */
  watch(path: string): WatchClient {
    return new WatchClient(this, path);
  }
}

export interface WatchEvent {
  type: string;
  object: any;
}

export class WatchClient {
  readonly events: WatchEvent[] = [];
  ended = false;
  status = 0;
  private buf = '';
  private waiters: (() => void)[] = [];
  private readonly req: ReturnType<typeof https.request>;

  constructor(server: TestServer, path: string) {
    this.req = https.request(
      { host: '127.0.0.1', port: server.cp.port, path, method: 'GET', ca: server.cp.pki.ca.certPem, cert: server.admin.certPem, key: server.admin.keyPem, agent: false },
      (res) => {
        this.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          this.buf += d;
          let nl: number;
          while ((nl = this.buf.indexOf('\n')) >= 0) {
            const line = this.buf.slice(0, nl).trim();
            this.buf = this.buf.slice(nl + 1);
            if (line) this.events.push(JSON.parse(line) as WatchEvent);
          }
          this.notify();
        });
        res.on('end', () => {
          this.ended = true;
          this.notify();
        });
        res.on('error', () => undefined);
      },
    );
    this.req.on('error', () => {
      this.ended = true;
      this.notify();
    });
    this.req.end();
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async waitFor(count: number, timeoutMs = 5_000): Promise<WatchEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      if (this.ended) throw new Error(`watch ended after ${this.events.length} events, wanted ${count}: ${JSON.stringify(this.events.map((e) => e.type))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.events.length} of ${count} watch events within ${timeoutMs} ms: ${JSON.stringify(this.events.map((e) => e.type))}`);
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), new Promise((r) => setTimeout(r, Math.min(left, 200)))]);
    }
    return this.events;
  }

  async waitEnd(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('watch did not end');
      await Promise.race([new Promise<void>((r) => this.waiters.push(r)), new Promise((r) => setTimeout(r, 200))]);
    }
  }

  close(): void {
    this.req.destroy();
  }
}

export const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: name } },
  spec: { containers: [{ name: 'app', image: 'docker.io/library/busybox:1.36' }] },
  ...extra,
});
