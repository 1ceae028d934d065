import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { ApiError, httpCodeOf, type Status, type StatusReason } from '../api/errors.js';
import type { ResolvedClientConfig } from '../api/kubeconfig.js';
import { apiVersionOf, resourceByKind, type ResourceInfo } from '../api/resources.js';
import type { KList, KObject } from '../api/types.js';
import { CliError } from './errors.js';

// A small Kubernetes REST client: paths built from the resource table, JSON in and out, error
// bodies (Status objects) turned into ApiError, and network failures into one message that says
// what to do.

export interface ListOptions {
  /** Omitted or '' for a namespaced kind: every namespace. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
}

export interface WatchOptions extends ListOptions {
  /** Send events after this version; the list's resourceVersion makes list + watch seamless. */
  resourceVersion?: string;
  timeoutSeconds?: number;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  type: WatchEventType;
  object: KObject;
}

export interface VersionInfo {
  major?: string;
  minor?: string;
  gitVersion?: string;
  gitCommit?: string;
  buildDate?: string;
  goVersion?: string;
  platform?: string;
  [k: string]: unknown;
}

interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** A raw body streamed as it is read (a file), with its length. */
  stream?: { source: NodeJS.ReadableStream; length: number; contentType: string };
  contentType?: string;
  signal?: AbortSignal;
}

const reasonByCode = new Map<number, StatusReason>(
  Object.entries(httpCodeOf)
    .filter(([reason]) => reason !== 'AlreadyExists') // a bare 409 is a Conflict; AlreadyExists comes with a Status body
    .map(([reason, code]) => [code, reason as StatusReason]),
);

