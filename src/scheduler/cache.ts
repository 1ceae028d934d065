import type { KObject, Node, Pod } from '../api/types.js';
import type { WatchEventType } from '../store/store.js';
import { NodeInfo } from './node-info.js';
import { isTerminated, onNode, podInfo, podKey, type PodInfo } from './pod-info.js';
import type { Snapshot } from './plugins.js';

// The scheduler's view of the cluster, maintained from the store's watch events at O(changed)
// cost per event: nodes with running totals of their pods' requests, the pods bound to them,
// and the unbound pods waiting for a decision. Pods the scheduler has decided on but whose
// binding write is not yet seen in the watch are "assumed": counted on their node already, so
// the next decision sees them, and dropped again if the write fails.

export const defaultSchedulerName = 'default-scheduler';

/** What a pod event means for the queue. */
export interface PodChange {
  /** Capacity was released on some node (a pod left it or finished): parked pods may fit now. */
  freed: boolean;
  /** The pod is waiting and new or changed (try it now), or no longer waiting (drop it). */
  pending?: 'added' | 'changed' | 'removed';
}

const noChange: PodChange = Object.freeze({ freed: false });

export class SchedulerCache implements Snapshot {
  /** Every node name with a node object or pods; pods may name a node not (or no longer) in the store. */
  private readonly infos = new Map<string, NodeInfo>();
  private readonly list: NodeInfo[] = [];
  /** Pods accounted on a node (bound or assumed), by key. */
  private readonly placed = new Map<string, PodInfo>();
  /** Unbound pods this scheduler is responsible for, by key. */
  private readonly pending = new Map<string, Pod>();
  /** Pods decided but not yet seen bound in the watch. */
  private readonly assumed = new Map<string, PodInfo>();
  private nodesWithPreferNoSchedule = 0;
  private nodesWithHardTaints = 0;
  /**
   * Owner uid → its pods per node slot. The spreading score asks this for hundreds of nodes per
   * decision; an array read is much cheaper there than a map lookup per node.
   */
  private readonly owners = new Map<string, { perSlot: Int32Array; total: number }>();
  private lastOwnerUid: string | undefined;
  private lastOwnerCounts: Int32Array | undefined;
  private nextSlot = 0;
  private readonly freeSlots: number[] = [];

  constructor(readonly schedulerName = defaultSchedulerName) {}

  get nodes(): readonly NodeInfo[] {
    return this.list;
  }

  get hasPreferNoScheduleTaints(): boolean {
    return this.nodesWithPreferNoSchedule > 0;
  }

  get hasHardTaints(): boolean {
    return this.nodesWithHardTaints > 0;
  }

  ownerPodsOn(ownerUid: string, node: NodeInfo): number {
    // Consecutive calls nearly always ask about the same owner: remember its array.
    if (ownerUid !== this.lastOwnerUid) {
      this.lastOwnerUid = ownerUid;
      this.lastOwnerCounts = this.owners.get(ownerUid)?.perSlot;
    }
    const counts = this.lastOwnerCounts;
    return counts && node.slot < counts.length ? counts[node.slot] : 0;
  }

  nodeInfo(name: string): NodeInfo | undefined {
    const info = this.infos.get(name);
    return info?.node ? info : undefined;
  }

  pendingPod(key: string): Pod | undefined {
    return this.pending.get(key);
  }

  isAssumed(key: string): boolean {
    return this.assumed.has(key);
  }

  /** Where the pod is accounted, if anywhere. */
  placement(key: string): string | undefined {
    return this.placed.get(key)?.nodeName;
  }

  get counts(): { nodes: number; placed: number; pending: number; assumed: number } {
    return { nodes: this.list.length, placed: this.placed.size, pending: this.pending.size, assumed: this.assumed.size };
  }

