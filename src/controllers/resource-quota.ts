import { isDeepStrictEqual } from 'node:util';
import { isApiError } from '../api/errors.js';
import { formatBytes, formatCpuMilli, toMilli } from '../api/quantity.js';
import { resources } from '../api/resources.js';
import type { Container, KObject, Pod, ResourceList, ResourceQuota, ResourceQuotaSpec, ScopedResourceSelectorRequirement } from '../api/types.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { Controller, type Informer, keyOf, type ReconcileResult } from './runtime.js';

// ResourceQuota usage: what an object costs against a quota's spec.hard, and the controller that
// keeps status.used (and status.hard) equal to what the namespace holds. The API server's quota
// admission charges status.used before an object is stored; this controller recomputes it under
// the same per-namespace lock, so a charge in flight is never undone by a recount that missed it.

/** Usage in thousandths of the unit (milli-cores, milli-bytes, milli-objects), by resource name. */
export type Usage = Map<string, number>;

const computeNames = new Set(['requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory', 'cpu', 'memory']);
/** Names older than count/<resource>, still accepted by Kubernetes. */
const legacyCounts: Record<string, string> = { pods: 'pods', replicationcontrollers: 'replicationcontrollers', resourcequotas: 'resourcequotas' };

/** The resource (plural) a count name counts: `count/deployments.apps` → deployments; undefined for other names. */
export function countedResource(name: string): string | undefined {
  if (legacyCounts[name]) return legacyCounts[name];
  if (!name.startsWith('count/')) return undefined;
  const [plural, ...group] = name.slice('count/'.length).split('.');
  return resources.find((r) => r.plural === plural && r.group === group.join('.'))?.plural;
}

const milli = (list: ResourceList | undefined, name: string): number | undefined => {
  const v = list?.[name];
  if (v === undefined) return undefined;
  try {
    return toMilli(v);
  } catch {
    return undefined;
  }
};

/** Kubernetes' effective pod value: the sum over containers, or the largest init container if more. */
function podTotal(pod: Pod, side: 'requests' | 'limits', name: 'cpu' | 'memory'): number {
  const of = (c: Container) => milli(c.resources?.[side], name) ?? 0;
  const sum = (pod.spec.containers ?? []).reduce((a, c) => a + of(c), 0);
  return Math.max(sum, ...(pod.spec.initContainers ?? []).map(of));
}

/** A pod counts while it runs or may run: not finished, and not past its deletion deadline. */
export function podCountsTowardQuota(pod: Pod, nowMs: number): boolean {
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return false;
  const del = pod.metadata.deletionTimestamp;
  return !del || Date.parse(del) > nowMs;
}

const bestEffort = (pod: Pod) =>
  [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])].every((c) => ['cpu', 'memory'].every((r) => c.resources?.requests?.[r] === undefined && c.resources?.limits?.[r] === undefined));

/**
 * Whether a quota with these scopes and scope selector tracks the object; `scopes` entries count
 * as `Exists` requirements, as in Kubernetes, and all requirements must hold. Scoped quotas
 * track pods only. PriorityClass compares the pod's priorityClassName; CrossNamespacePodAffinity
 * matches no pod, as Skiff has no pod affinity.
 */
export function matchesScopes(resource: string, obj: KObject, spec: Pick<ResourceQuotaSpec, 'scopes' | 'scopeSelector'> | undefined): boolean {
  const scopes = spec?.scopes ?? [];
  const expressions = spec?.scopeSelector?.matchExpressions ?? [];
  if (!scopes.length && !expressions.length) return true;
  if (resource !== 'pods') return false;
  const pod = obj as Pod;
  return scopes.every((s) => scopeHolds(pod, s)) && expressions.every((r) => scopeRequirementHolds(pod, r));
}

