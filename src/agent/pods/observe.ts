import type { CriRuntime } from '../../cri/runtime.js';
import type { ContainerState, ContainerStatus } from '../../cri/types.js';
import { labels } from './labels.js';
import type { ObservedContainer, ObservedSandbox, PodObservation } from './observation.js';

// Reads one pod's sandboxes and containers from CRI by the pod-uid label. An exited container
// never changes again and a sandbox keeps its IP, so both are cached by id across syncs.

const stateOf: Record<ContainerState, ObservedContainer['state']> = {
  CONTAINER_CREATED: 'created',
  CONTAINER_RUNNING: 'running',
  CONTAINER_EXITED: 'exited',
  CONTAINER_UNKNOWN: 'unknown',
};

const ms = (ns: number) => (ns > 0 ? Math.floor(ns / 1e6) : 0);

export function toObserved(s: ContainerStatus, sandboxId: string): ObservedContainer {
  return {
    id: s.id,
    sandboxId,
    name: s.metadata?.name ?? s.labels[labels.containerName] ?? '',
    kind: s.labels[labels.containerKind] === 'init' ? 'init' : 'app',
    attempt: s.metadata?.attempt ?? 0,
    state: stateOf[s.state] ?? 'unknown',
    createdAt: ms(s.createdAt),
    startedAt: ms(s.startedAt),
    finishedAt: ms(s.finishedAt),
    exitCode: s.exitCode,
    reason: s.reason,
    message: s.message,
    image: s.image?.image ?? '',
    imageRef: s.imageRef,
  };
}

export class PodObserver {
  private readonly exited = new Map<string, ObservedContainer>();
  private readonly ips = new Map<string, string>();

  constructor(
    private readonly runtime: CriRuntime,
    private readonly uid: string,
  ) {}

  async observe(): Promise<PodObservation> {
    const selector = { labelSelector: { [labels.podUid]: this.uid } };
    const [sbs, cs] = await Promise.all([this.runtime.listPodSandbox(selector), this.runtime.listContainers(selector)]);
    const sandboxes: ObservedSandbox[] = [];
    for (const sb of sbs) {
      const ready = sb.state === 'SANDBOX_READY';
      let ip = this.ips.get(sb.id);
      if (ip === undefined && ready) {
        const st = await this.runtime.podSandboxStatus(sb.id).catch(() => undefined);
        ip = st?.status.network?.ip ?? '';
        this.ips.set(sb.id, ip);
      }
      sandboxes.push({ id: sb.id, attempt: sb.metadata?.attempt ?? 0, ready, ip: ip ?? '', createdAt: ms(sb.createdAt) });
    }
    sandboxes.sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt);
    const containers: ObservedContainer[] = [];
    for (const c of cs) {
      const cached = this.exited.get(c.id);
      if (cached) {
        containers.push(cached);
        continue;
      }
      const st = await this.runtime.containerStatus(c.id).catch(() => undefined);
      if (!st) continue;
      const o = toObserved(st.status, c.podSandboxId);
      if (o.state === 'exited') this.exited.set(c.id, o);
      containers.push(o);
    }
    const live = new Set(cs.map((c) => c.id));
    for (const id of this.exited.keys()) if (!live.has(id)) this.exited.delete(id);
    return { sandboxes, containers };
  }
}