  /** Returns whether anything a filter reads changed (a new node counts), so parked pods deserve a retry. */
  applyNode(type: WatchEventType, node: Node): boolean {
    const name = node.metadata.name ?? '';
    if (type === 'DELETED') {
      const info = this.infos.get(name);
      if (info?.node) this.unlist(info);
      if (info) this.dropIfEmpty(info);
      return false;
    }
    const info = this.info(name);
    const before = info.node ? schedulingFacts(info) : undefined;
    if (info.node) this.countTaints(info, -1);
    info.setNode(node);
    this.countTaints(info, 1);
    if (info.index < 0) {
      info.index = this.list.length;
      this.list.push(info);
    }
    return before !== schedulingFacts(info);
  }

  applyPod(type: WatchEventType, pod: Pod): PodChange {
    const key = podKey(pod.metadata.namespace, pod.metadata.name);
    if (type === 'DELETED') {
      const wasPending = this.pending.delete(key);
      const freed = this.unplace(key) !== undefined;
      this.assumed.delete(key);
      return wasPending ? { freed, pending: 'removed' } : { freed };
    }
    const nodeName = pod.spec?.nodeName;
    if (nodeName) {
      const wasPending = this.pending.delete(key);
      this.assumed.delete(key);
      const before = this.placed.get(key);
      let freed = false;
      if (isTerminated(pod)) {
        freed = this.unplace(key) !== undefined;
      } else if (before && before.pod.spec === pod.spec && before.pod.metadata.ownerReferences === pod.metadata.ownerReferences) {
        // A status or label write: the store kept spec and owners as they were, so nothing
        // counted moves. Only the newer object is held, so the older one can go.
        this.repoint(before, pod);
      } else {
        if (before) this.unplace(key);
        this.place(podInfo(pod));
        freed = before !== undefined && before.nodeName !== nodeName;
      }
      return wasPending ? { freed, pending: 'removed' } : freed ? { freed } : noChange;
    }
    if (this.assumed.has(key)) {
      // Our binding write is in flight; this is an older revision of the pod.
      this.pending.set(key, pod);
      return noChange;
    }
    // Pods do not lose their node in Kubernetes; a stale placement means the pod was recreated.
    const freed = this.unplace(key) !== undefined;
    if (!this.responsibleFor(pod)) {
      return this.pending.delete(key) ? { freed, pending: 'removed' } : { freed };
    }
    const prev = this.pending.get(key);
    this.pending.set(key, pod);
    if (!prev) return { freed, pending: 'added' };
    return { freed, pending: schedulingInputChanged(prev, pod) ? 'changed' : undefined };
  }

  /** Replaces all nodes with a fresh list (after a watch had to restart). */
  resetNodes(nodes: readonly Node[]): void {
    const names = new Set(nodes.map((n) => n.metadata.name ?? ''));
    for (const info of [...this.list]) {
      if (!names.has(info.name)) this.applyNode('DELETED', info.node as Node);
    }
    for (const n of nodes) this.applyNode('ADDED', n);
  }

  /**
   * Replaces all pods with a fresh list (after a watch had to restart). Assumed pods stay
   * assumed unless the list shows them bound or gone. Returns the keys now waiting.
   */
  resetPods(pods: readonly Pod[]): string[] {
    for (const key of [...this.placed.keys()]) this.unplace(key);
    this.pending.clear();
    const assumed = new Map(this.assumed);
    this.assumed.clear();
    for (const pod of pods) {
      const key = podKey(pod.metadata.namespace, pod.metadata.name);
      const a = assumed.get(key);
      if (a && !pod.spec?.nodeName && a.pod.metadata.uid === pod.metadata.uid) {
        this.place(a);
        this.assumed.set(key, a);
        this.pending.set(key, pod);
      } else {
        this.applyPod('ADDED', pod);
      }
    }
    return [...this.pending.keys()].filter((k) => !this.assumed.has(k));
  }

  /** Counts the pod on `nodeName` before its binding is written. */
  assume(info: PodInfo, nodeName: string): void {
    const placed = onNode(info, nodeName);
    this.unplace(info.key);
    this.place(placed);
    this.assumed.set(info.key, placed);
  }