function scopeHolds(pod: Pod, scope: string): boolean {
  switch (scope) {
    case 'Terminating':
      return pod.spec.activeDeadlineSeconds !== undefined;
    case 'NotTerminating':
      return pod.spec.activeDeadlineSeconds === undefined;
    case 'BestEffort':
      return bestEffort(pod);
    case 'NotBestEffort':
      return !bestEffort(pod);
    case 'PriorityClass':
      return priorityClassOf(pod) !== '';
    default:
      return false;
  }
}

const priorityClassOf = (pod: Pod): string => (pod.spec as { priorityClassName?: string }).priorityClassName ?? '';

function scopeRequirementHolds(pod: Pod, r: ScopedResourceSelectorRequirement): boolean {
  switch (r.operator) {
    case 'In':
      return r.scopeName === 'PriorityClass' && (r.values ?? []).includes(priorityClassOf(pod));
    case 'NotIn':
      return r.scopeName === 'PriorityClass' && !(r.values ?? []).includes(priorityClassOf(pod));
    case 'Exists':
      return scopeHolds(pod, r.scopeName);
    case 'DoesNotExist':
      return !scopeHolds(pod, r.scopeName);
  }
}

/** What one object adds to the names in `hard`. */
export function usageOf(resource: string, obj: KObject, hard: readonly string[]): Usage {
  const u: Usage = new Map();
  for (const name of hard) {
    if (countedResource(name) === resource) u.set(name, 1000);
    if (resource !== 'pods' || !computeNames.has(name)) continue;
    const pod = obj as Pod;
    const [side, res] = name.includes('.') ? (name.split('.') as ['requests' | 'limits', 'cpu' | 'memory']) : (['requests', name] as ['requests', 'cpu' | 'memory']);
    u.set(name, podTotal(pod, side, res));
  }
  return u;
}

/**
 * Kubernetes' pod quota constraint: a quota on cpu or memory requests or limits needs every
 * container to state that value. Returns `must specify limits.cpu for: a; requests.cpu for: a,b`
 * or undefined.
 */
export function missingComputeResources(pod: Pod, hard: readonly string[]): string | undefined {
  const required = hard.filter((n) => computeNames.has(n));
  if (!required.length) return undefined;
  const missing = new Map<string, Set<string>>();
  for (const c of [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])]) {
    const has = new Set<string>();
    for (const res of ['cpu', 'memory']) {
      if (c.resources?.requests?.[res] !== undefined) has.add(res).add(`requests.${res}`);
      if (c.resources?.limits?.[res] !== undefined) has.add(`limits.${res}`);
    }
    for (const n of required) {
      if (has.has(n)) continue;
      if (!missing.has(n)) missing.set(n, new Set());
      missing.get(n)!.add(c.name);
    }
  }
  if (!missing.size) return undefined;
  const parts = [...missing.keys()].sort().map((n) => `${n} for: ${[...missing.get(n)!].sort().join(',')}`);
  return `must specify ${parts.join('; ')}`;
}

/** A usage value as Kubernetes prints it: `500m`, `2`, `1Gi`. */
export function formatUsage(name: string, m: number): string {
  if (name.endsWith('cpu')) return formatCpuMilli(m);
  if (name.endsWith('memory')) return formatBytes(Math.ceil(m / 1000));
  return String(Math.ceil(m / 1000));
}

export function parseUsage(list: ResourceList | undefined): Usage {
  const u: Usage = new Map();
  for (const [k, v] of Object.entries(list ?? {})) {
    try {
      u.set(k, toMilli(v));
    } catch {
      // A malformed stored value is recounted by the controller.
    }
  }
  return u;
}

export function formatUsageList(u: Usage): ResourceList {
  return Object.fromEntries([...u.keys()].sort().map((k) => [k, formatUsage(k, u.get(k)!)]));
}