/** `/api/v1/namespaces/default/pods/web`, `/apis/apps/v1/deployments` (all namespaces). */
export function resourcePath(info: ResourceInfo, namespace?: string, name?: string): string {
  const prefix = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${prefix}${ns}/${info.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;
}

/** Network-level failures that mean "nothing answered there". */
const unreachableCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE']);

export class RestClient {
  readonly server: string;
  private readonly url: URL;
  private readonly agent: http.Agent;

  constructor(private readonly cfg: ResolvedClientConfig, private readonly timeoutMs = 30_000) {
    this.server = cfg.server.replace(/\/+$/, '');
    this.url = new URL(this.server);
    this.agent =
      this.url.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, ca: cfg.caPem, cert: cfg.certPem, key: cfg.keyPem })
        : new http.Agent({ keepAlive: true });
  }

  /** The namespace the kubeconfig's context names (`default` unless set). */
  get defaultNamespace(): string {
    return this.cfg.namespace;
  }

  close(): void {
    this.agent.destroy();
  }

  get(info: ResourceInfo, namespace: string, name: string): Promise<KObject> {
    return this.request<KObject>('GET', resourcePath(info, namespace, name)).then((o) => withType(o, info));
  }

  async list(info: ResourceInfo, opts: ListOptions = {}): Promise<KList> {
    const list = await this.request<KList>('GET', resourcePath(info, opts.namespace), {
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, resourceVersion: opts.resourceVersion },
    });
    list.items = (list.items ?? []).map((o) => withType(o, info));
    return list;
  }

  create(info: ResourceInfo, namespace: string, obj: KObject): Promise<KObject> {
    return this.request<KObject>('POST', resourcePath(info, namespace), { body: obj }).then((o) => withType(o, info));
  }

  update(info: ResourceInfo, namespace: string, obj: KObject): Promise<KObject> {
    return this.request<KObject>('PUT', resourcePath(info, namespace, obj.metadata.name), { body: obj }).then((o) => withType(o, info));
  }

  /** A JSON merge patch (RFC 7386): `null` removes a field, lists are replaced whole. */
  patch(info: ResourceInfo, namespace: string, name: string, patch: unknown): Promise<KObject> {
    return this.request<KObject>('PATCH', resourcePath(info, namespace, name), {
      body: patch,
      contentType: 'application/merge-patch+json',
    }).then((o) => withType(o, info));
  }

  /** The autoscaling/v1 Scale of a Deployment, ReplicaSet or ReplicationController. */
  getScale(info: ResourceInfo, namespace: string, name: string): Promise<KObject> {
    return this.request<KObject>('GET', `${resourcePath(info, namespace, name)}/scale`);
  }

  /** Replaces the Scale; its metadata.resourceVersion, when set, makes this a compare-and-swap. */
  updateScale(info: ResourceInfo, namespace: string, name: string, scale: KObject): Promise<KObject> {
    return this.request<KObject>('PUT', `${resourcePath(info, namespace, name)}/scale`, { body: scale });
  }

  /** A merge patch of the Scale, e.g. `{spec: {replicas: 3}}`. */
  patchScale(info: ResourceInfo, namespace: string, name: string, patch: unknown): Promise<KObject> {
    return this.request<KObject>('PATCH', `${resourcePath(info, namespace, name)}/scale`, {
      body: patch,
      contentType: 'application/merge-patch+json',
    });
  }

  /** Returns what the server answered: the object (still terminating) or a Success Status. */
  delete(info: ResourceInfo, namespace: string, name: string, opts: DeleteOptions = {}): Promise<KObject | Status> {
    return this.request<KObject | Status>('DELETE', resourcePath(info, namespace, name), {
      query: { gracePeriodSeconds: opts.gracePeriodSeconds, propagationPolicy: opts.propagationPolicy },
    });
  }

  /** POST a policy/v1 Eviction of a pod (what kubectl drain does); the server answers with a Success Status. */
  evict(namespace: string, name: string, opts: Pick<DeleteOptions, 'gracePeriodSeconds'> = {}): Promise<Status> {
    const pods = resourceByKind('Pod')!;
    const deleteOptions = opts.gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds: opts.gracePeriodSeconds };
    return this.request<Status>('POST', `${resourcePath(pods, namespace, name)}/eviction`, {
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace }, deleteOptions },
    });
  }

  version(): Promise<VersionInfo> {
    return this.request<VersionInfo>('GET', '/version');
  }

  /** A plain-text endpoint such as `/readyz` or `/livez`. */
  async getText(path: string): Promise<string> {
    const res = await this.open('GET', path, {}, true);
    const body = await readBody(res);
    if ((res.statusCode ?? 0) >= 300) throw errorFromBody(res.statusCode ?? 0, body);
    return body;
  }

  /** One watch stream; it ends when the server or the network closes it (see reflector.ts to survive that). */
  async *watch(info: ResourceInfo, opts: WatchOptions, signal?: AbortSignal): AsyncGenerator<WatchEvent> {
    const res = await this.open('GET', resourcePath(info, opts.namespace), {
      query: {
        watch: 1,
        allowWatchBookmarks: true,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        resourceVersion: opts.resourceVersion,
        timeoutSeconds: opts.timeoutSeconds,
      },
      signal,
    }, false);
    if ((res.statusCode ?? 0) >= 300) throw errorFromBody(res.statusCode ?? 0, await readBody(res));
    res.setEncoding('utf8');
    let buf = '';
    try {
      for await (const chunk of res as AsyncIterable<string>) {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          const ev = JSON.parse(line) as WatchEvent;
          if (ev.type !== 'ERROR' && ev.type !== 'BOOKMARK') ev.object = withType(ev.object, info);
          yield ev;
        }
      }
    } catch (e) {
      if (signal?.aborted) return;
      throw this.networkError(e);
    } finally {
      res.destroy();
    }
  }

  /** A GET whose body is read as it arrives (pod logs with follow); no timeout, end it with `signal`. */
  async *getStream(path: string, query: RequestOptions['query'], signal?: AbortSignal): AsyncGenerator<Buffer> {
    const res = await this.open('GET', path, { query, signal }, false);
    if ((res.statusCode ?? 0) >= 300) throw errorFromBody(res.statusCode ?? 0, await readBody(res));
    try {
      for await (const chunk of res as AsyncIterable<Buffer>) yield chunk;
    } catch (e) {
      if (signal?.aborted) return;
      throw this.networkError(e);
    } finally {
      res.destroy();
    }
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.open(method, path, opts, true);
    const body = await readBody(res);
    const code = res.statusCode ?? 0;
    if (code >= 300) throw errorFromBody(code, body);
    return (body ? JSON.parse(body) : {}) as T;
  }

  /**
   * `POST path` upgraded to `protocol` (Connection: Upgrade); resolves with the raw connection.
   * A refusal arrives as an ordinary response with a Status body and becomes its ApiError.
   */
  upgrade(path: string, protocol: string): Promise<Duplex> {
    const mod = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolvePromise, reject) => {
      const req = mod.request({
        protocol: this.url.protocol,
        hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
        port: this.url.port,
        path: `${this.url.pathname.replace(/\/$/, '')}${path}`,
        method: 'POST',
        // Its own connection: an upgraded socket leaves HTTP and never returns to a pool.
        agent: false,
        ca: this.cfg.caPem,
        cert: this.cfg.certPem,
        key: this.cfg.keyPem,
        headers: { connection: 'Upgrade', upgrade: protocol },
      });
      req.on('upgrade', (_res, socket, head) => {
        if (head.length) socket.unshift(head);
        resolvePromise(socket);
      });
      req.on('response', (res) => {
        readBody(res).then((body) => reject(errorFromBody(res.statusCode ?? 0, body)), reject);
      });
      req.on('error', (e) => reject(this.networkError(e)));
      req.end();
    });
  }

  /**
   * POSTs `source` as the body and returns the JSON answer. No timeout: a large upload through
   * a slow node takes as long as it takes; end it with `signal`.
   */
  async upload<T>(path: string, source: NodeJS.ReadableStream, length: number, signal?: AbortSignal): Promise<T> {
    const res = await this.open('POST', path, { stream: { source, length, contentType: 'application/x-tar' }, signal }, false);
    const body = await readBody(res);
    const code = res.statusCode ?? 0;
    if (code >= 300) throw errorFromBody(code, body);
    return (body ? JSON.parse(body) : {}) as T;
  }

  private open(method: string, path: string, opts: RequestOptions, timeout: boolean): Promise<http.IncomingMessage> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== '') qs.set(k, String(v));
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const mod = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolvePromise, reject) => {
      const req = mod.request(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
          port: this.url.port,
          path: `${this.url.pathname.replace(/\/$/, '')}${path}${qs.size ? `?${qs}` : ''}`,
          method,
          agent: this.agent,
          signal: opts.signal,
          headers: {
            accept: 'application/json',
            ...(payload !== undefined ? { 'content-type': opts.contentType ?? 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
            ...(opts.stream ? { 'content-type': opts.stream.contentType, 'content-length': opts.stream.length } : {}),
          },
        },
        resolvePromise,
      );
      if (timeout) {
        req.setTimeout(this.timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs / 1000}s`), { code: 'ETIMEDOUT' })));
      }
      req.on('error', (e) => reject(opts.signal?.aborted ? e : this.networkError(e)));
      if (opts.stream) opts.stream.source.pipe(req);
      else req.end(payload);
    });
  }

  private networkError(e: unknown): Error {
    if (e instanceof ApiError || e instanceof CliError) return e;
    const err = e as NodeJS.ErrnoException;
    if (err.code && unreachableCodes.has(err.code)) {
      return new CliError(`cannot reach the control plane at ${this.server}: is 'ctl server' running? (set --kubeconfig or KUBECONFIG)`, {
        cause: e,
      });
    }
    if (err.code?.startsWith('ERR_TLS') || err.code?.includes('CERT') || /certificate|SSL|TLS/i.test(err.message ?? '')) {
      return new CliError(
        `TLS with ${this.server} failed (${err.message}): the kubeconfig's certificate authority or client certificate ` +
          `does not match this server; use the admin.kubeconfig the server wrote`,
        { cause: e },
      );
    }
    return new CliError(`request to ${this.server} failed: ${err.message}`, { cause: e });
  }
}

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolvePromise(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

/** A Status body becomes its ApiError; anything else keeps the HTTP code's reason and the text. */
export function errorFromBody(code: number, body: string): ApiError {
  try {
    const parsed = JSON.parse(body) as Partial<Status>;
    if (parsed && parsed.kind === 'Status' && parsed.reason) return ApiError.fromStatus(parsed as Status);
    if (parsed && parsed.kind === 'Status' && parsed.message) {
      return new ApiError(reasonByCode.get(code) ?? 'InternalError', parsed.message, parsed.details);
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return new ApiError(reasonByCode.get(code) ?? 'InternalError', body.trim() || `the server answered HTTP ${code}`);
}

/** List items and watch objects may come without apiVersion and kind; printers need both. */
function withType(obj: KObject, info: ResourceInfo): KObject {
  if (obj && typeof obj === 'object' && (obj as { kind?: string }).kind !== 'Status') {
    obj.apiVersion ||= apiVersionOf(info);
    obj.kind ||= info.kind;
  }
  return obj;
}
