import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { ContainerPort, Probe } from '../../../api/types.js';
import type { CriRuntime } from '../../../cri/runtime.js';
import type { AttemptResult } from './state.js';

// The four probe handlers, each one attempt with the probe's timeout, giving kubelet's result
// and output. No connection is kept between attempts (kubelet disables keep-alive too), so a
// probe costs nothing between its runs.

export interface Attempt {
  result: AttemptResult;
  output: string;
}

export interface ProbeTarget {
  /** The pod's IP (the host's with hostNetwork): the default host of network probes. */
  podIP: string;
  containerId: string;
  ports: ContainerPort[];
}

/** kubelet reads at most this much of a probe's output. */
const maxOutput = 10 * 1024;
const userAgent = 'kube-probe/skiff';

const cut = (s: string) => (s.length > maxOutput ? s.slice(0, maxOutput) : s).trimEnd();

export function resolvePort(port: number | string | undefined, ports: ContainerPort[]): number | undefined {
  if (typeof port === 'number') return port > 0 && port < 65536 ? port : undefined;
  if (typeof port !== 'string') return undefined;
  if (/^\d+$/.test(port)) return resolvePort(Number(port), ports);
  return ports.find((p) => p.name === port && (p.protocol ?? 'TCP') === 'TCP')?.containerPort;
}

const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** A socket error in the words of Go's dialer, as kubelet's messages carry them. */
function dialError(e: NodeJS.ErrnoException, host: string, port: number): string {
  const addr = hostPort(host, port);
  if (e.code === 'ECONNREFUSED') return `dial tcp ${addr}: connect: connection refused`;
  if (e.code === 'EHOSTUNREACH') return `dial tcp ${addr}: connect: no route to host`;
  if (e.code === 'ECONNRESET') return `read tcp ${addr}: read: connection reset by peer`;
  return `dial tcp ${addr}: ${e.message}`;
}

export async function runProbe(probe: Probe, target: ProbeTarget, runtime: CriRuntime): Promise<Attempt> {
  const timeoutSeconds = probe.timeoutSeconds || 1;
  if (probe.exec) return execProbe(runtime, target.containerId, probe.exec.command ?? [], timeoutSeconds);
  const network = probe.httpGet ?? probe.tcpSocket ?? probe.grpc;
  if (!network) return { result: 'unknown', output: 'missing probe handler' };
  const port = resolvePort(network.port, target.ports);
  if (port === undefined) return { result: 'unknown', output: `couldn't find port: ${network.port}` };
  const host = ('host' in network && network.host) || target.podIP;
  if (!host) return { result: 'unknown', output: 'the pod has no IP yet' };
  if (probe.httpGet) {
    const scheme = probe.httpGet.scheme === 'HTTPS' ? 'https' : 'http';
    const path = probe.httpGet.path || '/';
    const url = `${scheme}://${hostPort(host, port)}${path.startsWith('/') ? path : `/${path}`}`;
    return httpProbe(url, host, port, probe.httpGet.httpHeaders ?? [], timeoutSeconds * 1000);
  }
  if (probe.tcpSocket) return tcpProbe(host, port, timeoutSeconds * 1000);
  return grpcProbe(host, port, probe.grpc!.service ?? '', timeoutSeconds * 1000);
}

export async function execProbe(runtime: CriRuntime, containerId: string, command: string[], timeoutSeconds: number): Promise<Attempt> {
  try {
    const r = await runtime.execSync(containerId, command, timeoutSeconds, { timeoutMs: timeoutSeconds * 1000 + 5000 });
    const output = cut(Buffer.concat([r.stdout, r.stderr]).toString('utf8'));
    return { result: r.exitCode === 0 ? 'success' : 'failure', output };
  } catch (e) {
    const message = (e as Error).message;
    // containerd ends a command that outlives its timeout with an error, not an exit code.
    if (/timeout|deadline/i.test(message)) return { result: 'failure', output: `command "${command.join(' ')}" timed out` };
    return { result: 'unknown', output: message };
  }
}

