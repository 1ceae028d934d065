// The CRI client: RuntimeService and ImageService over one gRPC channel to a unix socket, with a
// deadline on every call and errors that name the call. connectRuntime checks, in order, that the
// socket exists, that it answers, that it serves CRI runtime.v1 and that it reports ready, and
// says which of these failed.
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { CriConnectError, CriError } from './errors.js';
import type { CallOptions, CriRuntime, StatusCallOptions } from './runtime.js';
import type {
  AuthConfig,
  Container,
  ContainerConfig,
  ContainerFilter,
  ContainerStats,
  ContainerStatsFilter,
  ContainerStatus,
  ExecRequest,
  ExecSyncResult,
  Image,
  ImageFsInfoResponse,
  ImageSpec,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxFilter,
  PodSandboxStatus,
  RuntimeCondition,
  StatusResponse,
  StringMap,
  VersionResponse,
} from './types.js';

/** The CRI API version string kubelet sends in VersionRequest. */
const KUBE_RUNTIME_API_VERSION = '0.1.0';

/** Default deadline of a call: kubelet's --runtime-request-timeout. */
const DEFAULT_CALL_TIMEOUT_MS = 120_000;
/** Pulls have no natural bound; this one only stops a hung pull from hanging forever. */
const DEFAULT_PULL_TIMEOUT_MS = 30 * 60_000;
/** Responses may carry many containers or verbose info; kubelet allows 16 MiB too. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface ConnectOptions {
  /** How long to wait for the socket to accept a connection. Default 5 s. */
  connectTimeoutMs?: number;
  /** Keep polling Status this long for RuntimeReady (and NetworkReady) to turn true. Default 0: check once. */
  readyTimeoutMs?: number;
  /** Require NetworkReady as well as RuntimeReady. Default true; false suits hostNetwork-only use. */
  requireNetworkReady?: boolean;
  /** Default deadline of each call in milliseconds. Default 2 minutes. */
  callTimeoutMs?: number;
}

type Callback = (err: grpc.ServiceError | null, res: unknown) => void;
type UnaryMethod = (req: object, meta: grpc.Metadata, opts: grpc.CallOptions, cb: Callback) => void;
type ServiceCtor = new (address: string, creds: grpc.ChannelCredentials, opts?: grpc.ClientOptions) => grpc.Client;

let services: { runtime: ServiceCtor; image: ServiceCtor } | undefined;

/** The .proto lives in the package root's proto/ dir; search upwards so this works from src/ (tsx) and dist/. */
function findProto(): string {
  const rel = join('proto', 'runtime', 'v1', 'api.proto');
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, rel);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${rel} above ${dirname(fileURLToPath(import.meta.url))}: the package is incomplete`);
    dir = parent;
  }
}

function loadServices(): { runtime: ServiceCtor; image: ServiceCtor } {
  if (services) return services;
  const definition = protoLoader.loadSync(findProto(), {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    arrays: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    runtime: { v1: { RuntimeService: ServiceCtor; ImageService: ServiceCtor } };
  };
  services = { runtime: pkg.runtime.v1.RuntimeService, image: pkg.runtime.v1.ImageService };
  return services;
}

/** `unix:///run/x.sock` (or a bare absolute path) → its path; anything else is rejected. */
export function socketPathOf(endpoint: string): string {
  if (endpoint.startsWith('unix://')) return endpoint.slice('unix://'.length);
  if (endpoint.startsWith('unix:')) return endpoint.slice('unix:'.length);
  if (endpoint.startsWith('/')) return endpoint;
  throw new Error(`container runtime endpoint ${JSON.stringify(endpoint)} is not a unix socket: use unix:///path/to/containerd.sock`);
}

/** The canonical `unix:///path` form of an endpoint. */
export function normalizeEndpoint(endpoint: string): string {
  return `unix://${socketPathOf(endpoint)}`;
}

class GrpcCriRuntime implements CriRuntime {
  private readonly runtimeClient: grpc.Client;
  private readonly imageClient: grpc.Client;

