import { deploymentOwnAnnotations, revisionAnnotation, templateHashLabel } from '../api/deployment-annotations.js';
import { createHash } from 'node:crypto';
import { isApiError } from '../api/errors.js';
import { selectorFromLabelSelector } from '../api/selector.js';
import type { Deployment, DeploymentCondition, DeploymentStatus, IntOrString, KObject, OwnerReference, PodTemplateSpec, ReplicaSet } from '../api/types.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { recordControllerEvent } from './events.js';
import { controllerRefOf, type ReplicaSetAdmission } from './pods.js';
import { Controller, Informer, keyOf, splitKey, type ReconcileResult } from './runtime.js';

// The Deployment controller: one ReplicaSet per pod template, told apart by the
// pod-template-hash label; a rollout moves replicas from the old ReplicaSets to the new one,
// within maxSurge and maxUnavailable counted on available pods (RollingUpdate), or scales the
// old ones to zero before the new one starts (Recreate). The scaling decision is pure
// (rollingTargets, recreateTargets); reconcile applies one step of it per pass.


/** JSON with object keys sorted, so equal templates hash alike whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Kubernetes' safe-encoding alphabet: no vowels, so a hash never spells a word. */
const safeAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** A stable, label-safe hash of a pod template (without any pod-template-hash label of its own). */
export function templateHash(template: PodTemplateSpec, collisionCount = 0): string {
  const labels = { ...(template.metadata?.labels ?? {}) };
  delete labels[templateHashLabel];
  const t = { ...template, metadata: { ...(template.metadata ?? {}), labels } };
  const digest = createHash('sha256').update(canonical(t)).update(collisionCount ? String(collisionCount) : '').digest();
  let n = digest.readUInt32BE(0);
  let out = '';
  do {
    out += safeAlphabet[n % safeAlphabet.length];
    n = Math.floor(n / safeAlphabet.length);
  } while (n > 0);
  return out;
}