export function httpProbe(url: string, host: string, port: number, headers: { name: string; value: string }[], timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    // Probe headers replace the defaults of the same name; a name given twice is sent twice.
    const reqHeaders: Record<string, string[]> = {};
    for (const h of headers) (reqHeaders[h.name.toLowerCase()] ??= []).push(h.value);
    reqHeaders['user-agent'] ??= [userAgent];
    reqHeaders.accept ??= ['*/*'];
    const mod = url.startsWith('https:') ? https : http;
    let settled = false;
    const finish = (a: Attempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(a);
    };
    // agent: false: a fresh connection per attempt, closed after it (no keep-alive pool to hold).
    const req = mod.get(url, { agent: false, headers: Object.fromEntries(Object.entries(reqHeaders).map(([k, v]) => [k, v.length === 1 ? v[0] : v])), rejectUnauthorized: false }, (res) => {
      const code = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (b: Buffer) => {
        if (size < maxOutput) chunks.push(b);
        size += b.length;
      });
      res.on('error', () => finish({ result: 'failure', output: `Get "${url}": the response ended early` }));
      res.on('end', () => {
        const body = cut(Buffer.concat(chunks).toString('utf8'));
        if (code >= 200 && code < 400) finish({ result: 'success', output: body });
        else finish({ result: 'failure', output: `HTTP probe failed with statuscode: ${code}` });
      });
    });
    const timer = setTimeout(() => finish({ result: 'failure', output: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` }), timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => finish({ result: 'failure', output: `Get "${url}": ${dialError(e, host, port)}` }));
  });
}

export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (a: Attempt) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(a);
    };
    const timer = setTimeout(() => finish({ result: 'failure', output: `dial tcp ${hostPort(host, port)}: i/o timeout` }), timeoutMs);
    socket.once('connect', () => finish({ result: 'success', output: '' }));
    socket.once('error', (e: NodeJS.ErrnoException) => finish({ result: 'failure', output: dialError(e, host, port) }));
  });
}

// grpc.health.v1: HealthCheckRequest { string service = 1 }, HealthCheckResponse { ServingStatus status = 1 }.
const servingStatus = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

export function encodeHealthCheckRequest(service: string): Buffer {
  if (!service) return Buffer.alloc(0);
  const s = Buffer.from(service, 'utf8');
  const len: number[] = [];
  for (let n = s.length; ; n >>>= 7) {
    if (n < 0x80) {
      len.push(n);
      break;
    }
    len.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...len]), s]);
}

/** The status field of a HealthCheckResponse (0, UNKNOWN, when absent). */
export function decodeHealthCheckResponse(b: Buffer): number {
  let i = 0;
  const varint = () => {
    let v = 0;
    for (let shift = 0; i < b.length; shift += 7) {
      const byte = b[i++];
      v += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) break;
    }
    return v;
  };
  let status = 0;
  while (i < b.length) {
    const tag = varint();
    const wire = tag & 7;
    if (wire === 0) {
      const v = varint();
      if (tag >>> 3 === 1) status = v;
    } else if (wire === 2) i += varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else break;
  }
  return status;
}

export function grpcProbe(host: string, port: number, service: string, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    const target = hostPort(host, port);
    const client = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.enable_retries': 0, 'grpc.service_config_disable_resolution': 1 });
    const seconds = `${timeoutMs / 1000}s`;
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (s: string) => encodeHealthCheckRequest(s),
      (b: Buffer) => decodeHealthCheckResponse(b),
      service,
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, status) => {
        client.close();
        if (err) {
          if (err.code === grpc.status.UNIMPLEMENTED) resolve({ result: 'failure', output: `this server does not implement the grpc health protocol (grpc.health.v1.Health): ${err.details}` });
          else if (err.code === grpc.status.DEADLINE_EXCEEDED) resolve({ result: 'failure', output: `timeout: health rpc did not complete within ${seconds}` });
          else if (err.code === grpc.status.UNAVAILABLE) resolve({ result: 'failure', output: `timeout: failed to connect service "${target}" within ${seconds}: ${err.details}` });
          else resolve({ result: 'failure', output: `error: health rpc probe failed: ${err.details}` });
          return;
        }
        if (status === 1) resolve({ result: 'success', output: 'service is serving' });
        else resolve({ result: 'failure', output: `service unhealthy (responded with "${servingStatus[status ?? 0] ?? status}")` });
      },
    );
  });
}
