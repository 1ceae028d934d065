import { parseQuantity, toMilli } from '../api/quantity.js';
import type { Container, NodeSelectorTerm, Pod, ResourceList, Toleration } from '../api/types.js';

// What the scheduler needs to know about a pod, computed once per pod (not once per node it is
// checked against): its requests, host ports, owner and placement constraints.

/** Requests in the units the scheduler compares: millicores and bytes. */
export interface Resources {
  milliCpu: number;
  memory: number;
}

export interface HostPort {
  /** '0.0.0.0' when the port is bound on every address. */
  ip: string;
  protocol: string;
  port: number;
}

export interface PodInfo {
  /** `namespace/name`: the queue and cache key. */
  readonly key: string;
  readonly pod: Pod;
  readonly nodeName: string;
  /** Sum of app containers, or the largest init container when that is more (Kubernetes' rule). */
  readonly requests: Resources;
  /** The same with unset requests counted as 100m cpu and 200Mi memory, as scoring does in Kubernetes. */
  readonly nonZeroRequests: Resources;
  readonly hostPorts: readonly HostPort[];
  /** uid of the controlling owner (ReplicaSet, Job, ...), for spreading its pods across nodes. */
  readonly ownerUid: string | undefined;
  readonly tolerations: readonly Toleration[];
  readonly nodeSelector: Readonly<Record<string, string>> | undefined;
  readonly requiredTerms: readonly NodeSelectorTerm[] | undefined;
  readonly preferredTerms: readonly { weight: number; preference: NodeSelectorTerm }[];
  /** Succeeded or Failed: holds nothing on its node any more. */
  readonly terminated: boolean;
}

/** Kubernetes' defaults for scoring pods that request nothing (pkg/scheduler/util/pod_resources.go). */
export const defaultMilliCpuRequest = 100;
export const defaultMemoryRequest = 200 * 1024 * 1024;

export function podKey(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? ''}/${name ?? ''}`;
}

export function isTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

export function podInfo(pod: Pod): PodInfo {
  const spec = pod.spec ?? { containers: [] };
  const { requests, nonZeroRequests } = podRequests(spec.containers ?? [], spec.initContainers ?? []);
  const owner = pod.metadata.ownerReferences?.find((r) => r.controller);
  const affinity = spec.affinity?.nodeAffinity;
  return {
    key: podKey(pod.metadata.namespace, pod.metadata.name),
    pod,
    nodeName: spec.nodeName ?? '',
    requests,
    nonZeroRequests,
    hostPorts: hostPorts(spec.containers ?? [], spec.initContainers ?? []),
    ownerUid: owner?.uid,
    tolerations: spec.tolerations ?? [],
    nodeSelector: spec.nodeSelector && Object.keys(spec.nodeSelector).length ? spec.nodeSelector : undefined,
    requiredTerms: affinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
    preferredTerms: affinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [],
    terminated: isTerminated(pod),
  };
}

/** A copy of `info` placed on `nodeName`: what the cache holds for a pod it has just assumed bound. */
export function onNode(info: PodInfo, nodeName: string): PodInfo {
  return { ...info, nodeName };
}

function podRequests(containers: Container[], initContainers: Container[]): { requests: Resources; nonZeroRequests: Resources } {
  const requests = { milliCpu: 0, memory: 0 };
  const nonZeroRequests = { milliCpu: 0, memory: 0 };
  for (const c of containers) {
    const r = c.resources?.requests;
    requests.milliCpu += cpuOf(r);
    requests.memory += memoryOf(r);
    nonZeroRequests.milliCpu += has(r, 'cpu') ? cpuOf(r) : defaultMilliCpuRequest;
    nonZeroRequests.memory += has(r, 'memory') ? memoryOf(r) : defaultMemoryRequest;
  }
  // Init containers run one at a time before the app containers, so the pod needs the larger of
  // the biggest init container and the app containers together.
  for (const c of initContainers) {
    const r = c.resources?.requests;
    requests.milliCpu = Math.max(requests.milliCpu, cpuOf(r));
    requests.memory = Math.max(requests.memory, memoryOf(r));
    nonZeroRequests.milliCpu = Math.max(nonZeroRequests.milliCpu, has(r, 'cpu') ? cpuOf(r) : defaultMilliCpuRequest);
    nonZeroRequests.memory = Math.max(nonZeroRequests.memory, has(r, 'memory') ? memoryOf(r) : defaultMemoryRequest);
  }
  return { requests, nonZeroRequests };
}

function has(list: ResourceList | undefined, name: string): boolean {
  return list !== undefined && list[name] !== undefined && list[name] !== null;
}

function hostPorts(containers: Container[], initContainers: Container[]): HostPort[] {
  const out: HostPort[] = [];
  for (const c of [...initContainers, ...containers]) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort || p.hostPort <= 0) continue;
      out.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
    }
  }
  return out;
}

// Pods of one workload repeat the same few quantity strings; parsing each once keeps list and
// watch processing of tens of thousands of pods cheap.
const parsed = new Map<string, number>();
const parsedLimit = 10_000;

function memo(kind: string, q: string | number, parse: (q: string | number) => number): number {
  const k = `${kind}${q}`;
  let v = parsed.get(k);
  if (v === undefined) {
    try {
      v = parse(q);
    } catch {
      // Validation refuses bad quantities; one that slipped into the store requests nothing.
      v = 0;
    }
    if (parsed.size >= parsedLimit) parsed.clear();
    parsed.set(k, v);
  }
  return v;
}

/** Millicores, rounded up as Kubernetes' MilliValue does. */
export function cpuOf(list: ResourceList | undefined): number {
  const q = list?.cpu;
  return q === undefined || q === null ? 0 : memo('c', q, toMilli);
}

/** Bytes, rounded up as Kubernetes' Value does. */
export function memoryOf(list: ResourceList | undefined): number {
  const q = list?.memory;
  return q === undefined || q === null ? 0 : memo('m', q, (x) => Math.ceil(parseQuantity(x)));
}

/** A plain count ("110" pods). */
export function countOf(list: ResourceList | undefined, name: string): number {
  const q = list?.[name];
  return q === undefined || q === null ? 0 : memo('n', q, (x) => Math.floor(parseQuantity(x)));
}
