import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Msg, NatsConnection, Subscription } from 'nats';
import { isApiError } from '../api/errors.js';
import { isMirrorPod, podUidOnNode } from '../api/mirror-pods.js';
import type { Event, KObject, Pod, PodStatus } from '../api/types.js';
import { receive } from '../bus/codec.js';
import { codecs, type DesiredPod, type PodAssignment, type PodEvent, type PodStatusReport } from '../bus/messages.js';
import { nodeOfFromSubject, subjects } from '../bus/subjects.js';
import type { Logger } from '../log/logger.js';
import type { Store, Watch } from '../store/store.js';

// The control plane's side of running pods. Each node gets its whole desired pod list at first,
// periodically and when it asks (after a reconnect, or when it missed a message); in between,
// only the pods that changed (debounced), so a change costs the size of that pod, not of the
// node's whole list. A node never gets another node's pods. What nodes report back is checked
// against the pod's binding before it touches the store: status goes in as status only, events
// are aggregated as Kubernetes does, and a node's "terminated" for a pod being deleted removes
// the object.

export interface PodDispatchOptions {
  nc: NatsConnection;
  store: Store;
  log: Logger;
  /** Coalesces a burst of pod changes into one message per node. Default 50 ms. */
  debounceMs?: number;
  /** Whole list to every node. Default 30 s. */
  resendIntervalMs?: number;
  /** Wait before the one retry of events for a static pod whose mirror is not there yet. Default 2 s. */
  eventRetryMs?: number;
}

const podKey = (p: { metadata: { namespace?: string; name?: string } }) => `${p.metadata.namespace}/${p.metadata.name}`;

/** The parts of a pod its node reads. */
const forNode = ({ apiVersion, kind, metadata, spec, status }: Pod) => ({ apiVersion, kind, metadata, spec, status }) as unknown as DesiredPod;

