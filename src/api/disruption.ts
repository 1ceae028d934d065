import type { KObject, Pod, PodCondition } from './types.js';

// The DisruptionTarget pod condition (Kubernetes 1.26+): set on a pod just before something other
// than its own controller deletes it, so a Job's pod failure policy, a PodDisruptionBudget
// reader or a user can tell an eviction from a crash.

export const disruptionTargetType = 'DisruptionTarget';

/** Reasons Kubernetes uses, by who disrupts the pod. */
export const disruptionReasons = {
  taintManager: { reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' },
  evictionApi: { reason: 'EvictionByEvictionAPI', message: 'Eviction API: evicting' },
} as const;

/**
 * The pod with DisruptionTarget True for `why`, as UpdatePodCondition does: the transition time
 * moves only when the status changes. Undefined when the pod already says exactly that.
 */
export function withDisruptionTarget(obj: KObject, why: { reason: string; message: string }, now: Date): KObject | undefined {
  const pod = obj as Pod;
  const conditions: PodCondition[] = pod.status?.conditions ?? [];
  const existing = conditions.find((c) => c.type === disruptionTargetType);
  if (existing?.status === 'True' && existing.reason === why.reason && existing.message === why.message) return undefined;
  const lastTransitionTime = existing?.status === 'True' && existing.lastTransitionTime ? existing.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const condition: PodCondition = { type: disruptionTargetType, status: 'True', reason: why.reason, message: why.message, lastTransitionTime };
  const next = existing ? conditions.map((c) => (c === existing ? condition : c)) : [...conditions, condition];
  return { ...pod, status: { ...(pod.status ?? {}), conditions: next } } as KObject;
}
