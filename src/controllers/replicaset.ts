import { isMirrorPod } from '../api/mirror-pods.js';
import { selectorFromLabelSelector, selectorFromSet, type Selector } from '../api/selector.js';
import type { KObject, OwnerReference, Pod, PodTemplateSpec, ReplicaSetStatus } from '../api/types.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { recordControllerEvent } from './events.js';
import { byController, createPodFromTemplate, controllerRefOf, orphansIn, deletePod, isActivePod, isPodAvailable, isPodReady, type PodAdmission } from './pods.js';
import { Controller, Informer, keyOf, splitKey, type ReconcileResult } from './runtime.js';

// The ReplicaSet controller (and, with its equality selector, the ReplicationController one):
// keeps spec.replicas active pods matching the selector, owned through a controller
// ownerReference. The decision is a pure diff (replicaDiff); reconcile applies it.

export interface ReplicaDiff {
  create: number;
  delete: Pod[];
}

const phaseRank = (p: Pod) => ({ Pending: 0, Unknown: 1, Running: 2 })[p.status?.phase as string] ?? 0;

/** Deletion order, as Kubernetes ranks pods: unscheduled, then pending, then not ready, then newest first. */
export function deletionOrder(a: Pod, b: Pod): number {
  const scheduled = (p: Pod) => (p.spec.nodeName ? 1 : 0);
  if (scheduled(a) !== scheduled(b)) return scheduled(a) - scheduled(b);
  if (phaseRank(a) !== phaseRank(b)) return phaseRank(a) - phaseRank(b);
  const ready = (p: Pod) => (isPodReady(p) ? 1 : 0);
  if (ready(a) !== ready(b)) return ready(a) - ready(b);
  const created = (p: Pod) => Date.parse(p.metadata.creationTimestamp ?? '') || 0;
  return created(b) - created(a);
}

/** What to do so `active` (owned, active pods) becomes `desired` pods. */
export function replicaDiff(desired: number, active: Pod[]): ReplicaDiff {
  if (active.length < desired) return { create: desired - active.length, delete: [] };
  if (active.length === desired) return { create: 0, delete: [] };
  return { create: 0, delete: [...active].sort(deletionOrder).slice(0, active.length - desired) };
}

/** The status a set of owned pods gives. */
export function replicaStatus(owned: Pod[], template: PodTemplateSpec | undefined, minReadySeconds: number, generation: number | undefined, now: number): ReplicaSetStatus {
  const active = owned.filter(isActivePod);
  const templateLabels = Object.entries(template?.metadata?.labels ?? {});
  return {
    replicas: active.length,
    fullyLabeledReplicas: active.filter((p) => templateLabels.every(([k, v]) => p.metadata.labels?.[k] === v)).length,
    readyReplicas: active.filter(isPodReady).length,
    availableReplicas: active.filter((p) => isPodAvailable(p, minReadySeconds, now)).length,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

type Condition = NonNullable<ReplicaSetStatus['conditions']>[number];

/**
 * The owner's conditions after a sync, as Kubernetes keeps them: `ReplicaFailure` (reason
 * FailedCreate) while creating pods fails, removed once a sync creates what it needs.
 */
export function replicaFailureConditions(current: readonly Condition[] | undefined, createError: string | undefined, now: number): Condition[] {
  const others = (current ?? []).filter((c) => c.type !== 'ReplicaFailure');
  if (createError === undefined) return others;
  const existing = current?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  const lastTransitionTime = existing?.lastTransitionTime ?? new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return [...others, { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: createError, lastTransitionTime }];
}

const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e));
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Creations and deletions asked for and not yet seen in the pod cache, so a stale cache does not act twice. */
class Expectations {
  private readonly byKey = new Map<string, { adds: number; dels: number; at: number }>();
  constructor(private readonly ttlMs = 60_000) {}

