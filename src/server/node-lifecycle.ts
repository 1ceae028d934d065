import { isDeepStrictEqual } from 'node:util';
import type { Msg, NatsConnection, Subscription } from 'nats';
import { isApiError } from '../api/errors.js';
import type { KObject, Node, NodeCondition, Pod, Taint } from '../api/types.js';
import { receive } from '../bus/codec.js';
import { codecs, type NodeStatusReport } from '../bus/messages.js';
import { nodeOfFromSubject, subjects } from '../bus/subjects.js';
import type { Logger } from '../log/logger.js';
import type { Store, Watch } from '../store/store.js';
import type { NodeCredentials } from './node-credentials.js';

// Node status and liveness. Agents send a full status report when they (re)connect or change,
// and a lease renewal every few seconds. Renewals live in memory only, as Kubernetes keeps them
// in cheap Lease objects rather than the Node: the Node is written when something changes
// (Ready flips, status differs) and otherwise once a heartbeat-write interval, so a quiet
// cluster costs almost no store writes. Freshness is judged by this process's monotonic clock,
// never by the node's, so clock skew on a Pi cannot make a node look alive or dead.

export interface NodeLifecycleOptions {
  nc: NatsConnection;
  store: Store;
  credentials: NodeCredentials;
  log: Logger;
  /** --node-monitor-grace-period: how long without a renewal before Ready turns Unknown. */
  gracePeriodMs: number;
  /** How often Ready.lastHeartbeatTime is written while nothing else changes. */
  heartbeatWriteIntervalMs?: number;
  /** Monotonic milliseconds. */
  now?: () => number;
}