  /** The binding write did not happen: take the assumed pod off its node (unless the key now names a newer pod). */
  forget(key: string, uid: string | undefined): void {
    const a = this.assumed.get(key);
    if (!a || a.pod.metadata.uid !== uid) return;
    this.assumed.delete(key);
    this.unplace(key);
  }

  /** Unbound, not being deleted, and naming this scheduler (or none). */
  responsibleFor(pod: Pod): boolean {
    if (pod.spec?.nodeName || pod.metadata.deletionTimestamp || isTerminated(pod)) return false;
    const name = pod.spec?.schedulerName;
    return !name || name === this.schedulerName;
  }

  private place(p: PodInfo): void {
    const info = this.info(p.nodeName);
    info.addPod(p);
    this.placed.set(p.key, p);
    if (p.ownerUid) this.countOwner(p.ownerUid, info.slot, 1);
  }

  private repoint(before: PodInfo, pod: Pod): void {
    const next = { ...before, pod };
    this.placed.set(next.key, next);
    this.infos.get(next.nodeName)?.replacePod(next);
  }

  private countOwner(uid: string, slot: number, delta: 1 | -1): void {
    let entry = this.owners.get(uid);
    if (!entry) {
      if (delta < 0) return;
      this.owners.set(uid, (entry = { perSlot: new Int32Array(Math.max(16, this.nextSlot)), total: 0 }));
    }
    if (slot >= entry.perSlot.length) {
      const grown = new Int32Array(Math.max(slot + 1, entry.perSlot.length * 2));
      grown.set(entry.perSlot);
      entry.perSlot = grown;
    }
    entry.perSlot[slot] += delta;
    entry.total += delta;
    if (entry.total <= 0) this.owners.delete(uid);
    this.lastOwnerUid = undefined;
    this.lastOwnerCounts = undefined;
  }

  private unplace(key: string): PodInfo | undefined {
    const p = this.placed.get(key);
    if (!p) return undefined;
    this.placed.delete(key);
    const info = this.infos.get(p.nodeName);
    if (info) {
      info.removePod(key);
      if (p.ownerUid) this.countOwner(p.ownerUid, info.slot, -1);
      this.dropIfEmpty(info);
    }
    return p;
  }

  private info(name: string): NodeInfo {
    let info = this.infos.get(name);
    if (!info) this.infos.set(name, (info = new NodeInfo(name, this.freeSlots.pop() ?? this.nextSlot++)));
    return info;
  }

  /** A NodeInfo with neither a node nor pods goes; its slot (all its owner counts zero) is reused. */
  private dropIfEmpty(info: NodeInfo): void {
    if (info.node || info.pods.size > 0 || this.infos.get(info.name) !== info) return;
    this.infos.delete(info.name);
    this.freeSlots.push(info.slot);
  }

  private countTaints(info: NodeInfo, delta: 1 | -1): void {
    if (info.preferNoScheduleTaints.length) this.nodesWithPreferNoSchedule += delta;
    if (info.hardTaints.length) this.nodesWithHardTaints += delta;
  }

  /** O(1) removal from the node list: the last node takes the removed one's place. */
  private unlist(info: NodeInfo): void {
    this.countTaints(info, -1);
    const last = this.list.pop()!;
    if (last !== info) {
      this.list[info.index] = last;
      last.index = info.index;
    }
    info.index = -1;
    info.node = undefined;
  }
}

/** The node facts filters read, as one comparable string; heartbeat-only updates leave it unchanged. */
function schedulingFacts(info: NodeInfo): string {
  return JSON.stringify([info.allocatableMilliCpu, info.allocatableMemory, info.allocatablePods, info.labels, info.ready, info.unschedulable, info.hardTaints, info.preferNoScheduleTaints]);
}

function schedulingInputChanged(a: KObject, b: KObject): boolean {
  return JSON.stringify([a.spec, a.metadata.labels]) !== JSON.stringify([b.spec, b.metadata.labels]);
}
