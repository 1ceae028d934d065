import type { Taint } from '../api/types.js';
import { tolerated } from '../api/tolerations.js';
import { matchesAnyTerm, matchesNodeSelector, matchesTerm } from './matching.js';
import type { NodeInfo } from './node-info.js';
import type { PodInfo } from './pod-info.js';

// The scheduling plugins: pure functions of (pod, node, snapshot), in one list. Filters say
// whether a pod may go on a node and, when not, why — in the words kube-scheduler uses, because
// those words end up in the pod's status where users look for them. Scores rank the nodes that
// passed; each plugin's scores are normalized to 0..100 and summed with the plugin's weight.

export type FilterResult = { readonly ok: true } | { readonly ok: false; readonly reasons: readonly string[] };

/** The nodes a decision is made against. */
export interface Snapshot {
  /** Nodes that exist, in a stable order. */
  readonly nodes: readonly NodeInfo[];
  nodeInfo(name: string): NodeInfo | undefined;
  /** Whether any node has a PreferNoSchedule taint (else that score is the same everywhere). */
  readonly hasPreferNoScheduleTaints: boolean;
  /** Whether any node has a NoSchedule or NoExecute taint (else no taint can turn a pod away). */
  readonly hasHardTaints: boolean;
  /** Pods of the controller with this uid on the node. */
  ownerPodsOn(ownerUid: string, node: NodeInfo): number;
}

/** A snapshot of fixed nodes, for tests and one-off decisions. */
export function snapshotOf(nodes: readonly NodeInfo[]): Snapshot {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  return {
    nodes,
    nodeInfo: (name) => byName.get(name),
    hasPreferNoScheduleTaints: nodes.some((n) => n.preferNoScheduleTaints.length > 0),
    hasHardTaints: nodes.some((n) => n.hardTaints.length > 0),
    ownerPodsOn: (uid, node) => node.ownerCounts.get(uid) ?? 0,
  };
}

export interface Plugin {
  readonly name: string;
  filter?(pod: PodInfo, node: NodeInfo, snapshot: Snapshot): FilterResult;
  /** True when `filter` would pass every node for this pod, so it need not run (kube-scheduler's PreFilter Skip). */
  skipFilter?(pod: PodInfo, snapshot: Snapshot): boolean;
  /** A raw score; after `normalize` (when given) every plugin's scores are within 0..100. */
  score?(pod: PodInfo, node: NodeInfo, snapshot: Snapshot): number;
  /** True when `score` would rate every node alike for this pod, so it cannot change the choice (PreScore Skip). */
  skipScore?(pod: PodInfo, snapshot: Snapshot): boolean;
  /** Rescales the raw scores of all feasible nodes, in place. */
  normalize?(scores: number[]): void;
  /** Multiplies the normalized score; 1 when absent. */
  readonly weight?: number;
}

export const maxNodeScore = 100;

export const reasons = {
  unschedulable: 'node(s) were unschedulable',
  nodeAffinity: "node(s) didn't match Pod's node affinity/selector",
  hostPorts: "node(s) didn't have free ports for the requested pod ports",
  cpu: 'Insufficient cpu',
  memory: 'Insufficient memory',
  pods: 'Too many pods',
  untoleratedTaint: (t: Pick<Taint, 'key' | 'value'>) => `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`,
} as const;

const fits: FilterResult = Object.freeze({ ok: true });
const fail = (...why: string[]): FilterResult => Object.freeze({ ok: false, reasons: Object.freeze(why) });
const unschedulableResult = fail(reasons.unschedulable);
const affinityResult = fail(reasons.nodeAffinity);
const portsResult = fail(reasons.hostPorts);

