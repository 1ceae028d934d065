import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../log/logger.js';

// The plain-HTTP endpoint Prometheus scrapes: /metrics from a registry, /healthz, and any extra
// JSON routes (the control plane's service discovery). With a bearer token set, everything but
// /healthz asks for `Authorization: Bearer TOKEN` (Prometheus' `authorization` or
// `bearer_token_file`).

export interface MetricsServerOptions {
  registry: Registry;
  /** `HOST:PORT`; port 0 picks a free one (reported by `port`). */
  bindAddress: string;
  /** When set, /metrics and the extra routes need this bearer token. */
  token?: string;
  /** Extra GET routes answering JSON, by exact path. */
  jsonRoutes?: Record<string, () => Promise<unknown>>;
  log: Logger;
}

export interface MetricsServer {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

/** `HOST:PORT` or `[V6]:PORT` into its parts; a clear error naming the flag otherwise. */
export function parseBindAddress(value: string, flag = '--metrics-bind-address'): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`${flag} ${JSON.stringify(value)} is not HOST:PORT (like 0.0.0.0:10249, or [::]:10249); give an address and a port from 0 to 65535`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const { host, port } = parseBindAddress(opts.bindAddress);
  const want = opts.token ? digest(opts.token) : undefined;
  const authorized = (req: http.IncomingMessage) => {
    if (!want) return true;
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    return !!m && timingSafeEqual(digest(m[1].trim()), want);
  };
  const server = http.createServer((req, res) => {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', `${req.method} is not supported; use GET\n`);
    if (path === '/healthz') return send(200, 'text/plain', 'ok');
    const route = path === '/metrics' ? () => opts.registry.metrics() : opts.jsonRoutes?.[path];
    if (!route) return send(404, 'text/plain', `no such path ${path}: try /metrics or /healthz\n`);
    if (!authorized(req)) {
      res.setHeader('www-authenticate', 'Bearer');
      return send(401, 'text/plain', 'Unauthorized: send Authorization: Bearer TOKEN with the token of --metrics-token-file\n');
    }
    route()
      .then((body) => (path === '/metrics' ? send(200, opts.registry.contentType, body as string) : send(200, 'application/json', JSON.stringify(body))))
      .catch((e: Error) => {
        opts.log.warn({ err: e, path }, 'collecting metrics failed');
        send(500, 'text/plain', `collecting failed: ${e.message}\n`);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'EADDRINUSE' ? 'the port is in use' : e.code === 'EADDRNOTAVAIL' ? 'the address is not one of this machine' : e.message;
      reject(new Error(`cannot serve metrics on ${opts.bindAddress}: ${why}; pass another --metrics-bind-address`, { cause: e }));
    });
    server.listen(port, host, () => resolve());
  });
  server.on('error', (e) => opts.log.error({ err: e }, 'metrics server error'));
  const addr = server.address() as AddressInfo;
  opts.log.info({ address: `${host}:${addr.port}` }, 'serving metrics');
  return {
    port: addr.port,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