/** An int, or a percent of `total` rounded up (surge) or down (unavailable), as Kubernetes does. */
export function scaledValue(v: IntOrString | undefined, total: number, roundUp: boolean, fallback: IntOrString): number {
  const value = v ?? fallback;
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m) return Number.parseInt(value, 10) || 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** maxSurge and maxUnavailable as pod counts; both zero would stall, so unavailable becomes 1. */
export function fenceposts(d: Pick<Deployment, 'spec'>): { maxSurge: number; maxUnavailable: number } {
  const replicas = d.spec.replicas ?? 1;
  const ru = d.spec.strategy?.rollingUpdate;
  const maxSurge = scaledValue(ru?.maxSurge, replicas, true, '25%');
  let maxUnavailable = scaledValue(ru?.maxUnavailable, replicas, false, '25%');
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

export interface RsCounts {
  name: string;
  /** spec.replicas */
  replicas: number;
  /** status.availableReplicas */
  available: number;
}

/**
 * One step of a rolling update, as Kubernetes' rolloutRolling: scale the new ReplicaSet up as far
 * as maxSurge allows; if it needs nothing, scale old ones down (unhealthy pods first, then oldest
 * ReplicaSets first) as far as maxUnavailable allows. Returns the ReplicaSets whose spec.replicas
 * should change. `old` is ordered oldest first.
 */
export function rollingTargets(replicas: number, maxSurge: number, maxUnavailable: number, newRs: RsCounts, old: RsCounts[]): Map<string, number> {
  const out = new Map<string, number>();
  const total = newRs.replicas + old.reduce((s, r) => s + r.replicas, 0);
  if (newRs.replicas > replicas) {
    out.set(newRs.name, replicas);
    return out;
  }
  if (newRs.replicas < replicas) {
    const room = replicas + maxSurge - total;
    if (room > 0) {
      out.set(newRs.name, newRs.replicas + Math.min(room, replicas - newRs.replicas));
      return out;
    }
  }
  const minAvailable = replicas - maxUnavailable;
  const newUnavailable = Math.max(newRs.replicas - newRs.available, 0);
  let budget = total - minAvailable - newUnavailable;
  if (budget <= 0) return out;
  const target = new Map(old.map((r) => [r.name, r.replicas]));
  // Unavailable old pods cost nothing to remove.
  for (const r of old) {
    if (budget <= 0) break;
    const unhealthy = Math.min(Math.max(r.replicas - r.available, 0), budget);
    if (unhealthy > 0) {
      target.set(r.name, r.replicas - unhealthy);
      budget -= unhealthy;
    }
  }
  // Then available ones, as long as enough stay available overall.
  const available = newRs.available + old.reduce((s, r) => s + Math.min(r.available, target.get(r.name)!), 0);
  let down = Math.min(available - minAvailable, budget);
  for (const r of old) {
    if (down <= 0) break;
    const cur = target.get(r.name)!;
    const n = Math.min(cur, down);
    if (n > 0) {
      target.set(r.name, cur - n);
      down -= n;
    }
  }
  for (const r of old) if (target.get(r.name) !== r.replicas) out.set(r.name, target.get(r.name)!);
  return out;
}

/** Recreate: old ReplicaSets to zero; the new one scales up only once no old pod is left. */
export function recreateTargets(replicas: number, newRs: RsCounts, old: (RsCounts & { pods: number })[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of old) if (r.replicas > 0) out.set(r.name, 0);
  if (out.size === 0 && old.every((r) => r.pods === 0) && newRs.replicas !== replicas) out.set(newRs.name, replicas);
  return out;
}

/** A new ReplicaSet carries the Deployment's other annotations (kubernetes.io/change-cause is what `rollout history` shows), as Kubernetes does. */
function copiedAnnotations(d: Deployment): Record<string, string> {
  return Object.fromEntries(Object.entries(d.metadata.annotations ?? {}).filter(([k]) => !deploymentOwnAnnotations.has(k)));
}

const revisionOf = (rs: KObject) => Number(rs.metadata.annotations?.[revisionAnnotation] ?? 0) || 0;
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface DeploymentControllerOptions {
  store: Store;
  log: Logger;
  deployments: Informer;
  replicasets: Informer;
  admitReplicaSet?: ReplicaSetAdmission;
  resyncMs?: number;
}

export function deploymentController(opts: DeploymentControllerOptions): Controller {
  const { store, log, deployments, replicasets } = opts;
  const controller = new Controller({ name: 'deployments', log, reconcile, resyncMs: opts.resyncMs ?? 30_000, resyncKeys: () => deployments.list().map(keyOf) });

  deployments.onEvent((_type, d) => controller.enqueue(keyOf(d)));
  replicasets.onEvent((type, rs, old) => {
    for (const o of [rs, old]) {
      const ref = o && controllerRefOf(o);
      if (ref?.kind === 'Deployment') controller.enqueue(`${o!.metadata.namespace}/${ref.name}`);
    }
    if (type !== 'DELETED' && !controllerRefOf(rs)) {
      // An orphan: a Deployment whose selector matches it may adopt it.
      for (const d of deployments.list(rs.metadata.namespace ?? '')) {
        const selector = selectorFromLabelSelector((d as Deployment).spec.selector);
        if (!selector.empty && selector.matches(rs.metadata.labels)) controller.enqueue(keyOf(d));
      }
    }
  });

  async function reconcile(key: string): Promise<ReconcileResult> {
    const d = deployments.get(key) as Deployment | undefined;
    if (!d || d.metadata.deletionTimestamp) return;
    const { namespace } = splitKey(key);
    const owned = replicasets.list(namespace).filter((rs) => controllerRefOf(rs)?.uid === d.metadata.uid) as ReplicaSet[];
    owned.push(...(await adoptOrphans(d, namespace)));
    const hash = templateHash(d.spec.template);
    let newRs = owned.find((rs) => rs.metadata.labels?.[templateHashLabel] === hash);
    const old = owned.filter((rs) => rs !== newRs).sort((a, b) => revisionOf(a) - revisionOf(b) || (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
    const maxOldRevision = Math.max(0, ...old.map(revisionOf));

    if (!d.spec.paused) {
      if (!newRs) {
        newRs = await createReplicaSet(d, hash, maxOldRevision + 1);
        return; // Its ADDED event brings the next step.
      }
      if (revisionOf(newRs) <= maxOldRevision) {
        // Rolled back to an older template: it becomes the newest revision again.
        await patchReplicaSet(newRs, (rs) => ({ ...rs, metadata: { ...rs.metadata, annotations: { ...rs.metadata.annotations, [revisionAnnotation]: String(maxOldRevision + 1) } } }));
        return;
      }
      const minReadySeconds = d.spec.minReadySeconds ?? 0;
      if ((newRs.spec.minReadySeconds ?? 0) !== minReadySeconds) {
        await patchReplicaSet(newRs, (rs) => ({ ...rs, spec: { ...(rs.spec as object), minReadySeconds } }));
        return;
      }
      const replicas = d.spec.replicas ?? 1;
      const counts = (rs: ReplicaSet): RsCounts => ({ name: rs.metadata.name!, replicas: rs.spec.replicas ?? 1, available: rs.status?.availableReplicas ?? 0 });
      let targets: Map<string, number>;
      if (d.spec.strategy?.type === 'Recreate') {
        targets = recreateTargets(replicas, counts(newRs), old.map((rs) => ({ ...counts(rs), pods: rs.status?.replicas ?? 0 })));
      } else {
        const { maxSurge, maxUnavailable } = fenceposts(d);
        targets = rollingTargets(replicas, maxSurge, maxUnavailable, counts(newRs), old.map(counts));
      }
      for (const [name, n] of targets) {
        const rs = owned.find((r) => r.metadata.name === name)!;
        await patchReplicaSet(rs, (cur) => ({ ...cur, spec: { ...(cur.spec as object), replicas: n } }));
      }
      if (targets.size) log.info({ deployment: key, scaled: Object.fromEntries(targets) }, 'scaled replica sets');
      await cleanupHistory(d, old);
    } else {
      // Paused stops rollouts, not scaling: with no rollout under way, the one scaled-up ReplicaSet follows spec.replicas.
      const replicas = d.spec.replicas ?? 1;
      const scaled = owned.filter((rs) => (rs.spec.replicas ?? 1) > 0);
      const current = scaled.length === 1 ? scaled[0] : scaled.length === 0 ? (newRs ?? old.at(-1)) : undefined;
      if (current && (current.spec.replicas ?? 1) !== replicas) await patchReplicaSet(current, (cur) => ({ ...cur, spec: { ...(cur.spec as object), replicas } }));
    }
    return updateStatus(d, newRs, owned);
  }

  /** ReplicaSets without a controller that the selector matches (left by a delete --cascade=orphan) become this Deployment's. */
  async function adoptOrphans(d: Deployment, namespace: string): Promise<ReplicaSet[]> {
    const selector = selectorFromLabelSelector(d.spec.selector);
    if (selector.empty) return [];
    const orphans = replicasets.list(namespace).filter((rs) => !controllerRefOf(rs) && !rs.metadata.deletionTimestamp && selector.matches(rs.metadata.labels));
    if (!orphans.length) return [];
    // The cache may not show yet that this Deployment is being deleted with its dependents orphaned: ask the store.
    const fresh = await store.get({ resource: 'deployments', namespace, name: d.metadata.name! });
    if (!fresh || fresh.metadata.uid !== d.metadata.uid || fresh.metadata.deletionTimestamp) return [];
    const adopted: ReplicaSet[] = [];
    for (const rs of orphans) {
      const ref: OwnerReference = { apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name!, uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true };
      try {
        const updated = await store.guaranteedUpdate({ resource: 'replicasets', namespace, name: rs.metadata.name! }, (cur) => {
          if (controllerRefOf(cur) || cur.metadata.uid !== rs.metadata.uid) return undefined;
          return { ...cur, metadata: { ...cur.metadata, ownerReferences: [...(cur.metadata.ownerReferences ?? []), ref] } };
        });
        if (controllerRefOf(updated)?.uid === d.metadata.uid) {
          adopted.push(updated as ReplicaSet);
          log.info({ deployment: keyOf(d), replicaSet: rs.metadata.name }, 'adopted an orphan replica set');
        }
      } catch (e) {
        if (!isApiError(e, 'NotFound')) throw e;
      }
    }
    return adopted;
  }

  async function createReplicaSet(d: Deployment, hash: string, revision: number): Promise<ReplicaSet> {
    const name = `${d.metadata.name}-${hash}`;
    const labels = { ...(d.spec.template.metadata?.labels ?? {}), [templateHashLabel]: hash };
    const owner: OwnerReference = { apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name!, uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true };
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, namespace: d.metadata.namespace, generation: 1, labels, annotations: { ...copiedAnnotations(d), [revisionAnnotation]: String(revision) }, ownerReferences: [owner] },
      spec: {
        replicas: 0,
        minReadySeconds: d.spec.minReadySeconds ?? 0,
        selector: { ...d.spec.selector, matchLabels: { ...(d.spec.selector.matchLabels ?? {}), [templateHashLabel]: hash } },
        template: { ...structuredClone(d.spec.template), metadata: { ...structuredClone(d.spec.template.metadata ?? {}), labels } },
      },
      status: { replicas: 0 },
    };
    try {
      const release = await opts.admitReplicaSet?.(rs);
      try {
        const created = (await store.create('replicasets', rs)) as ReplicaSet;
        log.info({ deployment: keyOf(d), replicaSet: name, revision }, 'created a replica set for a new pod template');
        return created;
      } finally {
        release?.();
      }
    } catch (e) {
      if (isApiError(e, 'AlreadyExists')) {
        throw new Error(`replica set ${d.metadata.namespace}/${name} exists but is not owned by deployment ${d.metadata.name}: delete or rename it so the deployment can roll out`, { cause: e });
      }
      await recordCreateError(d, name, e);
      throw e;
    }
  }

  /** Kubernetes' ReplicaSetCreateError warning on the deployment (a quota refusal, say); repeats add to its count. */
  async function recordCreateError(d: Deployment, name: string, err: unknown): Promise<void> {
    const message = `Failed to create new replica set "${name}": ${err instanceof Error ? err.message : String(err)}`;
    try {
      await recordControllerEvent(store, { about: d, type: 'Warning', reason: 'ReplicaSetCreateError', message, component: 'deployment-controller' });
    } catch (e) {
      log.warn({ err: e, deployment: keyOf(d) }, 'recording a ReplicaSetCreateError event failed');
    }
  }

  async function patchReplicaSet(rs: KObject, mutate: (cur: KObject) => KObject): Promise<void> {
    await store.guaranteedUpdate({ resource: 'replicasets', namespace: rs.metadata.namespace!, name: rs.metadata.name! }, (cur) => {
      if (cur.metadata.uid !== rs.metadata.uid) return undefined;
      const next = mutate(cur);
      if (JSON.stringify(next.spec) !== JSON.stringify(cur.spec)) next.metadata = { ...next.metadata, generation: (cur.metadata.generation ?? 1) + 1 };
      return next;
    });
  }

  /** Deletes the oldest scaled-down ReplicaSets beyond revisionHistoryLimit. */
  async function cleanupHistory(d: Deployment, old: ReplicaSet[]): Promise<void> {
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const idle = old.filter((rs) => (rs.spec.replicas ?? 1) === 0 && (rs.status?.replicas ?? 0) === 0);
    for (const rs of idle.slice(0, Math.max(idle.length - limit, 0))) {
      try {
        await store.delete({ resource: 'replicasets', namespace: rs.metadata.namespace!, name: rs.metadata.name! }, { expectedResourceVersion: rs.metadata.resourceVersion });
      } catch (e) {
        if (!isApiError(e, 'NotFound') && !isApiError(e, 'Conflict')) throw e;
      }
    }
  }

  async function updateStatus(d: Deployment, newRs: ReplicaSet | undefined, owned: ReplicaSet[]): Promise<ReconcileResult> {
    const sum = (f: (rs: ReplicaSet) => number | undefined) => owned.reduce((s, rs) => s + (f(rs) ?? 0), 0);
    const replicas = d.spec.replicas ?? 1;
    const counts = {
      replicas: sum((rs) => rs.status?.replicas),
      updatedReplicas: newRs?.status?.replicas ?? 0,
      readyReplicas: sum((rs) => rs.status?.readyReplicas),
      availableReplicas: sum((rs) => rs.status?.availableReplicas),
    };
    const unavailableReplicas = Math.max(replicas - counts.availableReplicas, 0);
    // Recreate promises no availability during a rollout, so Available means all replicas (Kubernetes' MaxUnavailable is 0 there).
    const maxUnavailable = d.spec.strategy?.type === 'Recreate' ? 0 : fenceposts(d).maxUnavailable;
    const complete = counts.updatedReplicas === replicas && counts.replicas === replicas && counts.availableReplicas === replicas && (newRs?.spec.replicas ?? 0) === replicas;
    const now = Date.now();
    const deadlineMs = (d.spec.progressDeadlineSeconds ?? 600) * 1000;
    let retry: ReconcileResult = undefined;

    await store.guaranteedUpdate({ resource: 'deployments', namespace: d.metadata.namespace!, name: d.metadata.name! }, (cur) => {
      if (cur.metadata.uid !== d.metadata.uid) return undefined;
      const old = (cur.status ?? {}) as DeploymentStatus;
      const conditions = [...(old.conditions ?? [])];
      const setCondition = (c: Omit<DeploymentCondition, 'lastUpdateTime' | 'lastTransitionTime'>, touch: boolean) => {
        const i = conditions.findIndex((x) => x.type === c.type);
        const prev = i >= 0 ? conditions[i] : undefined;
        const same = prev && prev.status === c.status && prev.reason === c.reason && prev.message === c.message;
        if (same && !touch) return;
        const next: DeploymentCondition = { ...c, lastUpdateTime: rfc3339(now), lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : rfc3339(now) };
        if (i >= 0) conditions[i] = next;
        else conditions.push(next);
      };

      const available = counts.availableReplicas >= replicas - maxUnavailable;
      setCondition(
        available
          ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
          : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
        false,
      );
      const rsName = newRs?.metadata.name ?? '';
      const progressed = ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas'].some((k) => (old as Record<string, unknown>)[k] !== (counts as Record<string, number>)[k]);
      const progressing = conditions.find((c) => c.type === 'Progressing');
      if (d.spec.paused) {
        setCondition({ type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' }, false);
      } else if (complete) {
        setCondition({ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` }, false);
      } else if (progressed || !progressing || progressing.reason === 'NewReplicaSetAvailable' || progressing.reason === 'DeploymentPaused') {
        setCondition({ type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` }, true);
        retry = { retryAfterMs: Math.min(deadlineMs, 30_000) };
      } else if (progressing.reason === 'ReplicaSetUpdated' && now - Date.parse(progressing.lastUpdateTime ?? '') > deadlineMs) {
        setCondition({ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${rsName}" has timed out progressing.` }, false);
      } else if (progressing.reason === 'ReplicaSetUpdated') {
        retry = { retryAfterMs: Math.max(Date.parse(progressing.lastUpdateTime ?? '') + deadlineMs - now, 0) + 100 };
      }

      const status: DeploymentStatus = { ...old, observedGeneration: cur.metadata.generation, ...counts, unavailableReplicas, conditions };
      if (canonical(status) === canonical(old)) return undefined;
      return { ...cur, status };
    });
    return retry;
  }

  return controller;
}
