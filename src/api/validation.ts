// Validation of API objects on create and update: every problem found is returned as a
// FieldError with its Kubernetes field path, and odd input (wrong types, missing sections) gives
// errors, never a throw. Run it after applyDefaults, as the API server does.

import type { FieldError } from './errors.js';
import { apiVersionOf, resourceByKind, resources } from './resources.js';
import type { KObject } from './types.js';
import { validateEvent, validateLimitRange, validateNamespace, validateNode, validateResourceQuota } from './validation/cluster.js';
import { child, invalid, isObj, type Obj, notSupported, readString, required } from './validation/field.js';
import { isDns1123Label, isDns1123Subdomain, type MetaRules, validateObjectMeta } from './validation/names.js';
import { validatePodSpec, validatePodSpecUpdate } from './validation/pod.js';
import {
  validateCronJobSpec,
  validateDaemonSetSpec,
  validateDeploymentSpec,
  validateJobSpec,
  validateJobSpecUpdate,
  validateReplicaSetSpec,
  validateReplicationControllerSpec,
  validateSelectorUpdate,
} from './validation/workloads.js';

export { cronScheduleProblem } from './validation/workloads.js';

/** Names a kind allows: namespaces are DNS labels; CronJob names leave room for the Job suffix. */
function nameRules(kind: string): Pick<MetaRules, 'nameCheck' | 'maxNameLength'> {
  if (kind === 'Namespace') return { nameCheck: isDns1123Label };
  if (kind === 'CronJob') return { nameCheck: isDns1123Subdomain, maxNameLength: 52 };
  return { nameCheck: isDns1123Subdomain };
}

const specValidators: Record<string, (obj: Obj, errs: FieldError[]) => void> = {
  Pod: (o, e) => validatePodSpec(o.spec, 'spec', e),
  Deployment: (o, e) => validateDeploymentSpec(o.spec, e),
  ReplicaSet: (o, e) => validateReplicaSetSpec(o.spec, e),
  DaemonSet: (o, e) => validateDaemonSetSpec(o.spec, e),
  ReplicationController: (o, e) => validateReplicationControllerSpec(o.spec, e),
  Job: (o, e) => validateJobSpec(o.spec, 'spec', e),
  CronJob: (o, e) => validateCronJobSpec(o.spec, e),
  Namespace: validateNamespace,
  Node: validateNode,
  Event: validateEvent,
  ResourceQuota: validateResourceQuota,
  LimitRange: validateLimitRange,
};

/**
 * Every field error of `obj`; `old` is the stored object when this is an update, which adds
 * the immutability rules. An empty list means valid.
 */
export function validateObject(obj: KObject, old?: KObject): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObj(obj)) return [invalid('<root>', obj ?? null, 'must be an object with apiVersion, kind, metadata and usually spec')];

  const kind = readString(obj.kind, 'kind', errs);
  const apiVersion = readString(obj.apiVersion, 'apiVersion', errs);
  if (obj.apiVersion === undefined || obj.apiVersion === null || apiVersion === '') errs.push(required('apiVersion'));
  if (obj.kind === undefined || obj.kind === null || kind === '') {
    errs.push(required('kind'));
    return errs;
  }
  if (kind === undefined) return errs;
  const info = resourceByKind(kind);
  if (!info) {
    errs.push(notSupported('kind', kind, resources.map((r) => r.kind)));
    return errs;
  }
  if (apiVersion && apiVersion !== apiVersionOf(info)) {
    errs.push(invalid('apiVersion', apiVersion, `no matches for kind "${kind}" in version "${apiVersion}"; use apiVersion: ${apiVersionOf(info)}`));
  }

  validateObjectMeta(obj.metadata, 'metadata', { ...nameRules(kind), namespaced: info.namespaced }, errs);
  specValidators[kind]?.(obj, errs);

  if (isObj(old)) validateUpdate(obj, old, kind, errs);
  return errs;
}

function validateUpdate(obj: Obj, old: Obj, kind: string, errs: FieldError[]): void {
  if (old.kind !== kind) errs.push(invalid('kind', kind, 'field is immutable'));
  const meta = isObj(obj.metadata) ? obj.metadata : {};
  const oldMeta = isObj(old.metadata) ? old.metadata : {};
  // An update that leaves out namespace or uid means "the stored one"; one that sets a different value is refused.
  for (const f of ['name', 'namespace', 'uid']) {
    const value = meta[f];
    if (value === undefined || value === null || value === '') continue;
    if (value !== oldMeta[f]) errs.push(invalid(child('metadata', f), value, 'field is immutable'));
  }
  switch (kind) {
    case 'Pod':
      validatePodSpecUpdate(obj.spec, old.spec, 'spec', errs);
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'DaemonSet':
      validateSelectorUpdate(obj.spec, old.spec, 'spec', errs);
      break;
    case 'Job':
      validateJobSpecUpdate(obj.spec, old.spec, 'spec', errs);
      break;
  }
}
