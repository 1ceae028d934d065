// Namespace, Node, Event, ResourceQuota and LimitRange validation.

import type { FieldError } from '../errors.js';
import {
  child,
  duplicate,
  forbidden,
  index,
  invalid,
  key,
  type Obj,
  readBool,
  readEnum,
  readList,
  readObj,
  readString,
  readStringList,
  required,
} from './field.js';
import { checkWith, isLabelValue, isQualifiedName } from './names.js';
import { checkContainerResourceName, isNativeResource, readResourceList, type QuantityValue } from './quantities.js';

export function validateNamespace(obj: Obj, errs: FieldError[]): void {
  const spec = readObj(obj.spec, 'spec', errs);
  if (spec) {
    readStringList(spec.finalizers, 'spec.finalizers', errs)?.forEach((f, i) =>
      checkWith(isQualifiedName, f, index('spec.finalizers', i), errs),
    );
  }
  const status = readObj(obj.status, 'status', errs);
  if (status) readEnum(status.phase, 'status.phase', errs, ['Active', 'Terminating']);
}

const taintEffects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export function validateNode(obj: Obj, errs: FieldError[]): void {
  const spec = readObj(obj.spec, 'spec', errs);
  if (spec) {
    readBool(spec.unschedulable, 'spec.unschedulable', errs);
    const seen = new Set<string>();
    readList(spec.taints, 'spec.taints', errs)?.forEach((item, i) => {
      const p = index('spec.taints', i);
      const taint = readObj(item, p, errs);
      if (!taint) return;
      const k = readString(taint.key, child(p, 'key'), errs);
      if (k === '' || taint.key === undefined || taint.key === null) errs.push(required(child(p, 'key')));
      else if (k !== undefined) checkWith(isQualifiedName, k, child(p, 'key'), errs);
      const value = readString(taint.value, child(p, 'value'), errs);
      if (value) checkWith(isLabelValue, value, child(p, 'value'), errs);
      let effect: string | undefined;
      if (taint.effect === undefined || taint.effect === null || taint.effect === '') errs.push(required(child(p, 'effect')));
      else effect = readEnum(taint.effect, child(p, 'effect'), errs, taintEffects);
      // One taint per key and effect: a second would be ambiguous.
      const id = `${k}:${effect}`;
      if (k && effect && seen.has(id)) errs.push(duplicate(p, `${k}:${effect}`));
      seen.add(id);
    });
  }
  const status = readObj(obj.status, 'status', errs);
  if (status) {
    readResourceList(status.capacity, 'status.capacity', errs, () => undefined);
    readResourceList(status.allocatable, 'status.allocatable', errs, () => undefined);
  }
}

export function validateEvent(obj: Obj, errs: FieldError[]): void {
  if (obj.involvedObject === undefined || obj.involvedObject === null) {
    errs.push(required('involvedObject'));
  } else {
    const ref = readObj(obj.involvedObject, 'involvedObject', errs);
    const refNamespace = ref ? readString(ref.namespace, 'involvedObject.namespace', errs) : undefined;
    const meta = obj.metadata as Obj | undefined;
    const namespace = typeof meta?.namespace === 'string' ? meta.namespace : undefined;
    if (refNamespace && namespace && refNamespace !== namespace) {
      errs.push(invalid('involvedObject.namespace', refNamespace, 'does not match event.namespace'));
    }
  }
  readEnum(obj.type, 'type', errs, ['Normal', 'Warning']);
  for (const f of ['reason', 'message', 'firstTimestamp', 'lastTimestamp']) readString(obj[f], f, errs);
}

// ---- policy ----------------------------------------------------------------------------------

const standardQuotaResources = new Set([
  'pods', 'services', 'replicationcontrollers', 'resourcequotas', 'secrets', 'configmaps', 'persistentvolumeclaims',
  'services.nodeports', 'services.loadbalancers',
  'cpu', 'memory', 'ephemeral-storage',
  'requests.cpu', 'requests.memory', 'requests.storage', 'requests.ephemeral-storage',
  'limits.cpu', 'limits.memory', 'limits.ephemeral-storage',
]);
const countedQuotaResources = new Set([
  'pods', 'services', 'replicationcontrollers', 'resourcequotas', 'secrets', 'configmaps', 'persistentvolumeclaims',
  'services.nodeports', 'services.loadbalancers',
]);

function checkQuotaResourceName(name: string): string | undefined {
  if (name.includes('/')) return undefined;
  if (standardQuotaResources.has(name) || /^(requests\.)?hugepages-/.test(name)) return undefined;
  return 'must be a standard resource for quota (pods, cpu, memory, requests.cpu, limits.memory, count/<resource>.<group>, ...)';
}

const quotaScopes = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort', 'PriorityClass', 'CrossNamespacePodAffinity'];

