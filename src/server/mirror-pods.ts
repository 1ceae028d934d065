import type { Msg, NatsConnection, Subscription } from 'nats';
import { formatFieldError, isApiError } from '../api/errors.js';
import { annotations, isMirrorPod } from '../api/mirror-pods.js';
import type { KObject, Node, Pod } from '../api/types.js';
import { validateObject } from '../api/validation.js';
import { receive } from '../bus/codec.js';
import { codecs } from '../bus/messages.js';
import { nodeOfFromSubject, subjects } from '../bus/subjects.js';
import type { Logger } from '../log/logger.js';
import { qosClassOf } from './handlers.js';
import type { Store, Watch } from '../store/store.js';

// Mirror pods: the API's read-only copies of the static pods a node runs from its own manifest
// files. Nodes talk only NATS, so the control plane writes the mirror objects on their behalf
// from each node's whole list (skiff.from.NODE.staticpods), checked first: a node may only
// mirror pods bound to itself and named after itself. The loop is level-triggered: every report
// and every deletion of a mirror pod reconciles that node's mirrors with its last list, so a
// mirror deleted with `ctl delete` comes back at once while its static pod keeps running.

export interface MirrorPodsOptions {
  nc: NatsConnection;
  store: Store;
  log: Logger;
}

const podKey = (p: KObject) => `${p.metadata.namespace}/${p.metadata.name}`;

/** Why a reported static pod may not be mirrored for `node`, or undefined when it may. */
export function mirrorRefusal(node: string, pod: Pod): string | undefined {
  if (pod.spec?.nodeName !== node) return `spec.nodeName is ${JSON.stringify(pod.spec?.nodeName ?? null)}: a node mirrors only pods bound to itself`;
  if (!pod.metadata.name?.endsWith(`-${node}`)) return `metadata.name must end with -${node}: static pods are named NAME-NODENAME`;
  if (pod.metadata.annotations?.[annotations.configSource] !== 'file') return `metadata.annotations[${annotations.configSource}] must be "file"`;
  if (pod.metadata.annotations?.[annotations.configMirror] !== undefined) return `metadata.annotations[${annotations.configMirror}] is the control plane's to set`;
  if (pod.metadata.ownerReferences?.length) return 'metadata.ownerReferences: a static pod has none; its mirror is owned by its Node';
  const errs = validateObject(pod as KObject);
  return errs.length ? `the Pod is invalid: ${errs.map(formatFieldError).join('; ')}` : undefined;
}

/** The mirror object for a static pod: owned by the node, carrying the static pod's UID. */
export function mirrorOf(pod: Pod, node: Node): Pod {
  const { uid, resourceVersion: _rv, creationTimestamp: _ct, ...meta } = pod.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...meta,
      annotations: { ...(meta.annotations ?? {}), [annotations.configMirror]: uid! },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.metadata.name!, uid: node.metadata.uid!, controller: true }],
    },
    spec: pod.spec,
    status: { phase: 'Pending', qosClass: qosClassOf(pod.spec) },
  } as Pod;
}

export class MirrorPods {
  /** node → the static pods it last reported, by namespace/name. */
  private readonly wanted = new Map<string, Map<string, Pod>>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private sub: Subscription | undefined;
  private watch: Watch | undefined;
  private closed = false;

  constructor(private readonly opts: MirrorPodsOptions) {}

  async start(): Promise<void> {
    this.sub = this.opts.nc.subscribe(subjects.fromAnyNode('staticpods'), {
      callback: (err, msg) => {
        if (!err) this.onReport(msg);
      },
    });
    this.watch = this.opts.store.watch('pods', { filter: (o) => isMirrorPod(o) });
    void this.consume(this.watch);
  }

  close(): void {
    this.closed = true;
    this.sub?.unsubscribe();
    this.watch?.close();
  }

