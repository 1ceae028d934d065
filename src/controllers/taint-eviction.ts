import { disruptionReasons, withDisruptionTarget } from '../api/disruption.js';
import { isApiError } from '../api/errors.js';
import type { KObject, Node, Pod, Taint, Toleration } from '../api/types.js';
import type { Logger } from '../log/logger.js';
import { toleratesTaint } from '../api/tolerations.js';
import type { Store } from '../store/store.js';
import { recordControllerEvent } from './events.js';
import { deletePod } from './pods.js';
import { Controller, type Informer, keyOf, type ReconcileResult } from './runtime.js';

// Kubernetes' NoExecuteTaintManager: a pod on a node with a NoExecute taint it does not tolerate
// is deleted at once; one tolerating every such taint stays for the shortest tolerationSeconds
// among the tolerations used, counted from the taint's timeAdded; tolerations without seconds
// keep it for good. An evicted pod first gets a TaintManagerEviction event and the
// DisruptionTarget condition. The deadline comes from the stored taint, so a restarted control plane
// evicts at the same moment the old one would have, and a taint removed before then cancels.

export type EvictionDecision = { action: 'keep' } | { action: 'evict'; reason: string } | { action: 'evictAt'; atMs: number };

/**
 * What to do with a pod given its node's taints at `nowMs`. `firstSeenMs` stands in for a
 * taint's timeAdded when the taint has none.
 */
export function evictionDecision(taints: readonly Taint[], tolerations: readonly Toleration[], nowMs: number, firstSeenMs = nowMs): EvictionDecision {
  let atMs = Infinity;
  for (const taint of taints) {
    if (taint.effect !== 'NoExecute') continue;
    // The first toleration that matches is the one used, as in Kubernetes' GetMatchingTolerations.
    const used = tolerations.find((t) => toleratesTaint(t, taint));
    if (!used) return { action: 'evict', reason: `untolerated taint {${taint.key}${taint.value ? `=${taint.value}` : ''}:NoExecute}` };
    if (used.tolerationSeconds === undefined || used.tolerationSeconds === null) continue;
    const added = taint.timeAdded ? Date.parse(taint.timeAdded) : NaN;
    const from = Number.isFinite(added) ? added : firstSeenMs;
    atMs = Math.min(atMs, from + Math.max(0, used.tolerationSeconds) * 1000);
  }
  if (atMs === Infinity) return { action: 'keep' };
  if (atMs <= nowMs) return { action: 'evict', reason: 'toleration seconds elapsed' };
  return { action: 'evictAt', atMs };
}

export interface TaintEvictionOptions {
  store: Store;
  log: Logger;
  nodes: Informer;
  pods: Informer;
  now?: () => number;
}

/** Reconciles one node at a time: every pod bound to it is kept, evicted, or looked at again at its deadline. */
export function taintEvictionController(opts: TaintEvictionOptions): Controller {
  const { store, log, nodes, pods } = opts;
  const now = opts.now ?? Date.now;
  /** node → keys of the pods bound to it. */
  const podsByNode = new Map<string, Set<string>>();
  const nodeOfPod = new Map<string, string>();
  /** Taints without timeAdded: when this process first saw them, by node and taint. */
  const firstSeen = new Map<string, number>();

  const hasNoExecute = (n: KObject | undefined) => !!(n as Node | undefined)?.spec?.taints?.some((t) => t.effect === 'NoExecute');

  const controller = new Controller({
    name: 'taint-eviction',
    log,
    resyncMs: 30_000,
    resyncKeys: () => nodes.list().filter(hasNoExecute).map(keyOf),
    async reconcile(nodeName): Promise<ReconcileResult> {
      const node = nodes.get(nodeName) as Node | undefined;
      const taints = (node?.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
      for (const k of [...firstSeen.keys()]) if (k.startsWith(`${nodeName}\n`) && !taints.some((t) => k === seenKey(nodeName, t))) firstSeen.delete(k);
      if (!taints.length) return;
      const t = now();
      const seen = Math.min(...taints.map((x) => firstSeen.get(seenKey(nodeName, x)) ?? (firstSeen.set(seenKey(nodeName, x), t), t)));
      let next = Infinity;
      for (const key of podsByNode.get(nodeName) ?? []) {
        const pod = pods.get(key) as Pod | undefined;
        if (!pod || pod.metadata.deletionTimestamp || pod.spec.nodeName !== nodeName) continue;
        const d = evictionDecision(taints, pod.spec.tolerations ?? [], t, seen);
        if (d.action === 'evictAt') next = Math.min(next, d.atMs);
        if (d.action !== 'evict') continue;
        log.info({ pod: key, node: nodeName, reason: d.reason }, 'evicting a pod from a node with a NoExecute taint');
        await evict(pod, t);
      }
      return next === Infinity ? undefined : { retryAfterMs: Math.max(10, next - t) };
    },
  });

  /** As Kubernetes' taint manager: an event on the pod, DisruptionTarget on its status, then the delete. */
  async function evict(pod: Pod, t: number): Promise<void> {
    const namespace = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    try {
      await recordControllerEvent(store, { about: pod, type: 'Normal', reason: 'TaintManagerEviction', message: `Marking for deletion Pod ${namespace}/${name}`, component: 'taint-eviction-controller' }, t);
    } catch (e) {
      log.warn({ err: e, pod: `${namespace}/${name}` }, 'recording a TaintManagerEviction event failed');
    }
    try {
      await store.guaranteedUpdate({ resource: 'pods', namespace, name }, (cur) =>
        cur.metadata.uid !== pod.metadata.uid || cur.metadata.deletionTimestamp ? undefined : withDisruptionTarget(cur, disruptionReasons.taintManager, new Date(t)),
      );
    } catch (e) {
      if (isApiError(e, 'NotFound')) return;
      throw e;
    }
    await deletePod(store, namespace, name);
  }

  nodes.onEvent((type, obj, old) => {
    if (type === 'DELETED') {
      firstSeen.forEach((_, k) => k.startsWith(`${keyOf(obj)}\n`) && firstSeen.delete(k));
      return;
    }
    if (hasNoExecute(obj) || hasNoExecute(old)) controller.enqueue(keyOf(obj));
  });
  pods.onEvent((type, obj) => {
    const key = keyOf(obj);
    const before = nodeOfPod.get(key);
    const node = type === 'DELETED' ? undefined : (obj as Pod).spec?.nodeName;
    if (before && before !== node) {
      podsByNode.get(before)?.delete(key);
      nodeOfPod.delete(key);
    }
    if (!node) return;
    if (before !== node) {
      let set = podsByNode.get(node);
      if (!set) podsByNode.set(node, (set = new Set()));
      set.add(key);
      nodeOfPod.set(key, node);
    }
    if (!obj.metadata.deletionTimestamp && hasNoExecute(nodes.get(node))) controller.enqueue(node);
  });
  return controller;
}

const seenKey = (node: string, t: Taint) => `${node}\n${t.key}\n${t.value ?? ''}`;
