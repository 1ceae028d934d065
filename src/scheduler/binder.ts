import { isApiError } from '../api/errors.js';
import type { Event, KObject, Pod, PodCondition } from '../api/types.js';
import type { Store } from '../store/store.js';

// The scheduler's writes: the binding, the Unschedulable condition and the events. They go
// straight to the store, in process with the control plane: binding is the server's own act,
// not a client request to validate.

export const schedulerComponent = 'default-scheduler';

export type BindOutcome =
  /** spec.nodeName written by this call. */
  | 'bound'
  /** Not written: the pod is bound already, being deleted, gone, or replaced by a newer pod of the same name. */
  | 'skipped';

let lastSecond = NaN;
let lastText = '';

/** RFC 3339 at seconds precision, as Kubernetes writes timestamps; formatted once per second, as every binding needs it. */
export function rfc3339(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastText = d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return lastText;
}

/**
 * Sets spec.nodeName and PodScheduled=True with a compare-and-swap on the resourceVersion the
 * decision was made on. On a conflict it re-reads and retries, but only while the pod is still
 * the same pod, unbound and not being deleted: a pod is never bound twice.
 */
export async function bindPod(store: Store, pod: Pod, nodeName: string, now: Date): Promise<BindOutcome> {
  try {
    await store.update('pods', bound(pod, nodeName, now) as KObject);
    return 'bound';
  } catch (e) {
    if (isApiError(e, 'NotFound')) return 'skipped';
    if (!isApiError(e, 'Conflict')) throw e;
  }
  return (await updateUnboundPod(store, pod, (current) => bound(current, nodeName, now))) ? 'bound' : 'skipped';
}

function bound(pod: Pod, nodeName: string, now: Date): Pod {
  const condition: PodCondition = { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339(now) };
  return {
    ...pod,
    spec: { ...pod.spec, nodeName },
    status: { ...pod.status, conditions: withCondition(pod.status?.conditions, condition) },
  };
}

/** The PodScheduled=False condition a pod that fits nowhere carries. */
export function unschedulableCondition(message: string, now: Date, previous?: PodCondition): PodCondition {
  const since = previous?.status === 'False' && previous.lastTransitionTime ? previous.lastTransitionTime : rfc3339(now);
  return { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: since };
}

export function scheduledCondition(pod: Pod): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
}

/** Whether the pod already says exactly this about why it is not scheduled. */
export function saysUnschedulable(pod: Pod, message: string): boolean {
  const c = scheduledCondition(pod);
  return c?.status === 'False' && c.reason === 'Unschedulable' && c.message === message;
}

/**
 * Writes PodScheduled=False, reason Unschedulable, with `message` — only if the pod does not say
 * so already and is still the same unbound pod. Returns whether it wrote.
 */
export async function markUnschedulable(store: Store, pod: Pod, message: string, now: Date): Promise<boolean> {
  return updateUnboundPod(store, pod, (current) => {
    if (saysUnschedulable(current, message)) return undefined;
    const condition = unschedulableCondition(message, now, scheduledCondition(current));
    return { ...current, status: { ...current.status, conditions: withCondition(current.status?.conditions, condition) } };
  });
}

/**
 * Applies `change` with retries on conflict, but only while the stored pod is still this pod
 * (same uid), unbound and not being deleted. Returns whether it wrote.
 */
async function updateUnboundPod(store: Store, pod: Pod, change: (current: Pod) => Pod | undefined): Promise<boolean> {
  let wrote = false;
  const key = { resource: 'pods', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '' };
  try {
    await store.guaranteedUpdate(key, (obj) => {
      const current = obj as Pod;
      wrote = false;
      if (current.metadata.uid !== pod.metadata.uid || current.spec?.nodeName || current.metadata.deletionTimestamp) return undefined;
      const next = change(current);
      wrote = next !== undefined;
      return next as KObject | undefined;
    });
  } catch (e) {
    if (isApiError(e, 'NotFound')) return false;
    throw e;
  }
  return wrote;
}

function withCondition(conditions: PodCondition[] | undefined, c: PodCondition): PodCondition[] {
  const list = conditions ?? [];
  const i = list.findIndex((x) => x.type === c.type);
  if (i < 0) return [...list, c];
  return list.map((x, j) => (j === i ? c : x));
}

let eventSeq = 0;

/** Kubernetes names events `<object>.<hex nanoseconds>`; a counter keeps names unique within a millisecond. */
function eventName(objectName: string, now: Date): string {
  eventSeq = (eventSeq + 1) % 1_000_000;
  const nanos = BigInt(now.getTime()) * 1_000_000n + BigInt(eventSeq);
  return `${objectName}.${nanos.toString(16)}`;
}

export function schedulerEvent(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, now: Date): Event {
  const ts = rfc3339(now);
  const { namespace, name, uid, resourceVersion } = pod.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: eventName(name ?? 'pod', now), namespace },
    involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace, name, uid, resourceVersion },
    reason,
    message,
    source: { component: schedulerComponent },
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: 1,
    type,
    reportingComponent: schedulerComponent,
  };
}

export async function recordEvent(store: Store, event: Event): Promise<void> {
  try {
    await store.create('events', event as KObject);
  } catch (e) {
    // Two events of one pod in the same nanosecond name: one is enough.
    if (!isApiError(e, 'AlreadyExists')) throw e;
  }
}

export function scheduledMessage(pod: Pod, nodeName: string): string {
  return `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`;
}
