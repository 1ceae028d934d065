// The container runtime as the agent sees it. The real implementation talks CRI over gRPC
// (client.ts); unit tests use a scripted fake with the same shape.
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
  StatusResponse,
  StringMap,
  VersionResponse,
} from './types.js';

export interface CallOptions {
  /** Deadline for this call in milliseconds; each method has a default. */
  timeoutMs?: number;
}

export interface StatusCallOptions extends CallOptions {
  /** Ask the runtime for its extra `info` map (pid, config, network details). */
  verbose?: boolean;
}

export interface CriRuntime {
  /** The endpoint this runtime was reached at, `unix:///run/containerd/containerd.sock`. */
  readonly endpoint: string;

  version(opts?: CallOptions): Promise<VersionResponse>;
  status(opts?: StatusCallOptions): Promise<StatusResponse>;

  /** Creates and starts a pod sandbox (pause container plus network); returns its id. */
  runPodSandbox(config: PodSandboxConfig, opts?: CallOptions & { runtimeHandler?: string }): Promise<string>;
  /** Stops every container of the sandbox and tears its network down; idempotent. */
  stopPodSandbox(podSandboxId: string, opts?: CallOptions): Promise<void>;
  /** Removes a stopped (or running: it is stopped first) sandbox and its containers; idempotent. */
  removePodSandbox(podSandboxId: string, opts?: CallOptions): Promise<void>;
  podSandboxStatus(podSandboxId: string, opts?: StatusCallOptions): Promise<{ status: PodSandboxStatus; info: StringMap }>;
  listPodSandbox(filter?: PodSandboxFilter, opts?: CallOptions): Promise<PodSandbox[]>;

  /** Creates a container in a sandbox; `sandboxConfig` must be the config the sandbox was run with. */
  createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig, opts?: CallOptions): Promise<string>;
  startContainer(containerId: string, opts?: CallOptions): Promise<void>;
  /** Sends the stop signal, waits up to `timeoutSeconds`, then kills; idempotent. */
  stopContainer(containerId: string, timeoutSeconds: number, opts?: CallOptions): Promise<void>;
  removeContainer(containerId: string, opts?: CallOptions): Promise<void>;
  listContainers(filter?: ContainerFilter, opts?: CallOptions): Promise<Container[]>;
  containerStatus(containerId: string, opts?: StatusCallOptions): Promise<{ status: ContainerStatus; info: StringMap }>;
  /** Asks the runtime to reopen the container's log file (after it was rotated away). */
  reopenContainerLog(containerId: string, opts?: CallOptions): Promise<void>;

  /** Runs a command in a container and waits for it; `timeoutSeconds` 0 means no limit. */
  execSync(containerId: string, cmd: string[], timeoutSeconds?: number, opts?: CallOptions): Promise<ExecSyncResult>;
  /** Prepares an interactive exec; returns the runtime's streaming URL to connect to. */
  exec(request: ExecRequest, opts?: CallOptions): Promise<string>;

  /** Resource usage of one container, or null when the runtime has none yet. */
  containerStats(containerId: string, opts?: CallOptions): Promise<ContainerStats | null>;
  listContainerStats(filter?: ContainerStatsFilter, opts?: CallOptions): Promise<ContainerStats[]>;

  listImages(filter?: ImageSpec, opts?: CallOptions): Promise<Image[]>;
  /** The image, or null when the runtime does not have it. */
  imageStatus(image: ImageSpec, opts?: StatusCallOptions): Promise<Image | null>;
  /** Pulls an image; returns its reference (`sha256:...`). */
  pullImage(image: ImageSpec, opts?: CallOptions & { auth?: AuthConfig; sandboxConfig?: PodSandboxConfig }): Promise<string>;
  removeImage(image: ImageSpec, opts?: CallOptions): Promise<void>;
  imageFsInfo(opts?: CallOptions): Promise<ImageFsInfoResponse>;

  /** Closes the connection; calls after this fail. */
  close(): void;
}