/** Kubernetes timestamps have second precision. */
const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export class PodDispatch {
  /** node → pod key → pod. */
  private readonly byNode = new Map<string, Map<string, Pod>>();
  private readonly nodeOf = new Map<string, string>();
  /** node → pod key → the pod, or undefined once it left the node: what the next message carries. */
  private readonly changes = new Map<string, Map<string, Pod | undefined>>();
  /** node → revision of the last message sent to it, which changes build on. */
  private readonly sentRevision = new Map<string, number>();
  private readonly dirty = new Set<string>();
  private debounce: NodeJS.Timeout | undefined;
  private resendTimer: NodeJS.Timeout | undefined;
  private readonly retries = new Set<NodeJS.Timeout>();
  private watch: Watch | undefined;
  private subs: Subscription[] = [];
  private revision = 0;
  private closed = false;

  constructor(private readonly opts: PodDispatchOptions) {}

  async start(): Promise<void> {
    const { nc, store, log } = this.opts;
    const listed = await store.list('pods');
    for (const p of listed.items) this.track(p as Pod);
    this.revision = listed.revision;
    this.watch = store.watch('pods', { sinceRevision: listed.revision });
    void this.consume(this.watch);
    const on = (handler: (msg: Msg) => Promise<void>) => (err: Error | null, msg: Msg) => {
      if (err) return;
      handler(msg).catch((e) => log.error({ err: e, subject: msg.subject }, 'handling a node message failed'));
    };
    this.subs.push(
      nc.subscribe(subjects.fromAnyNode('podsync'), { callback: on(async (m) => this.onSyncRequest(m)) }),
      nc.subscribe(subjects.fromAnyNode('podstatus'), { callback: on((m) => this.onStatus(m)) }),
      nc.subscribe(subjects.fromAnyNode('events'), { callback: on((m) => this.onEvents(m)) }),
    );
    // Nodes that were running before this control plane started get their lists at once.
    for (const n of (await store.list('nodes')).items) this.dirty.add(n.metadata.name!);
    for (const n of this.byNode.keys()) this.dirty.add(n);
    this.flush();
    this.resendTimer = setInterval(() => void this.resendAll(), this.opts.resendIntervalMs ?? 30_000);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.debounce);
    clearInterval(this.resendTimer);
    for (const t of this.retries) clearTimeout(t);
    this.retries.clear();
    this.watch?.close();
    for (const s of this.subs.splice(0)) s.unsubscribe();
  }

  /** The pods bound to a node, as sent to it; mirror pods stay here, the node runs their static pods from its own files. */
  podsOf(nodeName: string): Pod[] {
    return [...(this.byNode.get(nodeName)?.values() ?? [])].filter((p) => !isMirrorPod(p));
  }

  private async consume(watch: Watch): Promise<void> {
    try {
      for await (const ev of watch) {
        this.revision = ev.revision;
        if (ev.type === 'DELETED') this.untrack(ev.object as Pod);
        else this.track(ev.object as Pod);
      }
    } catch (e) {
      if (!this.closed) this.opts.log.error({ err: e }, 'pod watch ended; restart the control plane');
    }
  }

  private track(pod: Pod): void {
    const key = podKey(pod);
    const before = this.nodeOf.get(key);
    const node = pod.spec?.nodeName;
    if (before && before !== node) this.untrack(pod);
    if (!node) return;
    let pods = this.byNode.get(node);
    if (!pods) this.byNode.set(node, (pods = new Map()));
    const old = pods.get(key);
    pods.set(key, pod);
    this.nodeOf.set(key, node);
    // A status written from the node's own report changes nothing the node needs. The store
    // shares unchanged parts between versions, so an untouched spec is the same object.
    if (!old || (old.spec !== pod.spec && !isDeepStrictEqual(old.spec, pod.spec)) || !isDeepStrictEqual(old.metadata, { ...pod.metadata, resourceVersion: old.metadata.resourceVersion })) {
      this.changed(node, key, pod);
    }
  }

  private untrack(pod: Pod): void {
    const key = podKey(pod);
    const node = this.nodeOf.get(key);
    if (!node) return;
    this.nodeOf.delete(key);
    this.byNode.get(node)?.delete(key);
    this.changed(node, key, undefined);
  }

  private changed(node: string, key: string, pod: Pod | undefined): void {
    // Mirror pods never go to their node: it runs their static pods from its own files.
    if (pod && isMirrorPod(pod)) return;
    let pending = this.changes.get(node);
    if (!pending) this.changes.set(node, (pending = new Map()));
    pending.set(key, pod);
    this.dirty.add(node);
    this.debounce ??= setTimeout(() => this.flush(), this.opts.debounceMs ?? 50);
  }

  private flush(): void {
    this.debounce = undefined;
    for (const node of [...this.dirty]) this.send(node, false);
    this.dirty.clear();
  }

  /** Sends the node its changes when it holds the list they build on, else its whole list. */
  private send(nodeName: string, whole: boolean): void {
    if (this.closed || this.opts.nc.isClosed()) return;
    const pending = this.changes.get(nodeName);
    this.changes.delete(nodeName);
    const since = this.sentRevision.get(nodeName);
    const revision = this.revision;
    let message: PodAssignment;
    if (!whole && pending && since !== undefined && pending.size < (this.byNode.get(nodeName)?.size ?? 0)) {
      const changed: Pod[] = [];
      const removed: { namespace: string; name: string }[] = [];
      for (const [key, pod] of pending) {
        if (pod) changed.push(pod);
        else {
          const [namespace, name] = key.split('/');
          removed.push({ namespace, name });
        }
      }
      message = { v: 1, nodeName, revision, since, changed: changed.map(forNode), removed };
    } else {
      message = { v: 1, nodeName, revision, pods: this.podsOf(nodeName).map(forNode) };
    }
    try {
      this.opts.nc.publish(subjects.toNode(nodeName, 'pods'), codecs.podAssignment.encode(message));
      this.sentRevision.set(nodeName, revision);
    } catch (e) {
      this.opts.log.error({ err: e, node: nodeName }, 'sending a node its pods failed');
    }
  }

  private async resendAll(): Promise<void> {
    const nodes = new Set([...this.byNode.keys(), ...(await this.opts.store.list('nodes', { frozen: true })).items.map((n) => n.metadata.name!)]);
    for (const n of nodes) this.send(n, true);
  }

  private async onSyncRequest(msg: Msg): Promise<void> {
    const node = nodeOfFromSubject(msg.subject);
    const req = receive(codecs.podSyncRequest, msg, this.opts.log);
    if (!node || !req) return;
    if (req.nodeName !== node) {
      this.opts.log.warn({ subject: msg.subject, claimed: req.nodeName }, 'dropped a pod sync request naming another node');
      return;
    }
    this.send(node, true);
  }

  private async onStatus(msg: Msg): Promise<void> {
    const node = nodeOfFromSubject(msg.subject);
    const report = receive(codecs.podStatusReport, msg, this.opts.log);
    if (!node || !report) return;
    if (report.nodeName !== node) {
      this.opts.log.warn({ subject: msg.subject, claimed: report.nodeName }, 'dropped a pod status naming another node');
      return;
    }
    await applyPodStatus(this.opts.store, node, report, this.opts.log);
  }

  private async onEvents(msg: Msg): Promise<void> {
    const node = nodeOfFromSubject(msg.subject);
    const batch = receive(codecs.podEvents, msg, this.opts.log);
    if (!node || !batch) return;
    const later = await this.recordEvents(node, batch.events);
    // A static pod's first events can come before its mirror pod exists (the same connect sends
    // both): those get one more try once the mirror has had time to be created.
    if (later.length) {
      const t = setTimeout(() => {
        this.retries.delete(t);
        this.recordEvents(node, later, true).catch((e) => this.opts.log.error({ err: e, node }, 'recording pod events failed'));
      }, this.opts.eventRetryMs ?? 2000);
      this.retries.add(t);
    }
  }

  /** Records each event on its pod; returns those for a static pod whose mirror is not there yet. */
  private async recordEvents(node: string, events: PodEvent[], lastTry = false): Promise<PodEvent[]> {
    const later: PodEvent[] = [];
    for (const ev of events) {
      const pod = (await this.opts.store.get({ resource: 'pods', namespace: ev.namespace, name: ev.name }, { frozen: true })) as Pod | undefined;
      if (!pod || podUidOnNode(pod) !== ev.uid || pod.spec.nodeName !== node) {
        if (!lastTry && !pod && ev.name.endsWith(`-${node}`)) later.push(ev);
        else this.opts.log.warn({ node, pod: `${ev.namespace}/${ev.name}`, reason: ev.reason }, 'dropped an event for a pod not bound to the sending node');
        continue;
      }
      // Events name the API object: a mirror pod's own UID, not its static pod's.
      await recordPodEvent(this.opts.store, node, { ...ev, uid: pod.metadata.uid! }).catch((e) => this.opts.log.error({ err: e, reason: ev.reason }, 'recording a pod event failed'));
    }
    return later;
  }
}

