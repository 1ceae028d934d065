import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { connectRuntime } from '../../cri/client.js';
import { startContainerd, type ManagedContainerd } from '../../cri/containerd-process.js';
import { ensurePauseImage, PAUSE_IMAGE } from '../../cri/local-images.js';
import { CRI_NAMESPACE } from '../../cri/image-import.js';
import type { Registries } from '../../cri/registries.js';
import type { CriRuntime } from '../../cri/runtime.js';
import type { Logger } from '../../log/logger.js';

// The container runtime a node's pods run on: by default a containerd the agent starts under
// its data dir (as k3s does), with its own CNI bridge and pod subnet and a pause image built
// locally; with --container-runtime-endpoint, an existing CRI runtime instead.

export const DEFAULT_CNI_BRIDGE = 'skiff0';

/** For nodes joined to a control plane that assigns no subnet: a /24 in 10.42.0.0/16 chosen by the node name. */
export function defaultPodCidr(nodeName: string): string {
  const x = createHash('sha256').update(nodeName).digest()[0];
  return `10.42.${x}.0/24`;
}

export interface NodeRuntimeOptions {
  dataDir: string;
  nodeName: string;
  /** unix:///... of an existing runtime; omitted: the agent's own containerd. */
  containerRuntimeEndpoint?: string;
  podCidr?: string;
  cniBridge?: string;
  /** For the agent's own containerd; an existing runtime keeps its own registry settings. */
  registries?: Registries;
  log: Logger;
}

export interface NodeRuntime {
  runtime: CriRuntime;
  /** Set when the agent runs its own containerd. */
  managed?: ManagedContainerd;
  /** How to reach containers beside CRI (interactive exec), when the runtime is containerd. */
  containerd?: { address: string; runcRoot: string };
  /** `containerd://1.6.20`, as Node.status.nodeInfo.containerRuntimeVersion shows it. */
  version(): Promise<string>;
  /** Closes the client and stops the agent's own containerd; containers keep running. */
  close(): Promise<void>;
}

export async function startNodeRuntime(opts: NodeRuntimeOptions): Promise<NodeRuntime> {
  let managed: ManagedContainerd | undefined;
  let runtime: CriRuntime;
  if (opts.containerRuntimeEndpoint) {
    if (opts.registries) opts.log.warn('registries file ignored: the runtime at --container-runtime-endpoint keeps its own registry configuration');
    runtime = await connectRuntime(opts.containerRuntimeEndpoint, { readyTimeoutMs: 30_000 });
  } else {
    const podCidr = opts.podCidr ?? defaultPodCidr(opts.nodeName);
    managed = await startContainerd({ dataDir: join(opts.dataDir, 'containerd'), podCidr, bridgeName: opts.cniBridge ?? DEFAULT_CNI_BRIDGE, sandboxImage: PAUSE_IMAGE, registries: opts.registries });
    opts.log.info({ endpoint: managed.endpoint, podCidr }, 'started containerd for this node');
    runtime = await managed.connect();
    if (await ensurePauseImage(runtime, managed.address, { snapshotter: managed.snapshotter })) opts.log.info({ image: PAUSE_IMAGE }, 'imported the pause image');
  }
  const m = managed;
  return {
    runtime,
    managed: m,
    containerd: m ? { address: m.address, runcRoot: m.runcRoot } : await externalContainerd(runtime, opts.containerRuntimeEndpoint),
    async version() {
      const v = await runtime.version().catch(() => undefined);
      return v ? `${v.runtimeName}://${v.runtimeVersion}` : 'containerd://unknown';
    },
    async close() {
      runtime.close();
      await m?.stop();
    },
  };
}

/** An existing containerd keeps runc's state where its defaults put it. */
async function externalContainerd(runtime: CriRuntime, endpoint: string | undefined): Promise<NodeRuntime['containerd']> {
  const v = await runtime.version().catch(() => undefined);
  if (!endpoint || v?.runtimeName !== 'containerd') return undefined;
  return { address: endpoint, runcRoot: `/run/containerd/runc/${CRI_NAMESPACE}` };
}
