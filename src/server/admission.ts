import { ApiError, errors } from '../api/errors.js';
import { toMilli } from '../api/quantity.js';
import { groupResource, type ResourceInfo } from '../api/resources.js';
import type { KObject, LimitRange, Pod, ResourceList, ResourceQuota, Toleration } from '../api/types.js';
import {
  formatUsage,
  formatUsageList,
  matchesScopes,
  measureUsage,
  missingComputeResources,
  type NamespaceLocks,
  parseUsage,
  type Usage,
  usageOf,
} from '../controllers/resource-quota.js';
import type { Store } from '../store/store.js';
import type { UserInfo } from './authn.js';
import { notReadyTaintKey, unreachableTaintKey } from './node-lifecycle.js';

// Admission: an ordered list of plugins every write passes after defaulting and validation and
// before the store. A plugin may change `request.object` (mutating, e.g. LimitRange defaults)
// or refuse the write by throwing an ApiError (validating, e.g. ResourceQuota). The first
// refusal stops the chain.

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface AdmissionRequest {
  operation: AdmissionOperation;
  info: ResourceInfo;
  /** '' for cluster-scoped kinds. */
  namespace: string;
  name: string;
  subresource?: 'status' | 'scale';
  /** The object to be stored (for DELETE: the object being deleted). Plugins may change it. */
  object: KObject;
  /** The stored object, on UPDATE and DELETE. */
  oldObject?: KObject;
  user: UserInfo;
  /** `?dryRun=All`: nothing will be stored, so a plugin must leave no side effects (e.g. quota usage). */
  dryRun?: boolean;
}

/** Called once the write the request admitted is stored or has failed (ResourceQuota holds its namespace's lock until then). */
export type AdmissionRelease = () => void;

export interface AdmissionPlugin {
  /** Named in logs and in errors a plugin fails with unexpectedly. */
  readonly name: string;
  admit(request: AdmissionRequest): void | AdmissionRelease | Promise<void | AdmissionRelease>;
}

export class AdmissionChain {
  constructor(
    private readonly plugins: readonly AdmissionPlugin[] = [],
    private readonly dryRun = false,
  ) {}

  /** The same plugins for dry-run requests: each request they see has `dryRun` set. */
  forDryRun(): AdmissionChain {
    return new AdmissionChain(this.plugins, true);
  }

  get names(): string[] {
    return this.plugins.map((p) => p.name);
  }

  /**
   * Runs every plugin in order; an ApiError passes through, anything else becomes an
   * InternalError naming the plugin. The caller calls the returned function once the write is
   * stored or has failed.
   */
  async admit(request: AdmissionRequest): Promise<AdmissionRelease> {
    if (this.dryRun) request.dryRun = true;
    const releases: AdmissionRelease[] = [];
    const releaseAll = () => releases.splice(0).reverse().forEach((r) => r());
    for (const plugin of this.plugins) {
      try {
        const release = await plugin.admit(request);
        if (release) releases.push(release);
      } catch (e) {
        releaseAll();
        if (e instanceof ApiError) throw e;
        throw errors.internal(`admission plugin ${plugin.name} failed: ${(e as Error)?.message ?? String(e)}`, e);
      }
    }
    return releaseAll;
  }
}

// ---- DefaultTolerationSeconds ----------------------------------------------------------------

export interface DefaultTolerationOptions {
  /** --default-not-ready-toleration-seconds */
  notReadySeconds: number;
  /** --default-unreachable-toleration-seconds */
  unreachableSeconds: number;
}

/**
 * Kubernetes' DefaultTolerationSeconds: every new pod tolerates the not-ready and unreachable
 * NoExecute taints for a bounded time, so the taint eviction controller moves it off a lost node
 * after that long, unless the pod already says how long it tolerates them.
 */
export function defaultTolerationSeconds(opts: DefaultTolerationOptions): AdmissionPlugin {
  return {
    name: 'DefaultTolerationSeconds',
    admit(req) {
      if (req.operation !== 'CREATE' || req.info.kind !== 'Pod') return;
      const spec = (req.object as Pod).spec;
      const tolerations = spec.tolerations ?? [];
      const covers = (key: string) => tolerations.some((t) => (t.key === key || !t.key) && (t.effect === 'NoExecute' || !t.effect));
      const added: Toleration[] = [];
      if (!covers(notReadyTaintKey)) added.push({ key: notReadyTaintKey, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: opts.notReadySeconds });
      if (!covers(unreachableTaintKey)) added.push({ key: unreachableTaintKey, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: opts.unreachableSeconds });
      if (added.length) spec.tolerations = [...tolerations, ...added];
    },
  };
}

// ---- LimitRanger -----------------------------------------------------------------------------

type Quantity = string | number;