  expect(key: string, adds: number, dels: number): void {
    this.byKey.set(key, { adds, dels, at: Date.now() });
  }
  observedAdd(key: string): void {
    const e = this.byKey.get(key);
    if (e) e.adds--;
  }
  observedDel(key: string): void {
    const e = this.byKey.get(key);
    if (e) e.dels--;
  }
  satisfied(key: string): boolean {
    const e = this.byKey.get(key);
    return !e || (e.adds <= 0 && e.dels <= 0) || Date.now() - e.at > this.ttlMs;
  }
  forget(key: string): void {
    this.byKey.delete(key);
  }
}

interface ReplicatedKind {
  kind: 'ReplicaSet' | 'ReplicationController';
  /** The controller's name in events it records (`From` in describe). */
  component: string;
  apiVersion: string;
  resource: string;
  selectorOf(obj: KObject): Selector;
}

/**
 * Pods one sync creates or deletes at most (Kubernetes' burstReplicas); the rest follow in the
 * next syncs, so scaling to thousands does not put thousands of writes in front of every watcher at once.
 */
export const burstReplicas = 500;

/**
 * Kubernetes' slowStartBatch: calls `fn` `count` times in batches of 1, 2, 4, … and stops after
 * a batch with a failure, so a create that is refused (a quota) is tried a few times, not hundreds.
 */
export async function slowStartBatch(count: number, fn: () => Promise<unknown>): Promise<{ succeeded: number; errors: unknown[]; skipped: number }> {
  let succeeded = 0;
  const errors: unknown[] = [];
  let remaining = count;
  for (let batch = 1; remaining > 0 && !errors.length; batch *= 2) {
    const size = Math.min(batch, remaining);
    remaining -= size;
    for (const r of await Promise.allSettled(Array.from({ length: size }, fn))) {
      if (r.status === 'fulfilled') succeeded++;
      else errors.push(r.reason);
    }
  }
  return { succeeded, errors, skipped: remaining };
}

export const replicaSetKind: ReplicatedKind = {
  kind: 'ReplicaSet',
  component: 'replicaset-controller',
  apiVersion: 'apps/v1',
  resource: 'replicasets',
  selectorOf: (obj) => selectorFromLabelSelector((obj.spec as { selector?: never }).selector),
};

export const replicationControllerKind: ReplicatedKind = {
  kind: 'ReplicationController',
  component: 'replication-controller',
  apiVersion: 'v1',
  resource: 'replicationcontrollers',
  selectorOf: (obj) => {
    const spec = obj.spec as { selector?: Record<string, string>; template?: PodTemplateSpec };
    // An RC without a selector selects its template's labels (defaulting normally fills it in).
    return selectorFromSet(spec.selector ?? spec.template?.metadata?.labels ?? {});
  },
};

interface ReplicatedSpec {
  replicas?: number;
  minReadySeconds?: number;
  template?: PodTemplateSpec;
}

export interface ReplicaControllerOptions {
  store: Store;
  log: Logger;
  owners: Informer;
  pods: Informer;
  kind: ReplicatedKind;
  admitPod?: PodAdmission;
  resyncMs?: number;
}