  constructor(
    readonly endpoint: string,
    private readonly callTimeoutMs: number,
  ) {
    const { runtime, image } = loadServices();
    // A local runtime comes back quickly after a restart; don't let grpc back off for minutes.
    const options: grpc.ClientOptions = {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2_000,
    };
    this.runtimeClient = new runtime(endpoint, grpc.credentials.createInsecure(), options);
    this.imageClient = new image(endpoint, grpc.credentials.createInsecure(), {
      ...options,
      channelOverride: this.runtimeClient.getChannel(),
    });
  }

  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.runtimeClient.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
    });
  }

  private call<T>(client: grpc.Client, method: string, request: object, timeoutMs: number): Promise<T> {
    const fn = (client as unknown as Record<string, UnaryMethod>)[method];
    return new Promise<T>((resolve, reject) => {
      fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (!err) return resolve(res as T);
        const details = err.code === grpc.status.DEADLINE_EXCEEDED
          ? `no answer within ${formatMs(timeoutMs)} (deadline exceeded)`
          : err.details || err.message;
        reject(new CriError(method, err.code, details, { cause: err }));
      });
    });
  }

  private rt<T>(method: string, request: object, opts?: CallOptions, defaultMs = this.callTimeoutMs): Promise<T> {
    return this.call<T>(this.runtimeClient, method, request, opts?.timeoutMs ?? defaultMs);
  }

  private img<T>(method: string, request: object, opts?: CallOptions, defaultMs = this.callTimeoutMs): Promise<T> {
    return this.call<T>(this.imageClient, method, request, opts?.timeoutMs ?? defaultMs);
  }

  version(opts?: CallOptions): Promise<VersionResponse> {
    return this.rt('Version', { version: KUBE_RUNTIME_API_VERSION }, opts);
  }

  status(opts?: StatusCallOptions): Promise<StatusResponse> {
    return this.rt('Status', { verbose: opts?.verbose ?? false }, opts);
  }

  async runPodSandbox(config: PodSandboxConfig, opts?: CallOptions & { runtimeHandler?: string }): Promise<string> {
    const res = await this.rt<{ podSandboxId: string }>('RunPodSandbox', { config, runtimeHandler: opts?.runtimeHandler ?? '' }, opts);
    return res.podSandboxId;
  }

  async stopPodSandbox(podSandboxId: string, opts?: CallOptions): Promise<void> {
    await this.rt('StopPodSandbox', { podSandboxId }, opts);
  }

  async removePodSandbox(podSandboxId: string, opts?: CallOptions): Promise<void> {
    await this.rt('RemovePodSandbox', { podSandboxId }, opts);
  }

  async podSandboxStatus(podSandboxId: string, opts?: StatusCallOptions): Promise<{ status: PodSandboxStatus; info: StringMap }> {
    const res = await this.rt<{ status: PodSandboxStatus | null; info: StringMap }>(
      'PodSandboxStatus', { podSandboxId, verbose: opts?.verbose ?? false }, opts);
    if (!res.status) throw new CriError('PodSandboxStatus', grpc.status.INTERNAL, `the runtime returned no status for sandbox ${podSandboxId}`);
    return { status: res.status, info: res.info };
  }

  async listPodSandbox(filter?: PodSandboxFilter, opts?: CallOptions): Promise<PodSandbox[]> {
    const res = await this.rt<{ items: PodSandbox[] }>('ListPodSandbox', { filter: filter ?? null }, opts);
    return res.items;
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig, opts?: CallOptions): Promise<string> {
    const res = await this.rt<{ containerId: string }>('CreateContainer', { podSandboxId, config, sandboxConfig }, opts);
    return res.containerId;
  }

  async startContainer(containerId: string, opts?: CallOptions): Promise<void> {
    await this.rt('StartContainer', { containerId }, opts);
  }

  async stopContainer(containerId: string, timeoutSeconds: number, opts?: CallOptions): Promise<void> {
    // The runtime waits up to timeoutSeconds before killing, so the deadline must outlast that.
    await this.rt('StopContainer', { containerId, timeout: timeoutSeconds }, opts, timeoutSeconds * 1000 + this.callTimeoutMs);
  }

  async removeContainer(containerId: string, opts?: CallOptions): Promise<void> {
    await this.rt('RemoveContainer', { containerId }, opts);
  }

  async listContainers(filter?: ContainerFilter, opts?: CallOptions): Promise<Container[]> {
    const res = await this.rt<{ containers: Container[] }>('ListContainers', { filter: filter ?? null }, opts);
    return res.containers;
  }

  async containerStatus(containerId: string, opts?: StatusCallOptions): Promise<{ status: ContainerStatus; info: StringMap }> {
    const res = await this.rt<{ status: ContainerStatus | null; info: StringMap }>(
      'ContainerStatus', { containerId, verbose: opts?.verbose ?? false }, opts);
    if (!res.status) throw new CriError('ContainerStatus', grpc.status.INTERNAL, `the runtime returned no status for container ${containerId}`);
    return { status: res.status, info: res.info };
  }

  async reopenContainerLog(containerId: string, opts?: CallOptions): Promise<void> {
    await this.rt('ReopenContainerLog', { containerId }, opts);
  }

  execSync(containerId: string, cmd: string[], timeoutSeconds = 0, opts?: CallOptions): Promise<ExecSyncResult> {
    const deadline = timeoutSeconds > 0 ? timeoutSeconds * 1000 + 10_000 : this.callTimeoutMs;
    return this.rt('ExecSync', { containerId, cmd, timeout: timeoutSeconds }, opts, deadline);
  }

  async exec(request: ExecRequest, opts?: CallOptions): Promise<string> {
    const res = await this.rt<{ url: string }>('Exec', request, opts);
    return res.url;
  }

  async containerStats(containerId: string, opts?: CallOptions): Promise<ContainerStats | null> {
    const res = await this.rt<{ stats: ContainerStats | null }>('ContainerStats', { containerId }, opts);
    return res.stats;
  }

  async listContainerStats(filter?: ContainerStatsFilter, opts?: CallOptions): Promise<ContainerStats[]> {
    const res = await this.rt<{ stats: ContainerStats[] }>('ListContainerStats', { filter: filter ?? null }, opts);
    return res.stats;
  }

  async listImages(filter?: ImageSpec, opts?: CallOptions): Promise<Image[]> {
    const res = await this.img<{ images: Image[] }>('ListImages', { filter: filter ? { image: filter } : null }, opts);
    return res.images;
  }

  async imageStatus(image: ImageSpec, opts?: StatusCallOptions): Promise<Image | null> {
    const res = await this.img<{ image: Image | null }>('ImageStatus', { image, verbose: opts?.verbose ?? false }, opts);
    return res.image;
  }

  async pullImage(image: ImageSpec, opts?: CallOptions & { auth?: AuthConfig; sandboxConfig?: PodSandboxConfig }): Promise<string> {
    const res = await this.img<{ imageRef: string }>(
      'PullImage', { image, auth: opts?.auth ?? null, sandboxConfig: opts?.sandboxConfig ?? null }, opts, DEFAULT_PULL_TIMEOUT_MS);
    return res.imageRef;
  }

  async removeImage(image: ImageSpec, opts?: CallOptions): Promise<void> {
    await this.img('RemoveImage', { image }, opts);
  }

  imageFsInfo(opts?: CallOptions): Promise<ImageFsInfoResponse> {
    return this.img('ImageFsInfo', {}, opts);
  }

  close(): void {
    this.imageClient.close();
    this.runtimeClient.close();
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** The conditions that keep a runtime from running pods, as `NetworkReady is false (reason: message)`. */
export function unreadyConditions(status: StatusResponse, requireNetworkReady: boolean): string[] {
  const conditions = status.status?.conditions ?? [];
  const wanted = requireNetworkReady ? ['RuntimeReady', 'NetworkReady'] : ['RuntimeReady'];
  return wanted.flatMap((type) => {
    const c: RuntimeCondition | undefined = conditions.find((x) => x.type === type);
    if (!c) return [`${type} is not reported`];
    if (c.status) return [];
    const why = [c.reason, c.message].filter(Boolean).join(': ');
    return [`${type} is false${why ? ` (${why})` : ''}`];
  });
}

/**
 * Connects to the CRI runtime at `endpoint` (`unix:///run/containerd/containerd.sock`) and checks
 * that it can run pods. Throws CriConnectError naming the failed check.
 */
export async function connectRuntime(endpoint: string, opts: ConnectOptions = {}): Promise<CriRuntime> {
  const path = socketPathOf(endpoint);
  const ep = `unix://${path}`;
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new CriConnectError(ep, 'socket-missing', `no container runtime at ${ep}: is containerd running?`, { cause: err });
  }
  if (!st.isSocket()) {
    throw new CriConnectError(ep, 'socket-missing', `no container runtime at ${ep}: the path exists but is not a socket; check --container-runtime-endpoint`);
  }

  const rt = new GrpcCriRuntime(ep, opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
  try {
    const connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
    try {
      await rt.waitForReady(connectTimeoutMs);
    } catch (err) {
      throw new CriConnectError(ep, 'unreachable',
        `cannot reach the container runtime at ${ep} within ${formatMs(connectTimeoutMs)}: ${(err as Error).message}; ` +
        'the socket exists but nothing answers: is containerd running, or did it leave a stale socket?', { cause: err });
    }

    const requireNetworkReady = opts.requireNetworkReady ?? true;
    const readyBy = Date.now() + (opts.readyTimeoutMs ?? 0);
    // A containerd that just started answers "server is not initialized yet" while it recovers
    // its containers; within readyTimeoutMs that is worth waiting for.
    for (;;) {
      try {
        await rt.version({ timeoutMs: connectTimeoutMs });
        break;
      } catch (err) {
        if (err instanceof CriError && err.code === grpc.status.UNIMPLEMENTED) {
          throw new CriConnectError(ep, 'cri-disabled',
            `containerd at ${ep} does not serve CRI (runtime.v1): enable the "cri" plugin ` +
            '(remove it from disabled_plugins in config.toml) and restart containerd', { cause: err });
        }
        if (Date.now() >= readyBy) {
          throw new CriConnectError(ep, 'unreachable', `the container runtime at ${ep} did not answer Version: ${(err as Error).message}`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    for (;;) {
      const problems = unreadyConditions(await rt.status({ timeoutMs: connectTimeoutMs }), requireNetworkReady);
      if (problems.length === 0) return rt;
      if (Date.now() >= readyBy) {
        throw new CriConnectError(ep, 'not-ready', `the container runtime at ${ep} is not ready: ${problems.join('; ')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    rt.close();
    throw err;
  }
}
