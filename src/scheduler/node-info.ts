import type { Node, Taint } from '../api/types.js';
import { countOf, cpuOf, memoryOf, type HostPort, type PodInfo } from './pod-info.js';

// One node as the scheduler sees it: the node's own facts, and running totals of the pods bound
// to it, kept up to date as pods come and go so that no decision ever re-scans the pods.

export type ReadyStatus = 'True' | 'False' | 'Unknown';

export class NodeInfo {
  node: Node | undefined;
  labels: Readonly<Record<string, string>> = {};
  // Totals are plain number fields, not nested objects: filters read them for hundreds of
  // nodes per decision, and one object hop less per read is measurable there.
  allocatableMilliCpu = 0;
  allocatableMemory = 0;
  allocatablePods = 0;
  /** Ready condition status; 'Unknown' when the node has not reported one. */
  ready: ReadyStatus = 'Unknown';
  unschedulable = false;
  /** NoSchedule and NoExecute taints: the ones that keep pods off. */
  hardTaints: readonly Taint[] = [];
  preferNoScheduleTaints: readonly Taint[] = [];

  /** Non-terminated pods bound (or assumed bound) here, by pod key. */
  readonly pods = new Map<string, PodInfo>();
  podCount = 0;
  requestedMilliCpu = 0;
  requestedMemory = 0;
  /** Requests with unset ones counted at Kubernetes' scoring defaults (see PodInfo.nonZeroRequests). */
  nonZeroMilliCpu = 0;
  nonZeroMemory = 0;
  /** `protocol/port` → address → how many pods hold it. */
  readonly usedPorts = new Map<string, Map<string, number>>();
  /** Owner uid → pods of that owner here. */
  readonly ownerCounts = new Map<string, number>();
  /** Position in the cache's node list, for O(1) removal; -1 while the node object is absent. */
  index = -1;

  /** @param slot a small number unique among live NodeInfos, for per-node arrays kept elsewhere. */
  constructor(
    readonly name: string,
    readonly slot = -1,
  ) {}

  setNode(node: Node | undefined): void {
    this.node = node;
    if (!node) return;
    const status = node.status ?? {};
    // Kubernetes defaults allocatable to capacity.
    const alloc = status.allocatable ?? status.capacity;
    this.allocatableMilliCpu = cpuOf(alloc);
    this.allocatableMemory = memoryOf(alloc);
    this.allocatablePods = countOf(alloc, 'pods');
    this.labels = node.metadata.labels ?? {};
    const ready = status.conditions?.find((c) => c.type === 'Ready')?.status;
    this.ready = ready === 'True' || ready === 'False' ? ready : 'Unknown';
    this.unschedulable = node.spec?.unschedulable === true;
    const taints = node.spec?.taints ?? [];
    this.hardTaints = taints.filter((t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
    this.preferNoScheduleTaints = taints.filter((t) => t.effect === 'PreferNoSchedule');
  }

  addPod(p: PodInfo): void {
    this.pods.set(p.key, p);
    this.account(p, 1);
  }

  /** Holds `p` in place of the pod with its key, which must request the same: nothing is recounted. */
  replacePod(p: PodInfo): void {
    if (this.pods.has(p.key)) this.pods.set(p.key, p);
  }

  /** Removes the pod with `key`; returns what was there. */
  removePod(key: string): PodInfo | undefined {
    const p = this.pods.get(key);
    if (!p) return undefined;
    this.pods.delete(key);
    this.account(p, -1);
    return p;
  }

  private account(p: PodInfo, sign: 1 | -1): void {
    this.podCount += sign;
    this.requestedMilliCpu += sign * p.requests.milliCpu;
    this.requestedMemory += sign * p.requests.memory;
    this.nonZeroMilliCpu += sign * p.nonZeroRequests.milliCpu;
    this.nonZeroMemory += sign * p.nonZeroRequests.memory;
    for (const hp of p.hostPorts) this.countPort(hp, sign);
    if (p.ownerUid) {
      const n = (this.ownerCounts.get(p.ownerUid) ?? 0) + sign;
      if (n > 0) this.ownerCounts.set(p.ownerUid, n);
      else this.ownerCounts.delete(p.ownerUid);
    }
  }

  private countPort(hp: HostPort, sign: 1 | -1): void {
    const k = portKey(hp);
    let byIp = this.usedPorts.get(k);
    if (!byIp) this.usedPorts.set(k, (byIp = new Map()));
    const n = (byIp.get(hp.ip) ?? 0) + sign;
    if (n > 0) byIp.set(hp.ip, n);
    else byIp.delete(hp.ip);
    if (byIp.size === 0) this.usedPorts.delete(k);
  }

  /** A wanted host port clashes when the same protocol and port is held on the same address or on all of them. */
  portInUse(hp: HostPort): boolean {
    const byIp = this.usedPorts.get(portKey(hp));
    if (!byIp) return false;
    if (hp.ip === '0.0.0.0') return true;
    return byIp.has(hp.ip) || byIp.has('0.0.0.0');
  }
}

function portKey(hp: HostPort): string {
  return `${hp.protocol}/${hp.port}`;
}

/** Builds a NodeInfo holding `pods`, for tests and one-off decisions. */
export function nodeInfoOf(node: Node, pods: PodInfo[] = []): NodeInfo {
  const info = new NodeInfo(node.metadata.name ?? '');
  info.setNode(node);
  for (const p of pods) if (!p.terminated) info.addPod(p);
  return info;
}
