import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { ApiError, errors } from '../api/errors.js';
import { EXEC_STREAM_PROTOCOL } from '../api/exec-stream.js';
import { resourceByKind } from '../api/resources.js';
import type { Logger } from '../log/logger.js';
import type { ControlPlaneMetrics } from '../metrics/control-plane.js';
import type { Store } from '../store/store.js';
import { AdmissionChain } from './admission.js';
import { refusalReason, userFromSocket, type UserInfo } from './authn.js';
import { coreVersions, group, groupList, resourceList, versionInfo } from './discovery.js';
import { DryRunStore } from './dry-run-store.js';
import { ResourceHandlers, type DeleteOptions } from './handlers.js';
import { patchTypeOf } from './patch.js';
import { parsePodExecQuery, type PodExecResult } from './pod-exec.js';
import type { ExecSessionQuery } from './pod-exec-session.js';
import { parsePodLogQuery, type PodLogQuery } from './pod-logs.js';
import { matchRoute, type ResourceRoute, type Route } from './routes.js';
import { handleTokenRoute, isTokenRoute, type TokenApi } from './token-routes.js';
import { serveWatch, WatchRegistry } from './watch.js';

// The Kubernetes-shaped HTTPS API. TLS asks every client for a certificate but lets the
// handshake finish without one, so the open health endpoints work for anyone and everything
// else answers 401 with a Status body rather than a TLS alert a user cannot read.

export const maxBodyBytes = 3 * 1024 * 1024;

export interface ApiServerOptions {
  tls: { caPem: string; certPem: string; keyPem: string };
  store: Store;
  admission?: AdmissionChain;
  log: Logger;
  /** Whether /readyz says ok; default: always once listening. */
  ready?: () => boolean;
  /** Counts requests by verb, resource and code, and times them. */
  metrics?: ControlPlaneMetrics;
}

type Reply = { status: number; body: unknown };

/** Serves a pod's log (pods/NAME/log); throws an ApiError before writing anything if it cannot. */
export type PodLogServer = (res: ServerResponse, namespace: string, name: string, query: PodLogQuery) => Promise<void>;

/** NodeMetrics or PodMetrics (a list, or one object when a name is given), read from the nodes. */
export type ResourceMetricsServer = (route: { kind: 'nodes' | 'pods'; namespace?: string; name?: string }) => Promise<unknown>;

/** Runs a command in a pod's container (pods/NAME/exec, no terminal). */
export type PodExecServer = (namespace: string, name: string, query: { container?: string; command: string[] }) => Promise<PodExecResult>;

/**
 * Starts an interactive exec (pods/NAME/exec upgraded to the exec stream); resolves with what
 * takes over the connection once the node has started the process.
 */
export type ExecSessionServer = (namespace: string, name: string, query: ExecSessionQuery) => Promise<(socket: Duplex) => void>;
/** Loads an image archive (the request body) onto a node, or lists its images (nodes/NAME/proxy/images). */
export interface NodeImageServer {
  load(node: string, body: AsyncIterable<Buffer>): Promise<unknown>;
  list(node: string): Promise<unknown>;
}

const isTrue = (v: string | null) => v === '1' || v === 'true';

export class ApiServer {
  readonly handlers: ResourceHandlers;
  /** The same handlers on a store that skips writes, for `?dryRun=All`. */
  private readonly dryRunHandlers: ResourceHandlers;
  private readonly server: https.Server;
  private readonly watches = new WatchRegistry();
  private readonly log: Logger;
  private tokenApi: TokenApi | undefined;
  private podLogs: PodLogServer | undefined;
  private podExec: PodExecServer | undefined;
  private execSessions: ExecSessionServer | undefined;
  private nodeImages: NodeImageServer | undefined;
  private resourceMetrics: ResourceMetricsServer | undefined;
  private address = '';

