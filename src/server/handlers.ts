import { randomInt } from 'node:crypto';
import { applyDefaults } from '../api/defaults.js';
import { disruptionReasons, withDisruptionTarget } from '../api/disruption.js';
import { errors, isApiError } from '../api/errors.js';
import { toMilli } from '../api/quantity.js';
import { apiVersionOf, resources, type ResourceInfo } from '../api/resources.js';
import { parseFieldSelector, parseSelector, selectorFromLabelSelector } from '../api/selector.js';
import type { KList, KObject } from '../api/types.js';
import { validateObject } from '../api/validation.js';
import { invalid as invalidField } from '../api/validation/field.js';
import { orphanDependents } from '../controllers/garbage-collector.js';
import type { Logger } from '../log/logger.js';
import type { ObjectKey, Store } from '../store/store.js';
import type { AdmissionChain, AdmissionRelease, AdmissionRequest } from './admission.js';
import type { UserInfo } from './authn.js';
import { applyPatch, type PatchType } from './patch.js';
import { requestPodDeletion } from './pod-dispatch.js';
import type { ResourceRoute } from './routes.js';

// The REST verbs on resources. Every write takes the same path: type check against the URL,
// server-owned fields reset, defaults, validation (with the stored object on updates),
// admission, then the store. Updates are read-modify-write through guaranteedUpdate, so a
// concurrent writer makes this one retry rather than be lost.

export const systemNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Kinds whose status the server owns on create: clients cannot make up a status. */
const statusResetOnCreate = new Set(['Pod', 'Deployment', 'ReplicaSet', 'DaemonSet', 'ReplicationController', 'Job', 'CronJob', 'ResourceQuota']);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** Kubernetes' generateName suffix alphabet: no vowels, no look-alike digits. */
const suffixAlphabet = 'bcdfghjklmnpqrstvwxz2456789';
const nameSuffix = () => Array.from({ length: 5 }, () => suffixAlphabet[randomInt(suffixAlphabet.length)]).join('');

type Resources = Record<string, unknown>;

/** Kubernetes' QoS class from the containers' requests and limits (after defaulting). */
export function qosClassOf(spec: unknown): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const s = isPlainObject(spec) ? spec : {};
  const containers = [s.initContainers, s.containers].flatMap((l) => (Array.isArray(l) ? l.filter(isPlainObject) : []));
  const compute = ['cpu', 'memory'];
  const read = (r: unknown): Resources => (isPlainObject(r) ? r : {});
  const nonZero = (m: Resources, k: string) => {
    try {
      return m[k] !== undefined && toMilli(m[k] as string | number) > 0;
    } catch {
      return false;
    }
  };
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const res = read(c.resources);
    const requests = read(res.requests);
    const limits = read(res.limits);
    if (compute.some((k) => nonZero(requests, k) || nonZero(limits, k))) any = true;
    for (const k of compute) {
      if (!nonZero(limits, k)) guaranteed = false;
      else if (requests[k] !== undefined && toMilli(requests[k] as string | number) !== toMilli(limits[k] as string | number)) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  /** Pods only: overrides terminationGracePeriodSeconds; 0 removes the object at once. */
  gracePeriodSeconds?: number;
  /** Orphan keeps the dependents (their ownerReferences to this object are removed); otherwise the garbage collector deletes them. */
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
}

export class ResourceHandlers {
  constructor(
    private readonly store: Store,
    private readonly admission: AdmissionChain,
    private readonly log: Logger,
  ) {}

  private key(route: ResourceRoute, name: string): ObjectKey {
    return { resource: route.info.plural, namespace: route.info.namespaced ? (route.namespace ?? '') : '', name };
  }

  async get(route: ResourceRoute): Promise<KObject> {
    const obj = await this.store.get(this.key(route, route.name!));
    if (!obj) throw errors.notFound(route.info.plural, route.name!);
    return obj;
  }

  async list(route: ResourceRoute, query: URLSearchParams): Promise<KList> {
    const filter = listFilter(query);
    const { items, revision } = await this.store.list(route.info.plural, { namespace: route.namespace, filter });
    return { apiVersion: apiVersionOf(route.info), kind: `${route.info.kind}List`, metadata: { resourceVersion: String(revision) }, items };
  }

