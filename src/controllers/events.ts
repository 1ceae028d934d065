import { createHash } from 'node:crypto';
import { isApiError } from '../api/errors.js';
import type { Event, KObject } from '../api/types.js';
import type { Store } from '../store/store.js';

// Events the controllers record about the objects they manage, aggregated as Kubernetes' event
// correlator does: a repeat of the same thing grows one Event's count and lastTimestamp instead
// of adding another object.

export interface ControllerEvent {
  /** The object the event is about (`involvedObject`). */
  about: KObject;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** `source.component`, e.g. `replicaset-controller`. */
  component: string;
  /**
   * What makes two events the same; default: the message. Messages that differ only in a
   * generated name (each failed create names a new pod) share a key, and the stored event then
   * reads as Kubernetes' aggregator words it: `(combined from similar events): <latest>`.
   */
  similarity?: string;
}

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export const combinedPrefix = '(combined from similar events): ';

/** The event's object name: stable for one (object, type, reason, similarity), so repeats find it. */
export function controllerEventName(ev: ControllerEvent): string {
  const h = createHash('sha256')
    .update([ev.about.metadata.uid ?? '', ev.type, ev.reason, ev.similarity ?? ev.message].join('\0'))
    .digest('hex')
    .slice(0, 16);
  return `${ev.about.metadata.name}.${h}`;
}

export async function recordControllerEvent(store: Store, ev: ControllerEvent, now = Date.now()): Promise<Event> {
  const namespace = ev.about.metadata.namespace || 'default';
  const name = controllerEventName(ev);
  const ts = rfc3339(now);
  try {
    return (await store.guaranteedUpdate({ resource: 'events', namespace, name }, (obj) => {
      const e = obj as Event;
      const message = e.message === ev.message ? ev.message : `${combinedPrefix}${ev.message}`;
      return { ...e, message, count: (e.count ?? 1) + 1, lastTimestamp: ts > (e.lastTimestamp ?? '') ? ts : e.lastTimestamp };
    })) as Event;
  } catch (e) {
    if (!isApiError(e, 'NotFound')) throw e;
  }
  const { apiVersion, kind, metadata } = ev.about;
  const event: Event = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace },
    involvedObject: { apiVersion, kind, namespace: metadata.namespace, name: metadata.name, uid: metadata.uid, resourceVersion: metadata.resourceVersion },
    reason: ev.reason,
    message: ev.message,
    source: { component: ev.component },
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: 1,
    type: ev.type,
    reportingComponent: ev.component,
  };
  try {
    return (await store.create('events', event as KObject)) as Event;
  } catch (e) {
    // Recorded at the same moment by another attempt: count this one on it.
    if (isApiError(e, 'AlreadyExists')) return recordControllerEvent(store, ev, now);
    throw e;
  }
}
