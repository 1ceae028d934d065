import { randomInt } from 'node:crypto';
import { applyDefaults } from '../api/defaults.js';
import { errors, isApiError } from '../api/errors.js';
import type { KObject, OwnerReference, Pod, PodTemplateSpec } from '../api/types.js';
import { validateObject } from '../api/validation.js';
import type { Store } from '../store/store.js';

// Pod helpers shared by the controllers, which write to the store directly and so do for
// themselves what the API server does on create and delete.

export const controllerRefOf = (obj: KObject): OwnerReference | undefined => obj.metadata.ownerReferences?.find((r) => r.controller);

/** Informer index: objects by their controller's uid; those without a controller by `orphansIn(namespace)`. */
export const byController = { name: 'controller', fn: (obj: KObject): string[] => [controllerRefOf(obj)?.uid ?? orphansIn(obj.metadata.namespace ?? '')] };

export function orphansIn(namespace: string): string {
  return `orphan:${namespace}`;
}

/** A pod that counts toward replicas: not being deleted and not finished. */
export const isActivePod = (p: Pod): boolean => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';

export const isPodReady = (p: Pod): boolean => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Ready for at least minReadySeconds at `now`. */
export function isPodAvailable(p: Pod, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(p)) return false;
  if (!minReadySeconds) return true;
  const since = p.status?.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime;
  return !!since && Date.parse(since) + minReadySeconds * 1000 <= now;
}

const suffixAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
const nameSuffix = () => Array.from({ length: 5 }, () => suffixAlphabet[randomInt(suffixAlphabet.length)]).join('');

/**
 * Called on every pod a controller creates, after defaulting: the control plane runs its
 * admission here (default tolerations, LimitRange, ResourceQuota) and sets qosClass, as for a pod
 * created through the API. A refusal throws; the returned function is called once the pod is
 * stored or has failed.
 */
export type PodAdmission = (pod: KObject) => Promise<(() => void) | void>;

/** The same for a Deployment's ReplicaSets, which quotas (`count/replicasets.apps`) also bind. */
export type ReplicaSetAdmission = (rs: KObject) => Promise<(() => void) | void>;

/** Builds and stores a pod from a template as the API server would create it from generateName. */
export async function createPodFromTemplate(store: Store, template: PodTemplateSpec, namespace: string, owner: OwnerReference, admit?: PodAdmission): Promise<Pod> {
  const generateName = `${owner.name}-`;
  for (let attempt = 0; ; attempt++) {
    const pod: KObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        // Kubernetes keeps generated names within 63 characters: the prefix is cut to 58.
        name: `${generateName.slice(0, 58)}${nameSuffix()}`,
        generateName,
        namespace,
        generation: 1,
        labels: { ...(template.metadata?.labels ?? {}) },
        ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
        ownerReferences: [{ ...owner, controller: true, blockOwnerDeletion: true }],
      },
      spec: structuredClone(template.spec),
      status: { phase: 'Pending' },
    };
    applyDefaults(pod);
    const errs = validateObject(pod);
    if (errs.length) throw errors.invalid('Pod', pod.metadata.name!, errs);
    const release = await admit?.(pod);
    try {
      return (await store.create('pods', pod)) as Pod;
    } catch (e) {
      if (!(isApiError(e, 'AlreadyExists') && attempt < 5)) throw e;
    } finally {
      release?.();
    }
  }
}

/**
 * Deletes a pod as DELETE through the API does: an unbound pod goes at once; a bound one gets
 * deletionTimestamp so its node stops the containers first. Already gone is success.
 */
export async function deletePod(store: Store, namespace: string, name: string): Promise<void> {
  const key = { resource: 'pods', namespace, name };
  try {
    const pod = (await store.get(key)) as Pod | undefined;
    if (!pod) return;
    const grace = pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    if (!pod.spec.nodeName || grace === 0) {
      await store.delete(key);
      return;
    }
    await store.guaranteedUpdate(key, (obj) => {
      if (obj.metadata.deletionTimestamp) return undefined;
      const at = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      return { ...obj, metadata: { ...obj.metadata, deletionTimestamp: at, deletionGracePeriodSeconds: grace } };
    });
  } catch (e) {
    if (!isApiError(e, 'NotFound')) throw e;
  }
}