  /** Resolves when no reconcile is running (tests). */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.all(this.running.values());
  }

  private onReport(msg: Msg): void {
    const node = nodeOfFromSubject(msg.subject);
    const report = receive(codecs.staticPodsReport, msg, this.opts.log);
    if (!node || !report) return;
    if (report.nodeName !== node) {
      this.opts.log.warn({ subject: msg.subject, claimed: report.nodeName }, 'dropped a static pod list naming another node');
      return;
    }
    const pods = new Map<string, Pod>();
    for (const p of report.pods as unknown as Pod[]) {
      const why = mirrorRefusal(node, p);
      if (why) {
        this.opts.log.warn({ node, pod: podKey(p as KObject), why }, 'refused to mirror a static pod');
        continue;
      }
      pods.set(podKey(p as KObject), p);
    }
    this.wanted.set(node, pods);
    this.reconcile(node);
  }

  private async consume(watch: Watch): Promise<void> {
    try {
      for await (const ev of watch) {
        const pod = ev.object as Pod;
        const node = pod.spec?.nodeName;
        if (node && this.wanted.has(node) && (ev.type === 'DELETED' || pod.metadata.deletionTimestamp)) this.reconcile(node);
      }
    } catch (e) {
      if (!this.closed) this.opts.log.error({ err: e }, 'mirror pod watch ended; restart the control plane');
    }
  }

  /** One reconcile per node at a time; a request meanwhile runs once more after it. */
  private reconcile(node: string): void {
    if (this.closed) return;
    if (this.running.has(node)) {
      this.again.add(node);
      return;
    }
    const run = this.sync(node)
      .catch((e) => this.opts.log.error({ err: e, node }, 'reconciling mirror pods failed; retried on the next report'))
      .finally(() => {
        this.running.delete(node);
        if (this.again.delete(node)) this.reconcile(node);
      });
    this.running.set(node, run);
  }

  private async sync(node: string): Promise<void> {
    const { store, log } = this.opts;
    const wanted = this.wanted.get(node) ?? new Map<string, Pod>();
    const existing = (await store.list('pods', { filter: (o) => isMirrorPod(o) && (o as Pod).spec?.nodeName === node })).items as Pod[];
    let created = false;
    for (const m of existing) {
      if (!wanted.has(podKey(m))) {
        await this.remove(m);
        log.info({ node, pod: podKey(m) }, 'removed the mirror of a static pod that no longer runs');
      }
    }
    if (!wanted.size) return;
    const nodeObj = (await store.get({ resource: 'nodes', namespace: '', name: node })) as Node | undefined;
    if (!nodeObj) return;
    for (const [key, pod] of wanted) {
      const current = (await store.get({ resource: 'pods', namespace: pod.metadata.namespace!, name: pod.metadata.name! })) as Pod | undefined;
      const uid = pod.metadata.uid!;
      if (current && !isMirrorPod(current)) {
        log.warn({ node, pod: key }, 'a pod that is not a mirror has the static pod\'s name; its mirror is not created');
        continue;
      }
      if (current && current.metadata.annotations?.[annotations.configMirror] === uid && !current.metadata.deletionTimestamp) continue;
      // Deleted by a user, or of an older manifest: replaced. The same static pod keeps its last status meanwhile.
      const keepStatus = current?.metadata.annotations?.[annotations.configMirror] === uid ? current.status : undefined;
      if (current) await this.remove(current);
      const mirror = mirrorOf(pod, nodeObj);
      if (keepStatus) mirror.status = keepStatus;
      try {
        await store.create('pods', mirror as KObject);
        created = true;
        log.info({ node, pod: key, staticPodUid: uid }, 'created the mirror of a static pod');
      } catch (e) {
        if (!isApiError(e, 'AlreadyExists')) throw e;
        this.again.add(node);
      }
    }
    // The node's status reports for a new mirror may have come before it existed: ask for them again.
    if (created && !this.opts.nc.isClosed()) this.opts.nc.publish(subjects.toNode(node, 'resync'), codecs.resyncRequest.encode({ v: 1, reason: 'mirror pods created' }));
  }

  private async remove(pod: Pod): Promise<void> {
    try {
      await this.opts.store.delete({ resource: 'pods', namespace: pod.metadata.namespace!, name: pod.metadata.name! }, { expectedResourceVersion: pod.metadata.resourceVersion });
    } catch (e) {
      if (!isApiError(e, 'NotFound') && !isApiError(e, 'Conflict')) throw e;
    }
  }
}

export async function startMirrorPods(opts: MirrorPodsOptions): Promise<MirrorPods> {
  const m = new MirrorPods(opts);
  await m.start();
  return m;
}