/**
 * Writes a node's report as the pod's status, only when the pod is bound to that node and has
 * the reported uid. A terminated report for a pod being deleted removes the object.
 */
export async function applyPodStatus(store: Store, node: string, report: PodStatusReport, log: Logger): Promise<'written' | 'unchanged' | 'deleted' | 'dropped'> {
  const key = { resource: 'pods', namespace: report.namespace, name: report.name };
  const current = (await store.get(key, { frozen: true })) as Pod | undefined;
  // A mirror pod's node reports it under the static pod's UID.
  if (!current || podUidOnNode(current) !== report.uid || current.spec.nodeName !== node) {
    log.warn({ node, pod: `${report.namespace}/${report.name}`, uid: report.uid }, 'dropped a pod status for a pod not bound to the sending node');
    return 'dropped';
  }
  if (report.terminated && current.metadata.deletionTimestamp) {
    try {
      await store.delete(key, { expectedResourceVersion: current.metadata.resourceVersion });
      return 'deleted';
    } catch (e) {
      if (!isApiError(e, 'Conflict') && !isApiError(e, 'NotFound')) throw e;
      // Changed meanwhile: the node reports again on its next resync.
      return 'dropped';
    }
  }
  let wrote = false;
  try {
    await store.guaranteedUpdate(key, (obj) => {
      const pod = obj as Pod;
      if (podUidOnNode(pod) !== report.uid || pod.spec.nodeName !== node) return undefined;
      const status = mergeStatus(pod.status, report.status as PodStatus);
      if (isDeepStrictEqual(status, pod.status)) return undefined;
      wrote = true;
      return { ...pod, status };
    });
  } catch (e) {
    if (isApiError(e, 'NotFound')) return 'dropped';
    throw e;
  }
  return wrote ? 'written' : 'unchanged';
}