export const unschedulableTaint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' } as const;
export const notReadyTaint = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' } as const;
export const unreachableTaint = { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' } as const;

/** A cordoned node takes only pods that tolerate `node.kubernetes.io/unschedulable:NoSchedule`. */
export const nodeUnschedulable: Plugin = {
  name: 'NodeUnschedulable',
  filter: (pod, node) => (node.unschedulable && !tolerated(pod.tolerations, unschedulableTaint) ? unschedulableResult : fits),
};

/**
 * A node that is not Ready takes no new pods. Kubernetes expresses this as the NoSchedule taint
 * its node lifecycle controller puts on such nodes (not-ready when Ready is False, unreachable
 * when Unknown), so the same tolerations apply and users read the same message.
 */
export const nodeReady: Plugin = {
  name: 'NodeReady',
  filter: (pod, node) => {
    if (node.ready === 'True') return fits;
    const taint = node.ready === 'False' ? notReadyTaint : unreachableTaint;
    return tolerated(pod.tolerations, taint) ? fits : fail(reasons.untoleratedTaint(taint));
  },
};

export const taintToleration: Plugin = {
  name: 'TaintToleration',
  weight: 3,
  skipFilter: (_pod, snapshot) => !snapshot.hasHardTaints,
  filter: (pod, node) => {
    const taints = node.hardTaints;
    for (let i = 0; i < taints.length; i++) if (!tolerated(pod.tolerations, taints[i])) return fail(reasons.untoleratedTaint(taints[i]));
    return fits;
  },
  // Fewer untolerated PreferNoSchedule taints is better; only tolerations for that effect count.
  skipScore: (_pod, snapshot) => !snapshot.hasPreferNoScheduleTaints,
  score: (pod, node) => {
    if (node.preferNoScheduleTaints.length === 0) return 0;
    const preferTolerations = pod.tolerations.filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    let n = 0;
    for (const taint of node.preferNoScheduleTaints) if (!tolerated(preferTolerations, taint)) n++;
    return n;
  },
  normalize: (scores) => defaultNormalize(scores, true),
};

export const nodeAffinity: Plugin = {
  name: 'NodeAffinity',
  weight: 2,
  skipFilter: (pod) => !pod.nodeSelector && !pod.requiredTerms,
  filter: (pod, node) => {
    if (pod.nodeSelector && !matchesNodeSelector(pod.nodeSelector, node.labels)) return affinityResult;
    if (pod.requiredTerms && !matchesAnyTerm(pod.requiredTerms, node)) return affinityResult;
    return fits;
  },
  skipScore: (pod) => pod.preferredTerms.length === 0,
  score: (pod, node) => {
    let sum = 0;
    for (const t of pod.preferredTerms) if (t.weight && matchesTerm(t.preference, node)) sum += t.weight;
    return sum;
  },
  normalize: (scores) => defaultNormalize(scores, false),
};

export const nodePorts: Plugin = {
  name: 'NodePorts',
  skipFilter: (pod) => pod.hostPorts.length === 0,
  filter: (pod, node) => {
    for (let i = 0; i < pod.hostPorts.length; i++) if (node.portInUse(pod.hostPorts[i])) return portsResult;
    return fits;
  },
};

/** Requests of the pods on the node plus this pod's must fit allocatable cpu, memory and pod count. */
export const nodeResourcesFit: Plugin = {
  name: 'NodeResourcesFit',
  weight: 1,
  filter: (pod, node) => {
    const r = pod.requests;
    const tooManyPods = node.podCount + 1 > node.allocatablePods;
    const cpu = r.milliCpu > 0 && r.milliCpu > node.allocatableMilliCpu - node.requestedMilliCpu;
    const memory = r.memory > 0 && r.memory > node.allocatableMemory - node.requestedMemory;
    if (!tooManyPods && !cpu && !memory) return fits;
    const why: string[] = [];
    if (tooManyPods) why.push(reasons.pods);
    if (cpu) why.push(reasons.cpu);
    if (memory) why.push(reasons.memory);
    return fail(...why);
  },
  // Least allocated: the share of cpu and memory left free after placing the pod, averaged.
  score: (pod, node) => {
    const cpu = leastRequested(node.nonZeroMilliCpu + pod.nonZeroRequests.milliCpu, node.allocatableMilliCpu);
    const memory = leastRequested(node.nonZeroMemory + pod.nonZeroRequests.memory, node.allocatableMemory);
    return Math.floor((cpu + memory) / 2);
  },
};

function leastRequested(requested: number, capacity: number): number {
  if (capacity <= 0 || requested > capacity) return 0;
  return Math.floor(((capacity - requested) * maxNodeScore) / capacity);
}

/**
 * Pods of one controller (ReplicaSet, Job, ...) spread across nodes: fewer of its pods on a node
 * is better, relative to the node holding most of them.
 */
export const ownerSpread: Plugin = {
  name: 'OwnerSpread',
  weight: 2,
  skipScore: (pod) => !pod.ownerUid,
  score: (pod, node, snapshot) => (pod.ownerUid ? snapshot.ownerPodsOn(pod.ownerUid, node) : 0),
  normalize: (scores) => {
    let max = 0;
    for (const s of scores) if (s > max) max = s;
    for (let i = 0; i < scores.length; i++) scores[i] = max === 0 ? maxNodeScore : Math.floor((maxNodeScore * (max - scores[i])) / max);
  },
};

/** Kubernetes' DefaultNormalizeScore: scale so the best is 100 (reversed: the lowest is 100). */
export function defaultNormalize(scores: number[], reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  if (max === 0) {
    if (reverse) scores.fill(maxNodeScore);
    return;
  }
  for (let i = 0; i < scores.length; i++) {
    const s = Math.floor((maxNodeScore * scores[i]) / max);
    scores[i] = reverse ? maxNodeScore - s : s;
  }
}

/** In kube-scheduler's filter order, so a node failing several is reported by the first, as there. */
export const defaultPlugins: readonly Plugin[] = [nodeUnschedulable, nodeReady, taintToleration, nodeAffinity, nodePorts, nodeResourcesFit, ownerSpread];