const q = (v: Quantity | undefined): number | undefined => {
  if (v === undefined) return undefined;
  try {
    return toMilli(v);
  } catch {
    return undefined;
  }
};

/** Go's %f, which Kubernetes' ratio message uses. */
const goFloat = (n: number) => n.toFixed(6);

type LimitItem = NonNullable<NonNullable<LimitRange['spec']>['limits']>[number];

/** A request or limit as LimitRanger compares it (milli-units) and prints it. */
interface Amount {
  milli: number | undefined;
  text: string | undefined;
}

/** min, max and maxLimitRequestRatio of one item against one container's or one pod's amounts. */
function checkLimitItem(item: LimitItem, scope: 'Container' | 'Pod', request: (k: string) => Amount, limit: (k: string) => Amount): string[] {
  const problems: string[] = [];
  for (const [k, min] of Object.entries(item.min ?? {})) {
    const bound = q(min)!;
    const req = request(k);
    const lim = limit(k);
    if (req.milli === undefined) problems.push(`minimum ${k} usage per ${scope} is ${min}.  No request is specified`);
    else if (req.milli < bound) problems.push(`minimum ${k} usage per ${scope} is ${min}, but request is ${req.text}`);
    if (lim.milli !== undefined && lim.milli < bound) problems.push(`minimum ${k} usage per ${scope} is ${min}, but limit is ${lim.text}`);
  }
  for (const [k, max] of Object.entries(item.max ?? {})) {
    const bound = q(max)!;
    const req = request(k);
    const lim = limit(k);
    if (lim.milli === undefined) problems.push(`maximum ${k} usage per ${scope} is ${max}.  No limit is specified`);
    else if (lim.milli > bound) problems.push(`maximum ${k} usage per ${scope} is ${max}, but limit is ${lim.text}`);
    if (req.milli !== undefined && req.milli > bound) problems.push(`maximum ${k} usage per ${scope} is ${max}, but request is ${req.text}`);
  }
  for (const [k, ratio] of Object.entries(item.maxLimitRequestRatio ?? {})) {
    const req = request(k).milli;
    const lim = limit(k).milli;
    if (lim === undefined) problems.push(`${k} max limit to request ratio per ${scope} is ${ratio}, but no limit is specified`);
    else if (!req) problems.push(`${k} max limit to request ratio per ${scope} is ${ratio}, but no request is specified or request is 0`);
    else if (lim / req > q(ratio)! / 1000) problems.push(`${k} max limit to request ratio per ${scope} is ${ratio}, but provided ratio is ${goFloat(lim / req)}`);
  }
  return problems;
}

/**
 * A pod's amount of one resource as LimitRanger counts it: the sum over its app containers, or
 * the largest init container's when that is more (init containers run one at a time, before
 * the others). Undefined when no container sets it.
 */
function podAmount(pod: Pod, field: 'requests' | 'limits', k: string): Amount {
  const of = (c: { resources?: { requests?: ResourceList; limits?: ResourceList } }) => q(c.resources?.[field]?.[k]);
  const apps = (pod.spec.containers ?? []).map(of).filter((v): v is number => v !== undefined);
  const inits = (pod.spec.initContainers ?? []).map(of).filter((v): v is number => v !== undefined);
  if (!apps.length && !inits.length) return { milli: undefined, text: undefined };
  const milli = Math.max(apps.reduce((a, b) => a + b, 0), ...inits);
  return { milli, text: formatUsage(k, milli) };
}

/**
 * Kubernetes' LimitRanger: `type: Container` items fill a container's missing limits from
 * `default` and requests from `defaultRequest`, then check min, max and maxLimitRequestRatio per
 * container; `type: Pod` items check the same bounds on the pod's totals. Returns the problems
 * in Kubernetes' words (empty when the pod fits). Changes `pod`.
 */
export function applyLimitRanges(pod: Pod, ranges: readonly LimitRange[]): string[] {
  const all = ranges.flatMap((r) => r.spec?.limits ?? []);
  const items = all.filter((i) => i.type === 'Container');
  const problems: string[] = [];
  const containers = [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? [])];
  for (const item of items) {
    for (const c of containers) {
      const res = (c.resources ??= {});
      for (const [k, v] of Object.entries(item.default ?? {})) if (res.limits?.[k] === undefined) (res.limits ??= {})[k] = v;
      for (const [k, v] of Object.entries(item.defaultRequest ?? {})) if (res.requests?.[k] === undefined) (res.requests ??= {})[k] = v;
    }
  }
  const amount = (list: ResourceList | undefined) => (k: string) => ({ milli: q(list?.[k]), text: list?.[k] === undefined ? undefined : String(list[k]) });
  for (const item of items) {
    for (const c of containers) {
      problems.push(...checkLimitItem(item, 'Container', amount(c.resources?.requests), amount(c.resources?.limits)));
    }
  }
  for (const item of all.filter((i) => i.type === 'Pod')) {
    problems.push(...checkLimitItem(item, 'Pod', (k) => podAmount(pod, 'requests', k), (k) => podAmount(pod, 'limits', k)));
  }
  return problems;
}