export function validateResourceQuota(obj: Obj, errs: FieldError[]): void {
  const spec = readObj(obj.spec, 'spec', errs);
  if (!spec) return;
  readResourceList(spec.hard, 'spec.hard', errs, checkQuotaResourceName, (name) => countedQuotaResources.has(name) || !isNativeResource(name));
  readList(spec.scopes, 'spec.scopes', errs)?.forEach((s, i) => readEnum(s, index('spec.scopes', i), errs, quotaScopes));
  if (spec.scopeSelector !== undefined && spec.scopeSelector !== null) {
    const selector = readObj(spec.scopeSelector, 'spec.scopeSelector', errs);
    const path = 'spec.scopeSelector.matchExpressions';
    if (selector) readList(selector.matchExpressions, path, errs)?.forEach((r, i) => validateScopeRequirement(r, index(path, i), errs));
  }
}

/** Only PriorityClass takes an operator other than Exists (with class names as values). */
const existsOnlyScopes = new Set(['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort', 'CrossNamespacePodAffinity']);

function validateScopeRequirement(v: unknown, path: string, errs: FieldError[]): void {
  const r = readObj(v, path, errs);
  if (!r) return;
  const scope = readEnum(r.scopeName, child(path, 'scopeName'), errs, quotaScopes);
  const operator = readEnum(r.operator, child(path, 'operator'), errs, ['In', 'NotIn', 'Exists', 'DoesNotExist']);
  const values = r.values === undefined || r.values === null ? [] : readStringList(r.values, child(path, 'values'), errs) ?? [];
  if (!operator) return;
  if ((operator === 'In' || operator === 'NotIn') && values.length === 0) errs.push(required(child(path, 'values'), 'must be at least one value when `operator` is \'In\' or \'NotIn\''));
  if ((operator === 'Exists' || operator === 'DoesNotExist') && values.length > 0) errs.push(invalid(child(path, 'values'), values, 'must be no value when `operator` is \'Exists\' or \'DoesNotExist\''));
  if (scope && existsOnlyScopes.has(scope) && operator !== 'Exists') errs.push(invalid(child(path, 'operator'), operator, `must be 'Exists' when scope is ${scope}`));
}

const limitTypes = ['Container', 'Pod', 'PersistentVolumeClaim'];

export function validateLimitRange(obj: Obj, errs: FieldError[]): void {
  if (obj.spec === undefined || obj.spec === null) {
    errs.push(required('spec.limits'));
    return;
  }
  const spec = readObj(obj.spec, 'spec', errs);
  if (!spec) return;
  readList(spec.limits, 'spec.limits', errs)?.forEach((item, i) => validateLimitRangeItem(item, index('spec.limits', i), errs));
}

function validateLimitRangeItem(v: unknown, path: string, errs: FieldError[]): void {
  const item = readObj(v, path, errs);
  if (!item) return;
  let type: string | undefined;
  if (item.type === undefined || item.type === null || item.type === '') errs.push(required(child(path, 'type')));
  else type = readEnum(item.type, child(path, 'type'), errs, limitTypes);
  const checkName =
    type === 'PersistentVolumeClaim'
      ? (name: string) => (name === 'storage' ? undefined : 'must be storage for PersistentVolumeClaim limits')
      : checkContainerResourceName;
  const lists: Record<string, Map<string, QuantityValue>> = {};
  for (const f of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) {
    lists[f] = readResourceList(item[f], child(path, f), errs, checkName);
  }
  if (type === 'Pod') {
    for (const f of ['default', 'defaultRequest']) {
      if (item[f] !== undefined && item[f] !== null) errs.push(forbidden(child(path, f), "may not be specified when `type` is 'Pod'"));
    }
  }
  const names = new Set(Object.values(lists).flatMap((m) => [...m.keys()]));
  for (const name of names) {
    const min = lists.min.get(name);
    const max = lists.max.get(name);
    const def = lists.default.get(name);
    const defReq = lists.defaultRequest.get(name);
    const ratio = lists.maxLimitRequestRatio.get(name);
    const at = (f: string) => key(child(path, f), name);
    if (min && max && min.value > max.value) errs.push(invalid(at('min'), min.text, `min value ${min.text} is greater than max value ${max.text}`));
    if (defReq && min && min.value > defReq.value) {
      errs.push(invalid(at('defaultRequest'), defReq.text, `min value ${min.text} is greater than default request value ${defReq.text}`));
    }
    if (defReq && max && defReq.value > max.value) {
      errs.push(invalid(at('defaultRequest'), defReq.text, `default request value ${defReq.text} is greater than max value ${max.text}`));
    }
    if (defReq && def && defReq.value > def.value) {
      errs.push(invalid(at('defaultRequest'), defReq.text, `default request value ${defReq.text} is greater than default limit value ${def.text}`));
    }
    if (def && min && min.value > def.value) errs.push(invalid(at('default'), min.text, `min value ${min.text} is greater than default value ${def.text}`));
    if (def && max && def.value > max.value) errs.push(invalid(at('default'), max.text, `default value ${def.text} is greater than max value ${max.text}`));
    if (ratio) {
      if (ratio.value < 1) errs.push(invalid(at('maxLimitRequestRatio'), ratio.text, `ratio ${ratio.text} is less than 1`));
      else if (min && max && min.value > 0 && ratio.value > max.value / min.value) {
        errs.push(invalid(at('maxLimitRequestRatio'), ratio.text, `ratio ${ratio.text} is greater than max/min = ${max.value / min.value}`));
      }
    }
  }
}