/** The node owns everything it reports; the control plane's own conditions (PodScheduled) stay. */
function mergeStatus(current: PodStatus | undefined, reported: PodStatus): PodStatus {
  const reportedTypes = new Set((reported.conditions ?? []).map((c) => c.type));
  const kept = (current?.conditions ?? []).filter((c) => !reportedTypes.has(c.type));
  const conditions = [...(reported.conditions ?? []), ...kept];
  const out: PodStatus = { ...reported, conditions };
  if (current?.qosClass && !out.qosClass) out.qosClass = current.qosClass;
  if (current?.startTime && out.startTime && current.startTime < out.startTime) out.startTime = current.startTime;
  return out;
}

/** Events about the same thing with the same reason and message share one object: count and lastTimestamp grow. */
export function eventName(ev: PodEvent): string {
  const h = createHash('sha256').update([ev.uid, ev.fieldPath ?? '', ev.reason, ev.message].join('\0')).digest('hex').slice(0, 16);
  return `${ev.name}.${h}`;
}

export async function recordPodEvent(store: Store, node: string, ev: PodEvent): Promise<Event> {
  const name = eventName(ev);
  const key = { resource: 'events', namespace: ev.namespace, name };
  const ts = ev.timestamp.replace(/\.\d+Z$/, 'Z');
  try {
    return (await store.guaranteedUpdate(key, (obj) => {
      const e = obj as Event;
      return { ...e, count: (e.count ?? 1) + 1, lastTimestamp: ts > (e.lastTimestamp ?? '') ? ts : e.lastTimestamp };
    })) as Event;
  } catch (e) {
    if (!isApiError(e, 'NotFound')) throw e;
  }
  const event: Event = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: ev.namespace },
    involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: ev.namespace, name: ev.name, uid: ev.uid, ...(ev.fieldPath ? { fieldPath: ev.fieldPath } : {}) },
    reason: ev.reason,
    message: ev.message,
    source: { component: 'kubelet', host: node },
    firstTimestamp: ts,
    lastTimestamp: ts,
    count: 1,
    type: ev.type,
    reportingComponent: 'kubelet',
    reportingInstance: node,
  };
  try {
    return (await store.create('events', event as KObject)) as Event;
  } catch (e) {
    // Another report created it first: count this one on it.
    if (isApiError(e, 'AlreadyExists')) return recordPodEvent(store, node, ev);
    throw e;
  }
}

export interface PodDeletion {
  /** Seconds to wait between SIGTERM and SIGKILL; 0 with force removes the object at once. */
  gracePeriodSeconds?: number;
}

/**
 * What DELETE of a pod does. A pod not bound to a node, or deleted with grace 0, is removed at
 * once; a bound pod gets deletionTimestamp and deletionGracePeriodSeconds, and goes when its node
 * reports its containers stopped. A second delete may shorten the grace period, never lengthen it.
 */
export async function requestPodDeletion(store: Store, key: { namespace: string; name: string }, opts: PodDeletion = {}, now: () => Date = () => new Date()): Promise<{ object: KObject; removed: boolean }> {
  const k = { resource: 'pods', ...key };
  const pod = (await store.get(k)) as Pod | undefined;
  if (!pod) {
    // Let the store produce its NotFound.
    return { object: await store.delete(k), removed: true };
  }
  const grace = opts.gracePeriodSeconds ?? pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
  if (!pod.spec.nodeName || grace === 0) return { object: await store.delete(k), removed: true };
  const updated = await store.guaranteedUpdate(k, (obj) => {
    const p = obj as Pod;
    const existing = p.metadata.deletionGracePeriodSeconds;
    if (p.metadata.deletionTimestamp && existing !== undefined && existing <= grace) return undefined;
    const at = new Date(now().getTime() + grace * 1000);
    return { ...p, metadata: { ...p.metadata, deletionTimestamp: p.metadata.deletionTimestamp && existing !== undefined && existing <= grace ? p.metadata.deletionTimestamp : rfc3339(at), deletionGracePeriodSeconds: grace } };
  });
  return { object: updated, removed: false };
}

export async function startPodDispatch(opts: PodDispatchOptions): Promise<PodDispatch> {
  const d = new PodDispatch(opts);
  await d.start();
  return d;
}