/** One message for several problems, as Go's error aggregate prints them. */
const aggregate = (problems: string[]) => (problems.length === 1 ? problems[0] : `[${problems.join(', ')}]`);

export function limitRanger(store: Store): AdmissionPlugin {
  return {
    name: 'LimitRanger',
    async admit(req) {
      if (req.operation !== 'CREATE' || req.info.kind !== 'Pod') return;
      const { items } = await store.list('limitranges', { namespace: req.namespace, frozen: true });
      if (!items.length) return;
      const problems = applyLimitRanges(req.object as Pod, items as LimitRange[]);
      if (problems.length) throw errors.forbidden('pods', req.name, aggregate(problems));
    },
  };
}

// ---- ResourceQuota ---------------------------------------------------------------------------

export interface QuotaCheck {
  /** `failed quota: …` or `exceeded quota: …`, or undefined when the object fits. */
  refusal?: string;
  /** status.used after charging the object. */
  used: Usage;
}

/** Pure: whether an object with usage `delta` fits `quota` given `used`. */
export function checkQuota(quotaName: string, hard: ResourceList, used: Usage, delta: Usage): QuotaCheck {
  const next: Usage = new Map(used);
  const exceeded: string[] = [];
  for (const [k, v] of delta) {
    next.set(k, (used.get(k) ?? 0) + v);
    const limit = q(hard[k]);
    if (v > 0 && limit !== undefined && next.get(k)! > limit) exceeded.push(k);
  }
  if (!exceeded.length) return { used: next };
  exceeded.sort();
  const print = (pick: (k: string) => string) => exceeded.map((k) => `${k}=${pick(k)}`).join(',');
  return {
    used,
    refusal: `exceeded quota: ${quotaName}, requested: ${print((k) => formatUsage(k, delta.get(k)!))}, used: ${print((k) => formatUsage(k, used.get(k) ?? 0))}, limited: ${print((k) => formatUsage(k, q(hard[k])!))}`,
  };
}

/**
 * Kubernetes' ResourceQuota admission. A create in a namespace with quotas takes the namespace's
 * lock (shared with the quota controller), checks every quota, and charges status.used with a
 * compare-and-swap before the object is stored; the lock is held until the store write is done,
 * so two creates never both fit in the last slot. Dry runs check without charging.
 */
export function resourceQuotaAdmission(store: Store, locks: NamespaceLocks): AdmissionPlugin {
  return {
    name: 'ResourceQuota',
    async admit(req) {
      if (req.operation !== 'CREATE' || !req.info.namespaced) return;
      if (!(await store.list('resourcequotas', { namespace: req.namespace, frozen: true })).items.length) return;
      const release = await locks.acquire(req.namespace);
      try {
        const quotas = (await store.list('resourcequotas', { namespace: req.namespace })).items as ResourceQuota[];
        const charges: { quota: ResourceQuota; used: Usage }[] = [];
        for (const quota of quotas) {
          const hard = quota.spec?.hard ?? {};
          const names = Object.keys(hard);
          if (!matchesScopes(req.info.plural, req.object, quota.spec)) continue;
          if (req.info.kind === 'Pod') {
            const missing = missingComputeResources(req.object as Pod, names);
            if (missing) throw errors.forbidden(groupResource(req.info), req.name, `failed quota: ${quota.metadata.name}: ${missing}`);
          }
          const delta = usageOf(req.info.plural, req.object, names);
          if (![...delta.values()].some((v) => v > 0)) continue;
          const recorded = parseUsage(quota.status?.used);
          // A quota the controller has not counted yet is counted here.
          const used = names.every((n) => recorded.has(n)) ? recorded : await measureUsage(store, req.namespace, names, quota.spec);
          const check = checkQuota(quota.metadata.name!, hard, used, delta);
          if (check.refusal) throw errors.forbidden(groupResource(req.info), req.name, check.refusal);
          charges.push({ quota, used: check.used });
        }
        if (!req.dryRun) {
          for (const { quota, used } of charges) {
            await store.guaranteedUpdate({ resource: 'resourcequotas', namespace: req.namespace, name: quota.metadata.name! }, (cur) => ({
              ...cur,
              status: { hard: { ...((cur as ResourceQuota).spec?.hard ?? {}) }, used: formatUsageList(used) },
            }));
          }
        }
      } catch (e) {
        release();
        throw e;
      }
      return release;
    },
  };
}