  constructor(private readonly opts: ApiServerOptions) {
    this.log = opts.log;
    const admission = opts.admission ?? new AdmissionChain();
    this.handlers = new ResourceHandlers(opts.store, admission, opts.log);
    this.dryRunHandlers = new ResourceHandlers(new DryRunStore(opts.store), admission.forDryRun(), opts.log);
    this.server = https.createServer(
      {
        ca: opts.tls.caPem,
        cert: opts.tls.certPem,
        key: opts.tls.keyPem,
        requestCert: true,
        rejectUnauthorized: false,
        minVersion: 'TLSv1.2',
      },
      (req, res) => {
        this.handle(req, res).catch((e) => {
          this.log.error({ err: e, path: req.url }, 'request handling failed after its response started');
          res.destroy();
        });
      },
    );
    this.server.on('tlsClientError', (e) => this.log.debug({ err: e }, 'TLS handshake failed'));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.handleUpgrade(req, socket, head).catch((e) => {
        this.log.error({ err: e, path: req.url }, 'upgrade handling failed');
        socket.destroy();
      });
    });
  }

  /** Bootstrap token routes go live once the NATS plane that owns the tokens is up. */
  setTokenApi(api: TokenApi | undefined): void {
    this.tokenApi = api;
  }

  /** Pod logs are read through the nodes, so they go live with the NATS plane. */
  setPodLogServer(serve: PodLogServer | undefined): void {
    this.podLogs = serve;
  }

  setPodExecServer(serve: PodExecServer | undefined): void {
    this.podExec = serve;
  }

  setExecSessionServer(serve: ExecSessionServer | undefined): void {
    this.execSessions = serve;
  }

  setNodeImageServer(serve: NodeImageServer | undefined): void {
    this.nodeImages = serve;
  }

  /** Resource usage is read from the nodes, so it goes live with the NATS plane. */
  setResourceMetricsServer(serve: ResourceMetricsServer | undefined): void {
    this.resourceMetrics = serve;
  }

  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        this.server.on('error', (e) => this.log.error({ err: e }, 'API server error'));
        const addr = this.server.address() as AddressInfo;
        this.address = `${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
        resolve(addr.port);
      });
    });
  }

  /** Ends watches, stops accepting connections and drops idle ones. */
  async close(): Promise<void> {
    this.watches.closeAll();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      setTimeout(() => this.server.closeAllConnections(), 2_000).unref();
    });
  }

  /** Open watch streams, for the watchers gauge. */
  get watchCount(): number {
    return this.watches.size;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'https://localhost');
    const method = req.method ?? 'GET';
    let route: Route | undefined;
    try {
      route = matchRoute(url.pathname);
      if (route?.type === 'health') {
        const ok = route.check !== 'readyz' || (this.opts.ready?.() ?? true);
        sendText(res, ok ? 200 : 503, ok ? 'ok' : 'not ready');
        return;
      }
      const user = userFromSocket(req.socket as TLSSocket);
      if (!user) {
        this.log.debug({ path: url.pathname, remote: req.socket.remoteAddress, why: refusalReason(req.socket as TLSSocket) }, 'unauthenticated request refused');
        req.resume();
        throw errors.unauthorized('Unauthorized: present a client certificate signed by the cluster CA (the one in admin.kubeconfig)');
      }
      if (isTokenRoute(url.pathname)) {
        if (!this.tokenApi) throw errors.unavailable('bootstrap tokens are served by the NATS plane, which is not running yet; retry in a moment');
        const body = method === 'POST' ? await readJsonOrYaml(req) : (req.resume(), undefined);
        const r = await handleTokenRoute(this.tokenApi, method, url.pathname, body);
        sendJson(res, r.status, r.body);
        return;
      }
      if (!route) {
        req.resume();
        throw new ApiError('NotFound', `the server could not find the requested resource (${method} ${url.pathname})`);
      }
      if (route.type === 'resource' && method === 'GET' && !route.name && isTrue(url.searchParams.get('watch'))) {
        req.resume();
        await serveWatch(res, this.opts.store, route, url.searchParams, this.watches, this.log);
        return;
      }
      if (route.type === 'podLog') {
        req.resume();
        if (method !== 'GET') throw errors.methodNotAllowed(`${method} is not supported on ${url.pathname}; logs are read with GET`);
        if (!this.podLogs) throw errors.unavailable('pod logs are read through the NATS plane, which is not running yet; retry in a moment');
        await this.podLogs(res, route.namespace, route.name, parsePodLogQuery(url.searchParams));
        return;
      }
      if (route.type === 'podExec') {
        req.resume();
        if (method !== 'POST' && method !== 'GET') throw errors.methodNotAllowed(`${method} is not supported on ${url.pathname}; exec with POST`);
        if (!this.podExec) throw errors.unavailable('exec goes through the NATS plane, which is not running yet; retry in a moment');
        sendJson(res, 200, await this.podExec(route.namespace, route.name, parsePodExecQuery(url.searchParams)));
        return;
      }
      if (route.type === 'podEviction') {
        if (method !== 'POST') {
          req.resume();
          throw errors.methodNotAllowed(`${method} is not supported on ${url.pathname}; evict with POST of a policy/v1 Eviction`);
        }
        const h = isDryRun(url.searchParams) ? this.dryRunHandlers : this.handlers;
        const options = deleteOptionsOf(evictionDeleteOptions(await readJsonOrYaml(req), route.name), url.searchParams);
        sendJson(res, 201, await h.evictPod({ type: 'resource', info: podInfo, namespace: route.namespace, name: route.name }, user, options));
        return;
      }
      if (route.type === 'nodeImages') {
        if (method !== 'POST' && method !== 'GET') {
          req.resume();
          throw errors.methodNotAllowed(`${method} is not supported on ${url.pathname}; load an image archive with POST, list images with GET`);
        }
        if (!this.nodeImages) {
          req.resume();
          throw errors.unavailable('images go through the NATS plane, which is not running yet; retry in a moment');
        }
        if (method === 'GET') {
          req.resume();
          sendJson(res, 200, await this.nodeImages.list(route.name));
        } else {
          const result = await this.nodeImages.load(route.name, req).finally(() => req.resume());
          sendJson(res, 200, result);
        }
        return;
      }
      if (route.type === 'resourceMetrics') {
        req.resume();
        if (method !== 'GET') throw errors.methodNotAllowed(`${method} is not supported on ${url.pathname}; resource metrics are read with GET`);
        if (!this.resourceMetrics) throw errors.unavailable('resource metrics are read through the NATS plane, which is not running yet; retry in a moment');
        sendJson(res, 200, await this.resourceMetrics(route));
        return;
      }
      const reply = await this.dispatch(route, method, url, req, user);
      sendJson(res, reply.status, reply.body);
    } catch (e) {
      this.sendError(res, e, method, url.pathname);
    } finally {
      this.log.debug({ method, path: url.pathname, status: res.statusCode, ms: Date.now() - started }, 'request');
      this.opts.metrics?.apiRequest(verbOf(method, route, url), resourceOf(route), res.statusCode, (Date.now() - started) / 1000);
    }
  }

  /** `exec` with stdin or a terminal: the one request Skiff upgrades to a stream. */
  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://localhost');
    socket.on('error', (e) => this.log.debug({ err: e }, 'upgraded connection failed'));
    try {
      const route = matchRoute(url.pathname);
      if (!userFromSocket(req.socket as TLSSocket)) throw errors.unauthorized('Unauthorized: present a client certificate signed by the cluster CA (the one in admin.kubeconfig)');
      if (route?.type !== 'podExec') throw errors.badRequest(`${url.pathname} cannot be upgraded; only pods/NAME/exec can`);
      const protocol = String(req.headers.upgrade ?? '').toLowerCase();
      if (protocol !== EXEC_STREAM_PROTOCOL) throw errors.badRequest(`upgrade protocol ${JSON.stringify(protocol)} is not supported; use ${EXEC_STREAM_PROTOCOL}`);
      if (!isTrue(url.searchParams.get('stdin'))) throw errors.badRequest('an upgraded exec streams stdin: set stdin=true, or exec without upgrading');
      if (!this.execSessions) throw errors.unavailable('exec goes through the NATS plane, which is not running yet; retry in a moment');
      const { container, command } = parsePodExecQuery(url.searchParams);
      const attach = await this.execSessions(route.namespace, route.name, { container, command, tty: isTrue(url.searchParams.get('tty')) });
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${EXEC_STREAM_PROTOCOL}\r\nConnection: Upgrade\r\n\r\n`);
      if (head.length) socket.unshift(head);
      attach(socket);
    } catch (e) {
      const err = e instanceof ApiError ? e : errors.internal('an internal error occurred on the server; its log has the details');
      if (!(e instanceof ApiError)) this.log.error({ err: e, path: url.pathname }, 'exec upgrade failed');
      const body = JSON.stringify(err.toStatus());
      socket.end(`HTTP/1.1 ${err.code} ${err.reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    }
  }

  private async dispatch(route: Exclude<Route, { type: 'health' } | { type: 'podLog' } | { type: 'podExec' } | { type: 'podEviction' } | { type: 'nodeImages' } | { type: 'resourceMetrics' }>, method: string, url: URL, req: IncomingMessage, user: UserInfo): Promise<Reply> {
    if (route.type !== 'resource') {
      req.resume();
      if (method !== 'GET') throw errors.methodNotAllowed(`${method} is not supported on ${url.pathname}; discovery is read with GET`);
      switch (route.type) {
        case 'version':
          return { status: 200, body: versionInfo() };
        case 'coreVersions':
          return { status: 200, body: coreVersions(this.address) };
        case 'groupList':
          return { status: 200, body: groupList() };
        case 'group':
          return { status: 200, body: group(route.group) };
        case 'resourceList':
          return { status: 200, body: resourceList(route.group, route.version) };
      }
    }
    return this.dispatchResource(route, method, url, req, user);
  }

  private async dispatchResource(route: ResourceRoute, method: string, url: URL, req: IncomingMessage, user: UserInfo): Promise<Reply> {
    const h = isDryRun(url.searchParams) ? this.dryRunHandlers : this.handlers;
    const one = route.name !== undefined;
    const notAllowed = () => {
      req.resume();
      return errors.methodNotAllowed(`${method} is not supported on ${url.pathname}${one ? '' : '; name an object in the path'}`);
    };
    if (route.subresource && !['GET', 'PUT', 'PATCH'].includes(method)) throw notAllowed();
    if (route.subresource === 'scale') {
      switch (method) {
        case 'GET':
          req.resume();
          return { status: 200, body: await h.getScale(route) };
        case 'PUT':
          return { status: 200, body: await h.updateScale(route, await readJsonOrYaml(req), user) };
        default:
          return { status: 200, body: await h.patchScale(route, patchTypeOf(req.headers['content-type']), await readJson(req), user) };
      }
    }
    switch (method) {
      case 'GET':
        req.resume();
        return { status: 200, body: one ? await h.get(route) : await h.list(route, url.searchParams) };
      case 'POST':
        if (one) throw notAllowed();
        return { status: 201, body: await h.create(route, await readJsonOrYaml(req), user) };
      case 'PUT':
        if (!one) throw notAllowed();
        return { status: 200, body: await h.update(route, await readJsonOrYaml(req), user) };
      case 'PATCH': {
        if (!one) throw notAllowed();
        const type = patchTypeOf(req.headers['content-type']);
        return { status: 200, body: await h.patch(route, type, await readJson(req), user) };
      }
      case 'DELETE': {
        if (!one) throw notAllowed();
        const options = await readDeleteOptions(req, url.searchParams);
        return { status: 200, body: await h.delete(route, user, options) };
      }
      default:
        throw notAllowed();
    }
  }

  private sendError(res: ServerResponse, e: unknown, method: string, path: string): void {
    let err: ApiError;
    if (e instanceof ApiError) {
      err = e;
      if (err.reason === 'InternalError') this.log.error({ err: e, method, path }, 'request failed');
    } else {
      this.log.error({ err: e, method, path }, 'request failed with an unexpected error');
      err = errors.internal('an internal error occurred on the server; its log has the details');
    }
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return;
    }
    sendJson(res, err.code, err.toStatus(), err.reason === 'RequestEntityTooLarge' ? { connection: 'close' } : {});
  }
}

/** kube-apiserver's verb label: LIST and WATCH for collections, the HTTP method otherwise. */
function verbOf(method: string, route: Route | undefined, url: URL): string {
  if (route?.type === 'resource' && method === 'GET' && !route.name) return isTrue(url.searchParams.get('watch')) ? 'WATCH' : 'LIST';
  return method;
}

/** The resource label: the plural, with the subresource (`pods/log`); empty for other paths. */
function resourceOf(route: Route | undefined): string {
  if (!route) return '';
  if (route.type === 'resource') return route.subresource ? `${route.info.plural}/${route.subresource}` : route.info.plural;
  if (route.type === 'podLog') return 'pods/log';
  if (route.type === 'podExec') return 'pods/exec';
  if (route.type === 'podEviction') return 'pods/eviction';
  if (route.type === 'resourceMetrics') return `${route.kind}.metrics.k8s.io`;
  return '';
}

/** `dryRun=All` (the one value Kubernetes defines); any other value is refused rather than written for real. */
function isDryRun(query: URLSearchParams): boolean {
  const values = query.getAll('dryRun');
  const bad = values.find((v) => v !== 'All');
  if (bad !== undefined) throw errors.badRequest(`dryRun ${JSON.stringify(bad)} is not supported: use dryRun=All, or leave it out to make the change`);
  return values.length > 0;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The raw body, refused past maxBodyBytes (declared or actual) with 413. */
function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  const tooLarge = () => errors.tooLarge(`the request body is larger than ${maxBodyBytes / 1024 / 1024} MiB; split it into smaller objects`);
  if (declared > maxBodyBytes) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > maxBodyBytes) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => failed || resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', (e) => failed || reject(errors.badRequest(`reading the request body failed: ${e.message}`)));
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw errors.badRequest(`the request body is not valid JSON: ${(e as Error).message}`);
  }
}

const yamlTypes = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml']);

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  if (text.trim() === '') throw errors.badRequest('the request needs a body');
  return parseJson(text);
}

/** DeleteOptions from the body (kubectl sends one) and the gracePeriodSeconds query parameter. */
async function readDeleteOptions(req: IncomingMessage, query: URLSearchParams): Promise<DeleteOptions> {
  const text = await readBody(req);
  const body = text.trim() === '' ? {} : parseJson(text);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.badRequest('the DELETE body must be a DeleteOptions object');
  return deleteOptionsOf(body, query);
}

/** The deleteOptions of a policy/v1 Eviction body, which must name the pod of its path. */
function evictionDeleteOptions(body: unknown, name: string): object {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw errors.badRequest('the eviction body must be a policy/v1 Eviction object');
  const { metadata, deleteOptions } = body as { metadata?: { name?: unknown }; deleteOptions?: unknown };
  if (metadata?.name !== undefined && metadata.name !== name) throw errors.badRequest(`name in URL does not match name in Eviction object: ${JSON.stringify(name)} and ${JSON.stringify(metadata.name)}`);
  if (deleteOptions === undefined || deleteOptions === null) return {};
  if (typeof deleteOptions !== 'object' || Array.isArray(deleteOptions)) throw errors.badRequest('Eviction.deleteOptions must be a DeleteOptions object');
  return deleteOptions;
}

const podInfo = resourceByKind('Pod')!;

function deleteOptionsOf(body: object, query: URLSearchParams): DeleteOptions {
  const { preconditions: pre, gracePeriodSeconds: bodyGrace, propagationPolicy: bodyPolicy } = body as Record<string, unknown>;
  const policy = query.get('propagationPolicy') || bodyPolicy;
  if (policy !== undefined && policy !== null && policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
    throw errors.badRequest(`propagationPolicy ${JSON.stringify(policy)} is not one of Orphan, Background, Foreground`);
  }
  if (pre !== undefined && pre !== null && typeof pre !== 'object') throw errors.badRequest('DeleteOptions.preconditions must be an object with uid and/or resourceVersion');
  const { uid, resourceVersion } = (pre ?? {}) as Record<string, unknown>;
  const queryGrace = query.get('gracePeriodSeconds');
  const grace = queryGrace !== null && queryGrace !== '' ? Number(queryGrace) : bodyGrace;
  if (grace !== undefined && grace !== null && !(typeof grace === 'number' && Number.isInteger(grace) && grace >= 0)) {
    throw errors.badRequest(`gracePeriodSeconds ${JSON.stringify(queryGrace ?? bodyGrace)} must be a whole number of seconds, 0 or more`);
  }
  return {
    preconditions: { uid: typeof uid === 'string' ? uid : undefined, resourceVersion: typeof resourceVersion === 'string' ? resourceVersion : undefined },
    gracePeriodSeconds: typeof grace === 'number' ? grace : undefined,
    propagationPolicy: policy ?? undefined,
  };
}

/** POST and PUT bodies: JSON, or YAML when the Content-Type says so. */
async function readJsonOrYaml(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json' && type !== '' && !yamlTypes.has(type)) {
    req.resume();
    throw errors.unsupportedMediaType(`the body of the request was in an unknown format ${JSON.stringify(type)}; accepted media types: application/json, application/yaml`);
  }
  const text = await readBody(req);
  if (text.trim() === '') throw errors.badRequest('the request needs a body');
  if (!yamlTypes.has(type)) return parseJson(text);
  try {
    return parseYaml(text);
  } catch (e) {
    throw errors.badRequest(`the request body is not valid YAML: ${(e as Error).message}`);
  }
}
