import type { NodeInfo } from './node-info.js';
import type { PodInfo } from './pod-info.js';
import type { Plugin, Snapshot } from './plugins.js';

// One scheduling decision, as a pure function: filter the nodes, score the feasible ones, pick
// the best. Like kube-scheduler it stops filtering once it has found enough feasible nodes in a
// large cluster (percentageOfNodesToScore), starting where the previous decision stopped, so
// each decision costs a bounded number of node checks and all nodes get their turn.

export type ScheduleResult =
  | { readonly ok: true; readonly nodeName: string; readonly processed: number; readonly feasible: number }
  | { readonly ok: false; readonly message: string; readonly processed: number };

export interface ScheduleOptions {
  readonly plugins: readonly Plugin[];
  /** Index in `snapshot.nodes` to start filtering at; pass the previous start plus `processed`. */
  readonly startIndex?: number;
  /** Share of nodes to find feasible before scoring; 0 or absent picks Kubernetes' adaptive share. */
  readonly percentageOfNodesToScore?: number;
}

/** Kubernetes' message when the cluster has no nodes at all. */
export const noNodesMessage = 'no nodes available to schedule pods';

const minFeasibleNodesToFind = 100;
const minFeasibleNodesPercentageToFind = 5;

/** How many feasible nodes are enough: all below 100 nodes, then a share shrinking with size (kube-scheduler's rule). */
export function numFeasibleNodesToFind(numAllNodes: number, percentage = 0): number {
  if (numAllNodes < minFeasibleNodesToFind) return numAllNodes;
  let pct = percentage;
  if (pct <= 0) pct = Math.max(minFeasibleNodesPercentageToFind, 50 - Math.trunc(numAllNodes / 125));
  if (pct >= 100) return numAllNodes;
  return Math.max(minFeasibleNodesToFind, Math.trunc((numAllNodes * pct) / 100));
}

/**
 * kube-scheduler's FitError text: `0/3 nodes are available: 1 node(s) were unschedulable, 2
 * Insufficient cpu.` — each reason with the number of nodes that gave it, sorted as strings.
 */
export function failureMessage(numAllNodes: number, reasonCounts: ReadonlyMap<string, number>): string {
  if (numAllNodes === 0) return noNodesMessage;
  const parts = [...reasonCounts].map(([reason, n]) => `${n} ${reason}`).sort();
  return `0/${numAllNodes} nodes are available:${parts.length ? ` ${parts.join(', ')}.` : ''}`;
}

export function schedulePod(pod: PodInfo, snapshot: Snapshot, opts: ScheduleOptions): ScheduleResult {
  const nodes = snapshot.nodes;
  const n = nodes.length;
  if (n === 0) return { ok: false, message: noNodesMessage, processed: 0 };
  const filters: Plugin[] = [];
  for (const p of opts.plugins) if (p.filter && !p.skipFilter?.(pod, snapshot)) filters.push(p);
  const want = numFeasibleNodesToFind(n, opts.percentageOfNodesToScore);
  const start = ((opts.startIndex ?? 0) % n + n) % n;
  const feasible: NodeInfo[] = [];
  const reasonCounts = new Map<string, number>();
  let processed = 0;
  for (; processed < n && feasible.length < want; processed++) {
    const node = nodes[(start + processed) % n];
    let passed = true;
    for (let j = 0; j < filters.length; j++) {
      const r = filters[j].filter!(pod, node, snapshot);
      if (!r.ok) {
        for (const reason of r.reasons) reasonCounts.set(reason, (reasonCounts.get(reason) ?? 0) + 1);
        passed = false;
        break;
      }
    }
    if (passed) feasible.push(node);
  }
  if (feasible.length === 0) return { ok: false, message: failureMessage(n, reasonCounts), processed };
  const chosen = feasible.length === 1 ? feasible[0] : pickBest(pod, feasible, snapshot, opts.plugins);
  return { ok: true, nodeName: chosen.name, processed, feasible: feasible.length };
}

/** Weighted sum of normalized plugin scores; ties go to a node picked by a hash of the pod's key. */
function pickBest(pod: PodInfo, feasible: NodeInfo[], snapshot: Snapshot, plugins: readonly Plugin[]): NodeInfo {
  const totals = scoreNodes(pod, feasible, snapshot, plugins);
  let best = -Infinity;
  const ties: number[] = [];
  for (let i = 0; i < totals.length; i++) {
    if (totals[i] > best) {
      best = totals[i];
      ties.length = 0;
    }
    if (totals[i] === best) ties.push(i);
  }
  return feasible[ties[hashKey(pod.key) % ties.length]];
}

/** Each node's weighted total (plugins that rate all nodes alike for this pod left out); exported for tests of the ranking. */
export function scoreNodes(pod: PodInfo, nodes: readonly NodeInfo[], snapshot: Snapshot, plugins: readonly Plugin[]): number[] {
  const totals = new Array<number>(nodes.length).fill(0);
  const raw = new Array<number>(nodes.length);
  for (const p of plugins) {
    if (!p.score || p.skipScore?.(pod, snapshot)) continue;
    for (let i = 0; i < nodes.length; i++) raw[i] = p.score(pod, nodes[i], snapshot);
    p.normalize?.(raw);
    const w = p.weight ?? 1;
    for (let i = 0; i < nodes.length; i++) totals[i] += w * raw[i];
  }
  return totals;
}

/** FNV-1a: cheap, stable across runs and processes. */
export function hashKey(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