/** What the namespace holds now, for each name in `hard`, read from the store. */
export async function measureUsage(store: Store, namespace: string, hard: readonly string[], scopes?: Pick<ResourceQuotaSpec, 'scopes' | 'scopeSelector'>, nowMs = Date.now()): Promise<Usage> {
  const total: Usage = new Map(hard.map((n) => [n, 0]));
  const needed = new Set(hard.map(countedResource).filter((r): r is string => !!r));
  if (hard.some((n) => computeNames.has(n))) needed.add('pods');
  for (const resource of needed) {
    const { items } = await store.list(resource, { namespace, frozen: true });
    for (const obj of items) {
      if (resource === 'pods' && !podCountsTowardQuota(obj as Pod, nowMs)) continue;
      if (!matchesScopes(resource, obj, scopes)) continue;
      for (const [k, v] of usageOf(resource, obj, hard)) total.set(k, (total.get(k) ?? 0) + v);
    }
  }
  return total;
}

/** One lock per namespace: quota admission and the quota controller take turns. */
export class NamespaceLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** Resolves once the lock is held; call the returned function to release it. */
  async acquire(namespace: string): Promise<() => void> {
    const prev = this.tails.get(namespace) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(namespace, tail);
    await prev;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      if (this.tails.get(namespace) === tail) this.tails.delete(namespace);
    };
  }
}

export interface ResourceQuotaControllerOptions {
  store: Store;
  log: Logger;
  quotas: Informer;
  pods: Informer;
  locks: NamespaceLocks;
  resyncMs?: number;
}

/** Keeps every quota's status.hard equal to spec.hard and status.used to the namespace's usage. */
export function resourceQuotaController(opts: ResourceQuotaControllerOptions): Controller {
  const { store, log, quotas, pods, locks } = opts;
  const controller = new Controller({
    name: 'resourcequota',
    log,
    resyncMs: opts.resyncMs ?? 30_000,
    resyncKeys: () => quotas.list().map(keyOf),
    async reconcile(key): Promise<ReconcileResult> {
      const cached = quotas.get(key) as ResourceQuota | undefined;
      if (!cached) return;
      const namespace = cached.metadata.namespace!;
      const release = await locks.acquire(namespace);
      try {
        const q = (await store.get({ resource: 'resourcequotas', namespace, name: cached.metadata.name! })) as ResourceQuota | undefined;
        if (!q) return;
        const hard = Object.keys(q.spec?.hard ?? {});
        const used = formatUsageList(await measureUsage(store, namespace, hard, q.spec));
        const status = { hard: { ...(q.spec?.hard ?? {}) }, used };
        if (isDeepStrictEqual(q.status, status)) return;
        await store.guaranteedUpdate({ resource: 'resourcequotas', namespace, name: q.metadata.name! }, (cur) => (cur.metadata.uid === q.metadata.uid ? { ...cur, status } : undefined));
      } catch (e) {
        if (!isApiError(e, 'NotFound')) throw e;
      } finally {
        release();
      }
      // A terminating pod stops counting at its deletion deadline, which no event marks.
      return nextDeadline(pods.list(namespace) as Pod[]);
    },
  });
  const enqueueNamespace = (ns: string | undefined) => {
    for (const q of quotas.list(ns ?? '')) controller.enqueue(keyOf(q));
  };
  quotas.onEvent((type, obj, old) => {
    // Status-only changes are this controller's or admission's own writes.
    if (type === 'ADDED' || type === 'SYNC' || !old || !isDeepStrictEqual(obj.spec, old.spec)) controller.enqueue(keyOf(obj));
  });
  pods.onEvent((type, obj, old) => {
    if (type === 'SYNC') return;
    const counted = (p: KObject | undefined) => !!p && podCountsTowardQuota(p as Pod, Date.now());
    if (type === 'MODIFIED' && counted(obj) === counted(old)) return;
    enqueueNamespace(obj.metadata.namespace);
  });
  return controller;
}

function nextDeadline(pods: Pod[]): ReconcileResult {
  const now = Date.now();
  let next = Infinity;
  for (const p of pods) {
    const t = p.metadata.deletionTimestamp ? Date.parse(p.metadata.deletionTimestamp) : NaN;
    if (t > now) next = Math.min(next, t);
  }
  return next === Infinity ? undefined : { retryAfterMs: next - now + 50 };
}
