import { isDeepStrictEqual } from 'node:util';
import type { NatsConnection } from 'nats';
import type { Pod, PodStatus } from '../../api/types.js';
import { codecs, type PodEvent } from '../../bus/messages.js';
import { subjects } from '../../bus/subjects.js';
import type { Logger } from '../../log/logger.js';

// The kubelet status manager's job: the latest status per pod, sent only when it changed, a
// newer one replacing an unsent older one. Sending waits for a connection; a resync sends
// everything again. Events go out in small batches.

export type StatusListener = (pod: Pod, status: PodStatus, terminated: boolean) => void;

interface Entry {
  pod: Pod;
  status: PodStatus;
  terminated: boolean;
  sent: boolean;
}

export class PodReporter {
  private nc: NatsConnection | undefined;
  private readonly statuses = new Map<string, Entry>();
  private events: PodEvent[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly listeners: StatusListener[] = [];

  constructor(
    private readonly nodeName: string,
    private readonly log: Logger,
  ) {}

  connect(nc: NatsConnection): void {
    this.nc = nc;
    this.resendAll();
  }

  onStatus(l: StatusListener): void {
    this.listeners.push(l);
  }

  /** Records the pod's status; returns whether it differs from the last one. */
  setStatus(pod: Pod, status: PodStatus, terminated = false): boolean {
    const uid = pod.metadata.uid!;
    const prev = this.statuses.get(uid);
    if (prev && prev.terminated === terminated && isDeepStrictEqual(prev.status, status)) return false;
    this.statuses.set(uid, { pod, status, terminated, sent: false });
    for (const l of this.listeners) l(pod, status, terminated);
    this.schedule();
    return true;
  }

  lastStatus(uid: string): PodStatus | undefined {
    return this.statuses.get(uid)?.status;
  }

  forget(uid: string): void {
    const e = this.statuses.get(uid);
    if (e?.sent || !e?.terminated) this.statuses.delete(uid);
  }

  event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void {
    if (this.events.length >= 1000) this.events.shift();
    this.events.push({
      namespace: pod.metadata.namespace!,
      name: pod.metadata.name!,
      uid: pod.metadata.uid!,
      ...(fieldPath ? { fieldPath } : {}),
      type,
      reason,
      message: message.slice(0, 4096),
      timestamp: new Date().toISOString(),
    });
    this.schedule();
  }

  resendAll(): void {
    for (const e of this.statuses.values()) e.sent = false;
    this.schedule();
  }

  close(): void {
    clearTimeout(this.flushTimer);
    this.flush();
  }

  private schedule(): void {
    this.flushTimer ??= setTimeout(() => this.flush(), 20);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    try {
      for (const [uid, e] of this.statuses) {
        if (e.sent) continue;
        const { namespace, name } = e.pod.metadata;
        nc.publish(
          subjects.fromNode(this.nodeName, 'podstatus'),
          codecs.podStatusReport.encode({ v: 1, nodeName: this.nodeName, namespace: namespace!, name: name!, uid, status: e.status as never, ...(e.terminated ? { terminated: true } : {}) }),
        );
        e.sent = true;
        if (e.terminated) this.statuses.delete(uid);
      }
      if (this.events.length) {
        const batch = this.events.splice(0, 500);
        nc.publish(subjects.fromNode(this.nodeName, 'events'), codecs.podEvents.encode({ v: 1, nodeName: this.nodeName, events: batch }));
        if (this.events.length) this.schedule();
      }
    } catch (e) {
      this.log.warn({ err: e }, 'sending pod status failed; it is sent again on the next change or resync');
    }
  }
}