  async create(route: ResourceRoute, body: unknown, user: UserInfo): Promise<KObject> {
    const { info } = route;
    if (info.namespaced && route.namespace === undefined) {
      throw errors.badRequest(`a ${info.kind} is created inside a namespace: POST to ${pathOf(info, 'NAMESPACE')}`);
    }
    const obj = this.checkBody(route, body);
    const meta = obj.metadata;
    for (const f of ['resourceVersion', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds'] as const) delete meta[f];
    meta.generation = 1;
    prepareStatusForCreate(obj);
    const generated = !meta.name && typeof meta.generateName === 'string' && meta.generateName !== '';

    for (let attempt = 0; ; attempt++) {
      const candidate = structuredClone(obj);
      if (generated) candidate.metadata.name = `${meta.generateName}${nameSuffix()}`;
      applyDefaults(candidate);
      const errs = validateObject(candidate);
      if (errs.length) throw errors.invalid(info.kind, candidate.metadata.name ?? '', errs);
      const release = await this.admit({ operation: 'CREATE', info, namespace: this.key(route, '').namespace, name: candidate.metadata.name!, object: candidate, user });
      // After admission, whose LimitRange defaults may have filled in requests and limits.
      if (info.kind === 'Pod') (candidate.status as Record<string, unknown>).qosClass = qosClassOf(candidate.spec);
      try {
        return await this.store.create(info.plural, candidate);
      } catch (e) {
        if (!(generated && isApiError(e, 'AlreadyExists') && attempt < 5)) throw e;
      } finally {
        release();
      }
    }
  }

  /** PUT: replaces spec and metadata (status is kept), or with `/status` only the status. */
  async update(route: ResourceRoute, body: unknown, user: UserInfo): Promise<KObject> {
    const obj = this.checkBody(route, body);
    if (obj.metadata.name !== route.name) {
      throw errors.badRequest(`the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${route.name})`);
    }
    const expected = obj.metadata.resourceVersion;
    return this.store.guaranteedUpdate(this.key(route, route.name!), (current) => {
      if (expected && expected !== current.metadata.resourceVersion) {
        throw errors.conflict(route.info.plural, route.name!, 'the object has been modified; please apply your changes to the latest version and try again');
      }
      return this.prepareUpdate(route, structuredClone(obj), current, user);
    });
  }

  async patch(route: ResourceRoute, type: PatchType, patch: unknown, user: UserInfo): Promise<KObject> {
    return this.store.guaranteedUpdate(this.key(route, route.name!), (current) => {
      const patched = applyPatch(type, structuredClone(current), patch);
      const obj = this.checkBody(route, patched);
      if (obj.metadata.resourceVersion && obj.metadata.resourceVersion !== current.metadata.resourceVersion) {
        throw errors.conflict(route.info.plural, route.name!, 'the object has been modified; please apply your changes to the latest version and try again');
      }
      return this.prepareUpdate(route, obj, current, user);
    });
  }

  /** GET …/scale: the autoscaling/v1 Scale view of a workload's replicas. */
  async getScale(route: ResourceRoute): Promise<KObject> {
    return scaleOf(route.info, await this.get(route));
  }

  /** PUT …/scale: sets spec.replicas; the Scale's resourceVersion, when given, makes it a compare-and-swap. */
  updateScale(route: ResourceRoute, body: unknown, user: UserInfo): Promise<KObject> {
    return this.writeScale(route, user, () => checkScale(route, body));
  }

  /** PATCH …/scale: the patch applies to the Scale view, then spec.replicas takes its result. */
  patchScale(route: ResourceRoute, type: PatchType, patch: unknown, user: UserInfo): Promise<KObject> {
    return this.writeScale(route, user, (current) => checkScale(route, applyPatch(type, scaleOf(route.info, current), patch)));
  }

  private async writeScale(route: ResourceRoute, user: UserInfo, scaleFor: (current: KObject) => { replicas: number; resourceVersion?: string }): Promise<KObject> {
    const updated = await this.store.guaranteedUpdate(this.key(route, route.name!), (current) => {
      const scale = scaleFor(current);
      if (scale.resourceVersion && scale.resourceVersion !== current.metadata.resourceVersion) {
        throw errors.conflict(route.info.plural, route.name!, 'the object has been modified; please apply your changes to the latest version and try again');
      }
      const next = structuredClone(current);
      next.spec = { ...(isPlainObject(next.spec) ? next.spec : {}), replicas: scale.replicas };
      return this.prepareUpdate({ ...route, subresource: undefined }, next, current, user);
    });
    return scaleOf(route.info, updated);
  }

  /**
   * Deletes at once, except a pod bound to a node, which is marked (deletionTimestamp) and goes
   * when its node has stopped it. Preconditions make it a compare-and-swap.
   */
  async delete(route: ResourceRoute, user: UserInfo, opts: DeleteOptions = {}): Promise<KObject> {
    const preconditions = opts.preconditions ?? {};
    const key = this.key(route, route.name!);
    const current = await this.store.get(key);
    if (!current) throw errors.notFound(route.info.plural, route.name!);
    if (preconditions.uid && preconditions.uid !== current.metadata.uid) {
      throw errors.conflict(route.info.plural, route.name!, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${current.metadata.uid}`);
    }
    if (preconditions.resourceVersion && preconditions.resourceVersion !== current.metadata.resourceVersion) {
      throw errors.conflict(route.info.plural, route.name!, `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
    }
    (await this.admit({ operation: 'DELETE', info: route.info, namespace: key.namespace, name: key.name, object: current, oldObject: current, user }))();
    if (route.info.kind === 'Pod') {
      return (await requestPodDeletion(this.store, { namespace: key.namespace, name: key.name }, { gracePeriodSeconds: opts.gracePeriodSeconds })).object;
    }
    const checked = preconditions.uid || preconditions.resourceVersion;
    if (opts.propagationPolicy === 'Orphan' && route.info.kind !== 'Namespace') {
      // Marked first, so its controller stops adopting the dependents about to be released.
      const marked = await this.store.guaranteedUpdate(key, (obj) => (obj.metadata.deletionTimestamp ? undefined : { ...obj, metadata: { ...obj.metadata, deletionTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') } }));
      await orphanDependents(this.store, marked);
      return this.store.delete(key, { expectedResourceVersion: marked.metadata.resourceVersion });
    }
    if (route.info.kind === 'Namespace') {
      // Terminating first, so nothing (a controller replacing the pods being removed) can
      // create new content while the old is deleted, which would outlive its namespace.
      const terminating = await this.markTerminating(current, !!checked);
      await this.deleteNamespaceContents(key.name);
      return this.store.delete(key, { expectedResourceVersion: terminating.metadata.resourceVersion });
    }
    return this.store.delete(key, checked ? { expectedResourceVersion: current.metadata.resourceVersion } : {});
  }

  /**
   * POST pods/NAME/eviction (policy/v1 Eviction): marks the pod DisruptionTarget, then deletes it
   * as DELETE would with the eviction's deleteOptions. There are no PodDisruptionBudgets yet, so
   * nothing refuses an eviction. A resourceVersion precondition is checked before the condition
   * is written (which changes the version); the delete then checks the uid only.
   */
  async evictPod(route: ResourceRoute, user: UserInfo, opts: DeleteOptions = {}): Promise<KObject> {
    const key = this.key(route, route.name!);
    const current = await this.store.get(key);
    if (!current) throw errors.notFound(route.info.plural, route.name!);
    const { uid, resourceVersion } = opts.preconditions ?? {};
    if (resourceVersion && resourceVersion !== current.metadata.resourceVersion) {
      throw errors.conflict(route.info.plural, route.name!, `Precondition failed: ResourceVersion in precondition: ${resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
    }
    const pinned = uid ?? current.metadata.uid;
    try {
      await this.store.guaranteedUpdate(key, (cur) => {
        if (cur.metadata.uid !== pinned) throw errors.conflict(route.info.plural, route.name!, `Precondition failed: UID in precondition: ${pinned}, UID in object meta: ${cur.metadata.uid}`);
        return withDisruptionTarget(cur, disruptionReasons.evictionApi, new Date());
      });
    } catch (e) {
      if (isApiError(e, 'NotFound')) throw errors.notFound(route.info.plural, route.name!);
      throw e;
    }
    await this.delete(route, user, { ...opts, preconditions: { uid: pinned } });
    return { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Success', code: 201 } as unknown as KObject;
  }

  /** Sets a namespace's phase to Terminating (with a deletionTimestamp); with `checked`, only if it is still `current`. */
  private markTerminating(current: KObject, checked: boolean): Promise<KObject> {
    const name = current.metadata.name!;
    const mark = (ns: KObject): KObject => ({
      ...ns,
      metadata: { ...ns.metadata, deletionTimestamp: ns.metadata.deletionTimestamp ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') },
      status: { ...(isPlainObject(ns.status) ? ns.status : {}), phase: 'Terminating' },
    });
    if (checked) return this.store.update('namespaces', mark(current));
    return this.store.guaranteedUpdate({ resource: 'namespaces', namespace: '', name }, mark);
  }

  /** Creates the namespaces every cluster has, when missing. */
  async ensureSystemNamespaces(): Promise<void> {
    for (const name of systemNamespaces) {
      if (await this.store.get({ resource: 'namespaces', namespace: '', name })) continue;
      const ns: KObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, generation: 1 }, spec: {}, status: {} };
      applyDefaults(ns);
      try {
        await this.store.create('namespaces', ns);
      } catch (e) {
        if (!isApiError(e, 'AlreadyExists')) throw e;
      }
    }
  }

  /** Deletion is immediate for now (no finalizers yet): the contents go first, then the namespace. */
  private async deleteNamespaceContents(namespace: string): Promise<void> {
    let count = 0;
    for (const info of resources.filter((r) => r.namespaced)) {
      const { items } = await this.store.list(info.plural, { namespace });
      for (const item of items) {
        try {
          await this.store.delete({ resource: info.plural, namespace, name: item.metadata.name! });
          count++;
        } catch (e) {
          if (!isApiError(e, 'NotFound')) throw e;
        }
      }
    }
    if (count) this.log.info({ namespace, objects: count }, 'deleted the objects of a deleted namespace');
  }

  private admit(request: AdmissionRequest): Promise<AdmissionRelease> {
    return this.admission.admit(request);
  }

  /** The body as an object of the URL's kind in the URL's namespace; apiVersion and kind are filled in when absent. */
  private checkBody(route: ResourceRoute, body: unknown): KObject {
    const { info } = route;
    if (!isPlainObject(body)) throw errors.badRequest(`the request body must be a JSON or YAML object (a ${info.kind}), not ${Array.isArray(body) ? 'an array' : typeof body}`);
    const obj = body as KObject;
    const want = apiVersionOf(info);
    if (obj.apiVersion === undefined || obj.apiVersion === '') obj.apiVersion = want;
    if (obj.kind === undefined || obj.kind === '') obj.kind = info.kind;
    if (obj.kind !== info.kind || obj.apiVersion !== want) {
      throw errors.badRequest(`the object is a ${String(obj.kind)} (${String(obj.apiVersion)}) but this URL serves ${info.kind} (${want}); send it to its own path`);
    }
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    if (!isPlainObject(obj.metadata)) throw errors.invalid(info.kind, '', [{ field: 'metadata', type: 'FieldValueInvalid', detail: 'must be an object' }]);
    if (info.namespaced) {
      const ns = route.namespace;
      if (ns !== undefined) {
        if (obj.metadata.namespace && obj.metadata.namespace !== ns) {
          throw errors.badRequest(`the namespace of the object (${obj.metadata.namespace}) does not match the namespace on the URL (${ns})`);
        }
        obj.metadata.namespace = ns;
      }
    } else {
      delete obj.metadata.namespace;
    }
    return obj;
  }

  /** The object to store for an update, or undefined when nothing would change. */
  private async prepareUpdate(route: ResourceRoute, next: KObject, current: KObject, user: UserInfo): Promise<KObject | undefined> {
    const { info } = route;
    let obj: KObject;
    if (route.subresource === 'status') {
      obj = { ...structuredClone(current), status: next.status };
    } else {
      obj = next;
      if (info.hasStatus) {
        if (current.status === undefined) delete obj.status;
        else obj.status = structuredClone(current.status);
      }
    }
    const cm = current.metadata;
    obj.metadata = { ...obj.metadata, uid: cm.uid, creationTimestamp: cm.creationTimestamp, resourceVersion: cm.resourceVersion };
    for (const f of ['deletionTimestamp', 'deletionGracePeriodSeconds'] as const) {
      if (cm[f] === undefined) delete obj.metadata[f];
      else (obj.metadata as Record<string, unknown>)[f] = cm[f];
    }
    applyDefaults(obj);
    const old = structuredClone(current);
    applyDefaults(old);
    const errs = validateObject(obj, old);
    if (errs.length) throw errors.invalid(info.kind, route.name!, errs);
    const generation = cm.generation ?? 1;
    obj.metadata.generation = route.subresource !== 'status' && !deepEqual(obj.spec, old.spec) ? generation + 1 : generation;
    // Only creates are serialized by admission (quota); an update's release comes at once.
    (await this.admit({ operation: 'UPDATE', info, namespace: this.key(route, '').namespace, name: route.name!, subresource: route.subresource, object: obj, oldObject: current, user }))();
    if (deepEqual(obj, current)) return undefined;
    return obj;
  }
}

/** The autoscaling/v1 Scale of a Deployment, ReplicaSet or ReplicationController. */
function scaleOf(info: ResourceInfo, obj: KObject): KObject {
  const spec = (isPlainObject(obj.spec) ? obj.spec : {}) as { replicas?: number; selector?: unknown };
  const status = (isPlainObject(obj.status) ? obj.status : {}) as { replicas?: number };
  // A ReplicationController's selector is a plain label map; the others have a LabelSelector.
  const raw = info.kind === 'ReplicationController' ? { matchLabels: spec.selector } : spec.selector;
  const selector = isPlainObject(raw) ? selectorFromLabelSelector(raw).toString() : '';
  const m = obj.metadata;
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: spec.replicas ?? 1 },
    status: { replicas: status.replicas ?? 0, selector },
  };
}

/** A Scale body as PUT or patched: a whole number of replicas, 0 or more. */
function checkScale(route: ResourceRoute, body: unknown): { replicas: number; resourceVersion?: string } {
  if (!isPlainObject(body)) throw errors.badRequest('the request body must be a Scale object (autoscaling/v1)');
  if (body.kind !== undefined && body.kind !== 'Scale') throw errors.badRequest(`the object is a ${String(body.kind)} but this URL serves Scale (autoscaling/v1)`);
  const meta = isPlainObject(body.metadata) ? body.metadata : {};
  if (meta.name !== undefined && meta.name !== route.name) {
    throw errors.badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${route.name})`);
  }
  const replicas = isPlainObject(body.spec) ? body.spec.replicas : undefined;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw errors.invalid('Scale', route.name!, [invalidField('spec.replicas', replicas, 'must be a whole number greater than or equal to 0')]);
  }
  return { replicas, resourceVersion: typeof meta.resourceVersion === 'string' && meta.resourceVersion ? meta.resourceVersion : undefined };
}

function prepareStatusForCreate(obj: KObject): void {
  if (obj.kind === 'Pod') obj.status = { phase: 'Pending' };
  else if (obj.kind === 'Namespace') obj.status = { phase: 'Active' };
  else if (statusResetOnCreate.has(obj.kind)) obj.status = {};
}

/** A predicate for the labelSelector and fieldSelector query parameters; undefined when neither is set. */
export function listFilter(query: URLSearchParams): ((obj: KObject) => boolean) | undefined {
  const labels = query.get('labelSelector');
  const fields = query.get('fieldSelector');
  const sel = labels ? parseSelector(labels) : undefined;
  const field = fields ? parseFieldSelector(fields) : undefined;
  if (!sel && !field) return undefined;
  return (obj) => (!sel || sel.matches(obj.metadata.labels)) && (!field || field(obj));
}

function pathOf(info: ResourceInfo, namespace: string): string {
  const prefix = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  return `${prefix}/namespaces/${namespace}/${info.plural}`;
}