const readyTrue = { status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' } as const;
const readyUnknown = { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' } as const;

export class NodeLifecycle {
  private readonly renewedAt = new Map<string, number>();
  private readonly heartbeatWrittenAt = new Map<string, number>();
  private subs: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  private nodeWatch: Watch | undefined;
  private readonly startedAt: number;
  private readonly now: () => number;
  private ticking = false;
  /** Nodes not Ready whose pods this process has already marked not Ready. */
  private readonly podsMarked = new Set<string>();

  constructor(private readonly opts: NodeLifecycleOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.startedAt = this.now();
  }

  async start(): Promise<void> {
    const { nc, log } = this.opts;
    this.subs.push(
      nc.subscribe(subjects.fromAnyNode('status'), { callback: (err, msg) => !err && void this.guard(msg, () => this.onStatus(msg)) }),
      nc.subscribe(subjects.fromAnyNode('lease'), { callback: (err, msg) => !err && void this.guard(msg, () => this.onLease(msg)) }),
    );
    await this.opts.credentials.removeOrphans();
    this.watchDeletions();
    // After a control-plane restart every node resends its status at once instead of waiting.
    await this.resyncAll('control plane started');
    void this.resyncAfterReconnects();
    const period = Math.max(200, Math.min(1000, this.opts.gracePeriodMs / 4));
    this.timer = setInterval(() => void this.tick().catch((e) => log.error({ err: e }, 'node monitor failed')), period);
  }

  close(): void {
    clearInterval(this.timer);
    this.nodeWatch?.close();
    for (const s of this.subs.splice(0)) s.unsubscribe();
  }

  /** Marks nodes whose lease has not been renewed within the grace period as Ready=Unknown. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const now = this.now();
      for (const obj of (await this.opts.store.list('nodes', { frozen: true })).items) {
        const name = obj.metadata.name!;
        const ready = readyCondition(obj as Node);
        if (ready?.status === 'True') this.podsMarked.delete(name);
        if (ready?.status === 'Unknown' || ready?.status === 'False') {
          // Restores the unreachable taint if it went missing (removed by hand, or set by an older version).
          if (withConditionTaints(obj as Node) !== obj) await this.updateNode(name, (n) => withConditionTaints(n));
          // Once per node and process, so a restart mid-way still marks every pod.
          if (!this.podsMarked.has(name)) await this.markPodsNotReady(name);
          if (ready.status === 'Unknown') continue;
        }
        const last = this.renewedAt.get(name) ?? this.startedAt;
        if (now - last <= this.opts.gracePeriodMs) continue;
        await this.updateNode(name, (node) => setReady(node, readyUnknown));
        this.opts.log.warn({ node: name, silentForMs: Math.round(now - last) }, 'node stopped renewing its lease; Ready is Unknown');
        await this.markPodsNotReady(name);
      }
    } finally {
      this.ticking = false;
    }
  }

  /**
   * Kubernetes' MarkPodsNotReady: a node that cannot vouch for its pods leaves them Ready=False,
   * so Services and rollouts stop counting them; the agent's next status report restores the truth.
   */
  private async markPodsNotReady(nodeName: string): Promise<void> {
    const { items } = await this.opts.store.list('pods', { filter: (p) => (p as Pod).spec?.nodeName === nodeName });
    let marked = 0;
    for (const p of items) {
      let changed = false;
      try {
        await this.opts.store.guaranteedUpdate({ resource: 'pods', namespace: p.metadata.namespace!, name: p.metadata.name! }, (cur) => {
          const pod = cur as Pod;
          const conditions = pod.status?.conditions ?? [];
          const ready = conditions.find((c) => c.type === 'Ready');
          changed = !(pod.spec.nodeName !== nodeName || !ready || ready.status === 'False');
          if (!changed) return undefined;
          const next = { ...ready, status: 'False' as const, lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
          return { ...pod, status: { ...pod.status, conditions: conditions.map((c) => (c === ready ? next : c)) } } as KObject;
        });
      } catch (e) {
        if (!isApiError(e, 'NotFound')) throw e;
      }
      if (changed) marked++;
    }
    this.podsMarked.add(nodeName);
    if (marked) this.opts.log.info({ node: nodeName, pods: marked }, 'marked the pods of a node that is not Ready as not Ready');
  }

  private async guard(msg: Msg, handle: () => Promise<void>): Promise<void> {
    try {
      await handle();
    } catch (e) {
      this.opts.log.error({ err: e, subject: msg.subject }, 'handling a node message failed');
    }
  }

  /** The node the subject proves (nats-server enforces it) if the payload claims the same node. */
  private sender(msg: Msg, claimed: string): string | undefined {
    const fromSubject = nodeOfFromSubject(msg.subject);
    if (fromSubject !== claimed) {
      this.opts.log.warn({ subject: msg.subject, claimed }, 'dropped a message whose node differs from its sender');
      return undefined;
    }
    return fromSubject;
  }

  private async onStatus(msg: Msg): Promise<void> {
    const report = receive(codecs.nodeStatusReport, msg, this.opts.log);
    if (!report) return;
    const name = this.sender(msg, report.nodeName);
    if (!name) return;
    this.renewedAt.set(name, this.now());
    const updated = await this.updateNode(name, (node) => setReady(applyReport(node, report), readyTrue));
    if (updated === 'missing') this.opts.log.warn({ node: name }, 'status from a node that has no Node object (deleted?); ignored');
  }

  private async onLease(msg: Msg): Promise<void> {
    const lease = receive(codecs.leaseRenewal, msg, this.opts.log);
    if (!lease) return;
    const name = this.sender(msg, lease.nodeName);
    if (!name) return;
    const now = this.now();
    this.renewedAt.set(name, now);
    const node = (await this.opts.store.get({ resource: 'nodes', namespace: '', name })) as Node | undefined;
    if (!node) return;
    if (!node.status?.nodeInfo) {
      // Renewals alone cannot make a node Ready: ask for the status first.
      this.requestResync(name, 'no status on record');
      return;
    }
    const stale = now - (this.heartbeatWrittenAt.get(name) ?? -Infinity) > (this.opts.heartbeatWriteIntervalMs ?? 60_000);
    if (readyCondition(node)?.status !== 'True' || stale) {
      await this.updateNode(name, (n) => setReady(n, readyTrue, true));
      this.opts.log.debug({ node: name }, 'heartbeat written');
    }
  }

  /** Applies `mutate` to the Node; writes only when the result differs. */
  private async updateNode(name: string, mutate: (n: Node) => Node): Promise<'written' | 'unchanged' | 'missing'> {
    const outcome = { written: false, ready: false };
    try {
      await this.opts.store.guaranteedUpdate({ resource: 'nodes', namespace: '', name }, (cur) => {
        const next = mutate(structuredClone(cur) as Node);
        outcome.written = !isDeepStrictEqual(next, cur);
        outcome.ready = readyCondition(next)?.status === 'True';
        return outcome.written ? (next as KObject) : undefined;
      });
    } catch (e) {
      if (isApiError(e, 'NotFound')) return 'missing';
      throw e;
    }
    if (outcome.written && outcome.ready) this.heartbeatWrittenAt.set(name, this.now());
    return outcome.written ? 'written' : 'unchanged';
  }

  private async resyncAll(reason: string): Promise<void> {
    for (const n of (await this.opts.store.list('nodes', { frozen: true })).items) this.requestResync(n.metadata.name!, reason);
  }

  /**
   * NATS delivers at most once: what nodes sent while this connection was down (pod statuses,
   * events) is lost, and nodes send a status again only when it changes. So after a reconnect
   * every node is asked to send everything again.
   */
  private async resyncAfterReconnects(): Promise<void> {
    for await (const st of this.opts.nc.status()) {
      if (st.type !== 'reconnect') continue;
      this.opts.log.info('reconnected to NATS; asking every node to resend its status and pods');
      await this.resyncAll('control plane reconnected').catch((e) => this.opts.log.error({ err: e }, 'asking nodes to resync failed'));
    }
  }

  private requestResync(name: string, reason: string): void {
    this.opts.nc.publish(subjects.toNode(name, 'resync'), codecs.resyncRequest.encode({ v: 1, reason }));
  }

  private watchDeletions(): void {
    const w = this.opts.store.watch('nodes');
    this.nodeWatch = w;
    void (async () => {
      for await (const ev of w) {
        if (ev.type !== 'DELETED') continue;
        this.renewedAt.delete(ev.object.metadata.name!);
        this.heartbeatWrittenAt.delete(ev.object.metadata.name!);
        await this.opts.credentials.removeOrphans().catch((e) => this.opts.log.error({ err: e }, 'revoking credentials of a deleted node failed'));
      }
    })();
  }
}

function readyCondition(node: Node): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}

/**
 * Sets Ready to `want`. The heartbeat time moves only with a transition or when `heartbeat` is
 * set, so re-applying the same state compares equal and writes nothing.
 */
function setReady(node: Node, want: { status: 'True' | 'Unknown'; reason: string; message: string }, heartbeat = false): Node {
  const now = new Date().toISOString();
  const conditions = node.status?.conditions ?? [];
  const cur = conditions.find((c) => c.type === 'Ready');
  const changed = cur?.status !== want.status;
  const next: NodeCondition = {
    type: 'Ready',
    ...want,
    // Unknown keeps the time of the last heartbeat actually received, as Kubernetes does.
    lastHeartbeatTime: want.status === 'True' && (changed || heartbeat) ? now : (cur?.lastHeartbeatTime ?? now),
    lastTransitionTime: changed ? now : (cur?.lastTransitionTime ?? now),
  };
  return withConditionTaints({ ...node, status: { ...node.status, conditions: [...conditions.filter((c) => c.type !== 'Ready'), next] } });
}

export const unreachableTaintKey = 'node.kubernetes.io/unreachable';
export const notReadyTaintKey = 'node.kubernetes.io/not-ready';

/**
 * The NoExecute taint Kubernetes' node lifecycle controller keeps in step with Ready: unreachable
 * while Ready is Unknown, not-ready while it is False, none while True. Pods' tolerations of it
 * (tolerationSeconds) decide how long they stay on a lost node. A taint already there keeps its
 * timeAdded, so re-applying the same state changes nothing; other taints are left alone.
 */
export function withConditionTaints(node: Node, now: () => Date = () => new Date()): Node {
  const status = readyCondition(node)?.status;
  const wantKey = status === 'Unknown' ? unreachableTaintKey : status === 'False' ? notReadyTaintKey : undefined;
  const isConditionTaint = (t: Taint) => t.effect === 'NoExecute' && (t.key === unreachableTaintKey || t.key === notReadyTaintKey);
  const current = node.spec?.taints ?? [];
  const existing = current.find((t) => isConditionTaint(t) && t.key === wantKey);
  const taints = current.filter((t) => !isConditionTaint(t) || t === existing);
  if (wantKey && !existing) taints.push({ key: wantKey, effect: 'NoExecute', timeAdded: now().toISOString().replace(/\.\d{3}Z$/, 'Z') });
  if (taints.length === current.length && taints.every((t, i) => t === current[i])) return node;
  const { taints: _old, ...spec } = node.spec ?? {};
  return { ...node, spec: taints.length ? { ...spec, taints } : spec };
}

/** Where Prometheus discovery finds a node's agent metrics: `HOST:PORT`. */
export const metricsEndpointAnnotation = 'skiff.io/metrics-endpoint';

function applyReport(node: Node, r: NodeStatusReport): Node {
  const { [metricsEndpointAnnotation]: _old, ...annotations } = node.metadata.annotations ?? {};
  const m = r.metricsEndpoint;
  if (m) annotations[metricsEndpointAnnotation] = `${m.host.includes(':') ? `[${m.host}]` : m.host}:${m.port}`;
  const { daemonEndpoints: _endpoints, ...status } = node.status ?? {};
  const { annotations: _annotations, ...metadata } = node.metadata;
  return {
    ...node,
    metadata: { ...metadata, labels: { ...node.metadata.labels, ...r.labels }, ...(Object.keys(annotations).length ? { annotations } : {}) },
    status: {
      ...status,
      addresses: r.addresses,
      capacity: r.capacity,
      allocatable: r.allocatable,
      nodeInfo: r.nodeInfo,
      // kubelet serves /metrics on its kubeletEndpoint; the agent's metrics port stands in for it.
      ...(m ? { daemonEndpoints: { kubeletEndpoint: { Port: m.port } } } : {}),
    },
  };
}