/** Starts reconciling one replicated kind; the informers must be started by the caller. */
export function replicaController(opts: ReplicaControllerOptions): Controller {
  const { store, log, owners, pods, kind } = opts;
  const expectations = new Expectations();
  pods.addIndex(byController.name, byController.fn);
  const controller = new Controller({ name: kind.resource, log, reconcile, resyncMs: opts.resyncMs ?? 30_000, resyncKeys: () => owners.list().map(keyOf) });

  owners.onEvent((type, obj) => {
    if (type === 'DELETED') expectations.forget(keyOf(obj));
    controller.enqueue(keyOf(obj));
  });

  const ownerKeyOf = (pod: KObject): string | undefined => {
    const ref = controllerRefOf(pod);
    return ref && ref.kind === kind.kind ? `${pod.metadata.namespace}/${ref.name}` : undefined;
  };
  /** Owners in the pod's namespace whose selector matches it, for adoption. */
  const matchingOwners = (pod: KObject) =>
    owners.list(pod.metadata.namespace ?? '').filter((o) => !o.metadata.deletionTimestamp && kind.selectorOf(o).matches(pod.metadata.labels));

  pods.onEvent((type, pod, old) => {
    const ownerKey = ownerKeyOf(pod);
    if (ownerKey) {
      if (type === 'ADDED') expectations.observedAdd(ownerKey);
      const deleted = (type === 'DELETED' && !old?.metadata.deletionTimestamp) || (type === 'MODIFIED' && pod.metadata.deletionTimestamp && !old?.metadata.deletionTimestamp);
      if (deleted) expectations.observedDel(ownerKey);
      controller.enqueue(ownerKey);
    } else if (type !== 'DELETED') {
      for (const o of matchingOwners(pod)) controller.enqueue(keyOf(o));
    }
    const oldKey = old && ownerKeyOf(old);
    if (oldKey && oldKey !== ownerKey) controller.enqueue(oldKey);
  });

  async function reconcile(key: string): Promise<ReconcileResult> {
    const owner = owners.get(key);
    if (!owner || owner.metadata.deletionTimestamp) return;
    const { namespace } = splitKey(key);
    const spec = owner.spec as ReplicatedSpec;
    const selector = kind.selectorOf(owner);
    const ref: OwnerReference = { apiVersion: kind.apiVersion, kind: kind.kind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true };

    const owned: Pod[] = [];
    let canAdopt: boolean | undefined;
    // The cache may not show yet that the owner is being deleted with its pods orphaned: ask the store, once.
    const mayAdopt = async () => (canAdopt ??= await stillLive(owner));
    const candidates = [...pods.byIndex(byController.name, ref.uid).filter((p) => (p.metadata.namespace ?? '') === namespace), ...pods.byIndex(byController.name, orphansIn(namespace))];
    for (const obj of candidates) {
      const pod = obj as Pod;
      const cref = controllerRefOf(pod);
      if (cref?.uid === ref.uid) {
        if (selector.matches(pod.metadata.labels)) owned.push(pod);
        else await release(pod, ref.uid);
      } else if (!cref && !isMirrorPod(pod) && !pod.metadata.deletionTimestamp && !selector.empty && selector.matches(pod.metadata.labels) && (await mayAdopt())) {
        const adopted = await adopt(pod, ref);
        if (adopted) owned.push(adopted);
      }
    }

    let createError: unknown;
    if (expectations.satisfied(key)) {
      const diff = replicaDiff(spec.replicas ?? 1, owned.filter(isActivePod));
      if (diff.create && spec.template && (await namespaceAcceptsContent(namespace))) {
        const count = Math.min(diff.create, burstReplicas);
        expectations.expect(key, count, 0);
        const result = await slowStartBatch(count, () => createPodFromTemplate(store, spec.template!, namespace, ref, opts.admitPod));
        // Creates not tried, and creates that failed, will never be seen: expect them no longer.
        for (let i = 0; i < result.skipped; i++) expectations.observedAdd(key);
        for (const err of result.errors) {
          expectations.observedAdd(key);
          await recordFailedCreate(owner, err);
        }
        if (result.errors.length) createError = result.errors[0] ?? new Error('creating a pod failed');
        if (result.succeeded) log.info({ [kind.kind]: key, created: result.succeeded }, 'created pods');
      } else if (diff.delete.length) {
        const surplus = diff.delete.slice(0, burstReplicas);
        expectations.expect(key, 0, surplus.length);
        await Promise.all(surplus.map((p) => deletePod(store, namespace, p.metadata.name!)));
        log.info({ [kind.kind]: key, deleted: surplus.map((p) => p.metadata.name) }, 'deleted surplus pods');
      }
    }

    const now = Date.now();
    const minReady = spec.minReadySeconds ?? 0;
    const status = replicaStatus(owned, spec.template, minReady, owner.metadata.generation, now);
    const conditions = replicaFailureConditions((owner.status as ReplicaSetStatus | undefined)?.conditions, createError === undefined ? undefined : errorMessage(createError), now);
    await updateStatus(key, { ...status, conditions });
    // Retried with back-off: a refusal (quota, LimitRange) lasts until something else changes.
    if (createError !== undefined) throw createError;
    // A ready pod turns available minReadySeconds later without any event: look again then.
    if (minReady && (status.readyReplicas ?? 0) > (status.availableReplicas ?? 0)) return { retryAfterMs: 1000 };
  }

  /** Kubernetes' `FailedCreate` warning on the owner; repeats of one refusal add to one event's count. */
  async function recordFailedCreate(owner: KObject, err: unknown): Promise<void> {
    const message = `Error creating: ${errorMessage(err)}`;
    const generated = new RegExp(`"${escapeRegExp(`${owner.metadata.name}-`.slice(0, 58))}[a-z0-9]{5}"`, 'g');
    try {
      await recordControllerEvent(store, { about: owner, type: 'Warning', reason: 'FailedCreate', message, component: kind.component, similarity: message.replace(generated, '""') });
    } catch (e) {
      log.warn({ err: e, [kind.kind]: keyOf(owner) }, 'recording a FailedCreate event failed');
    }
  }

  async function stillLive(owner: KObject): Promise<boolean> {
    const fresh = await store.get({ resource: kind.resource, namespace: owner.metadata.namespace ?? '', name: owner.metadata.name! });
    return !!fresh && fresh.metadata.uid === owner.metadata.uid && !fresh.metadata.deletionTimestamp;
  }

  async function namespaceAcceptsContent(namespace: string): Promise<boolean> {
    const ns = await store.get({ resource: 'namespaces', namespace: '', name: namespace });
    return !!ns && (ns.status as { phase?: string } | undefined)?.phase !== 'Terminating';
  }

  async function adopt(pod: Pod, ref: OwnerReference): Promise<Pod | undefined> {
    try {
      const updated = await store.guaranteedUpdate({ resource: 'pods', namespace: pod.metadata.namespace!, name: pod.metadata.name! }, (cur) => {
        if (controllerRefOf(cur) || cur.metadata.deletionTimestamp || cur.metadata.uid !== pod.metadata.uid) return undefined;
        return { ...cur, metadata: { ...cur.metadata, ownerReferences: [...(cur.metadata.ownerReferences ?? []), ref] } };
      });
      if (controllerRefOf(updated)?.uid !== ref.uid) return undefined;
      log.info({ [kind.kind]: `${pod.metadata.namespace}/${ref.name}`, pod: pod.metadata.name }, 'adopted an orphan pod');
      return updated as Pod;
    } catch {
      return undefined;
    }
  }

  async function release(pod: Pod, uid: string): Promise<void> {
    try {
      await store.guaranteedUpdate({ resource: 'pods', namespace: pod.metadata.namespace!, name: pod.metadata.name! }, (cur) => {
        const refs = cur.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === uid)) return undefined;
        return { ...cur, metadata: { ...cur.metadata, ownerReferences: refs.filter((r) => r.uid !== uid) } };
      });
      log.info({ pod: pod.metadata.name }, 'released a pod whose labels no longer match');
    } catch {
      // Gone already: nothing to release.
    }
  }

  async function updateStatus(key: string, status: ReplicaSetStatus): Promise<void> {
    const { namespace, name } = splitKey(key);
    try {
      await store.guaranteedUpdate({ resource: kind.resource, namespace, name }, (cur) => {
        const old = (cur.status ?? {}) as ReplicaSetStatus;
        const merged = { ...old, ...status };
        if (!merged.conditions?.length) delete merged.conditions;
        if (JSON.stringify(merged) === JSON.stringify(old)) return undefined;
        return { ...cur, status: merged };
      });
    } catch {
      // Deleted meanwhile; its DELETED event ends the work.
    }
  }

  return controller;
}
