import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { NatsConnection, Subscription } from 'nats';
import { isMirrorPod } from '../../api/mirror-pods.js';
import type { Pod } from '../../api/types.js';
import { receive } from '../../bus/codec.js';
import { codecs } from '../../bus/messages.js';
import { subjects } from '../../bus/subjects.js';
import type { CriRuntime } from '../../cri/runtime.js';
import { startTaskExec } from '../../cri/task-exec.js';
import type { DNSConfig } from '../../cri/types.js';
import type { Logger } from '../../log/logger.js';
import type { AgentContext, PodManager } from '../agent.js';
import type { ImageReceiver } from '../images.js';
import type { StaticPodSource } from '../static-pods.js';
import { AssignedPods } from './assigned-pods.js';
import { Backoff } from './backoff.js';
import { execInContainer } from './container-exec.js';
import { ExecSessions } from './exec-sessions.js';
import { readContainerLog } from './container-logs.js';
import { parseResolvConf } from './cri-config.js';
import { labels, managedSelector } from './labels.js';
import { loadDesiredPods, saveDesiredPods } from './local-state.js';
import { Prober, type ProbeResultListener } from './prober/prober.js';
import { PodReporter, type StatusListener } from './reporter.js';
import { PodWorker } from './worker.js';

// Runs the pods bound to this node on a CRI runtime. The desired list comes whole from the
// control plane and is kept on disk, so the node runs its pods with no control plane at all
// (after a restart too: containers already running are adopted, not restarted). A relist of
// CRI every half second (kubelet's PLEG) wakes the worker of any pod whose containers changed.

export interface CriPodManagerOptions {
  runtime: CriRuntime;
  /** The agent's data dir: pods/UID (logs, volumes) and state/pods.json live here. */
  dataDir: string;
  nodeName: string;
  hostIP?: string;
  log: Logger;
  /** Default /etc/resolv.conf. */
  resolvConfPath?: string;
  relistIntervalMs?: number;
  /** Per-pod resync when nothing changes. Default 10 s. */
  resyncIntervalMs?: number;
  backoff?: Backoff;
  /** containerID scheme; default `containerd`. */
  runtimeName?: string;
  /** containerd's socket and runc state, for `ctl exec -i/-it`; without them only ExecSync works. */
  containerd?: { address: string; runcRoot: string };
  /** Answers `ctl image load` and `ctl image ls`. */
  images?: ImageReceiver;
  /** The node's own manifests (static pods), run beside what the control plane assigns. */
  staticPods?: StaticPodSource;
  /** How often the static pod list is sent again, so lost mirror pods come back. Default 10 s. */
  staticReportIntervalMs?: number;
  /** Called once per pod when this agent first gets it (the start of its start-latency clock). */
  onPodSeen?: (pod: Pod) => void;
  /** Called with every probe attempt's result (the agent's prober_probe_total counts them). */
  onProbeResult?: ProbeResultListener;
}

export class CriPodManager implements PodManager {
  private readonly workers = new Map<string, PodWorker>();
  private desired = new Map<string, Pod>();
  private readonly assignedPods = new AssignedPods();
  /** The control plane's part of `desired` (what is kept on disk). */
  private assigned: Pod[] = [];
  private statics: Pod[] = [];
  private staticTimer: NodeJS.Timeout | undefined;
  /** Whether the desired list is known (from disk or the control plane), so orphans may be removed. */
  private authoritative = false;
  private readonly reporter: PodReporter;
  private readonly backoff: Backoff;
  private readonly prober: Prober;
  private readonly dns: DNSConfig;
  private relistTimer: NodeJS.Timeout | undefined;
  private fingerprints = new Map<string, string>();
  private sub: Subscription | undefined;
  private logSub: Subscription | undefined;
  private execSub: Subscription | undefined;
  private readonly execSessions: ExecSessions;
  private imageSub: Subscription | undefined;
  private nc: NatsConnection | undefined;
  private localStarted = false;
  private stopped = false;
  private relisting = false;
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly opts: CriPodManagerOptions) {
    this.reporter = new PodReporter(opts.nodeName, opts.log);
    this.backoff = opts.backoff ?? new Backoff();
    this.prober = new Prober({
      runtime: opts.runtime,
      log: opts.log,
      onChange: (uid) => this.workers.get(uid)?.trigger(),
      event: (pod, type, reason, message, fieldPath) => this.reporter.event(pod, type, reason, message, fieldPath),
      onProbeResult: opts.onProbeResult,
    });
    let resolv = '';
    try {
      resolv = readFileSync(opts.resolvConfPath ?? '/etc/resolv.conf', 'utf8');
    } catch {
      opts.log.warn({ path: opts.resolvConfPath ?? '/etc/resolv.conf' }, 'no resolv.conf: pods get no DNS servers');
    }
    this.dns = parseResolvConf(resolv);
    this.execSessions = new ExecSessions({ nodeName: opts.nodeName, runtime: opts.runtime, containerd: opts.containerd, startProcess: startTaskExec, log: opts.log });
  }

  /** Status changes as they are computed (tests and the agent's own metrics listen here). */
  onStatus(l: StatusListener): void {
    this.reporter.onStatus(l);
  }

  /** Runs the pods kept on disk, before (or without) any control plane. */
  async startLocal(): Promise<void> {
    if (this.localStarted) return;
    this.localStarted = true;
    const saved = await loadDesiredPods(this.opts.dataDir).catch((e) => {
      this.opts.log.error({ err: e }, 'the saved pod list is unreadable; waiting for the control plane');
      return undefined;
    });
    // Static pods are known before the first relist, so their running containers are adopted, not taken for orphans.
    if (this.opts.staticPods) this.statics = await this.opts.staticPods.start((pods) => this.setStaticPods(pods));
    this.apply(saved ?? [], saved !== undefined, false);
    await this.relist();
    this.relistTimer = setInterval(() => void this.relist(), this.opts.relistIntervalMs ?? 500);
  }

  async start(ctx: AgentContext): Promise<void> {
    await this.startLocal();
    this.nc = ctx.nc;
    this.sub = ctx.nc.subscribe(subjects.toNode(this.opts.nodeName, 'pods'), {
      callback: (err, msg) => {
        if (err) return;
        const a = receive(codecs.podAssignment, msg, this.opts.log);
        if (!a) return;
        const r = this.assignedPods.apply(a);
        if ('pods' in r) this.setDesired(r.pods as unknown as Pod[]);
        else if (r.ask) this.requestPods('a pod change did not follow the list this node holds');
      },
    });
    // `ctl logs`: the control plane asks, this node reads the CRI log file and replies.
    this.logSub = ctx.nc.subscribe(subjects.toNode(this.opts.nodeName, 'logs'), {
      callback: (err, msg) => {
        if (err || !msg.reply) return;
        const req = receive(codecs.podLogRequest, msg, this.opts.log);
        if (!req) return;
        readContainerLog(this.opts.dataDir, req)
          .then((reply) => msg.respond(codecs.podLogReply.encode(reply)))
          .catch((e) => this.opts.log.warn({ err: e }, 'answering a log request failed'));
      },
    });
    // `ctl exec` (no terminal): ExecSync in the container, the output in the reply.
    this.execSub = ctx.nc.subscribe(subjects.toNode(this.opts.nodeName, 'exec'), {
      callback: (err, msg) => {
        if (err || !msg.reply) return;
        const req = receive(codecs.podExecRequest, msg, this.opts.log);
        if (!req) return;
        execInContainer(this.opts.runtime, req)
          .then((reply) => msg.respond(codecs.podExecReply.encode(reply)))
          .catch((e) => this.opts.log.warn({ err: e }, 'answering an exec request failed'));
      },
    });
    // `ctl exec -i/-it`: a process streaming both ways through a session.
    this.execSessions.start(ctx.nc);
    const images = this.opts.images;
    if (images) {
      this.imageSub = ctx.nc.subscribe(subjects.toNode(this.opts.nodeName, 'images'), {
        callback: (err, msg) => {
          if (err || !msg.reply) return;
          const req = receive(codecs.imageRequest, msg, this.opts.log);
          if (!req) {
            msg.respond(codecs.imageReply.encode({ v: 1, ok: false, error: { reason: 'BadRequest', message: 'the image request failed validation on the node' } }));
            return;
          }
          images
            .handle(req)
            .then((reply) => msg.respond(codecs.imageReply.encode(reply)))
            .catch((e) => this.opts.log.warn({ err: e }, 'answering an image request failed'));
        },
      });
    }
    this.reporter.connect(ctx.nc);
    this.requestPods('connected');
    if (this.opts.staticPods) {
      this.reportStaticPods();
      this.staticTimer = setInterval(() => this.reportStaticPods(), this.opts.staticReportIntervalMs ?? 10_000);
    }
  }

  async resync(reason: string): Promise<void> {
    this.requestPods(reason);
    this.reportStaticPods();
    this.reporter.resendAll();
  }

  /** Stops the workers; containers keep running for the next agent to adopt. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.relistTimer);
    clearInterval(this.staticTimer);
    this.opts.staticPods?.stop();
    this.sub?.unsubscribe();
    this.logSub?.unsubscribe();
    this.execSub?.unsubscribe();
    this.execSessions.stop();
    this.imageSub?.unsubscribe();
    await this.opts.images?.close();
    for (const w of this.workers.values()) w.stop();
    this.prober.stop();
    this.reporter.close();
    await this.saving;
  }

  /** The whole list of pods this node should run (from the control plane). */
  setDesired(pods: Pod[]): void {
    this.apply(pods, true, true);
  }

  /** The static pods changed (a manifest was added, edited or removed). */
  setStaticPods(pods: Pod[]): void {
    this.statics = pods;
    this.apply(this.assigned, false, false);
    this.reportStaticPods();
  }

  /** Tells the control plane which static pods run here, so it keeps their mirror pods. */
  private reportStaticPods(): void {
    const nc = this.nc;
    if (!nc || nc.isClosed() || !this.opts.staticPods) return;
    try {
      nc.publish(subjects.fromNode(this.opts.nodeName, 'staticpods'), codecs.staticPodsReport.encode({ v: 1, nodeName: this.opts.nodeName, pods: this.statics.map(stripStatus) as never }));
    } catch (e) {
      this.opts.log.warn({ err: e }, 'sending the static pod list failed; it is sent again shortly');
    }
  }

  desiredPods(): Pod[] {
    return [...this.desired.values()];
  }

  private requestPods(reason: string): void {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    nc.publish(subjects.fromNode(this.opts.nodeName, 'podsync'), codecs.podSyncRequest.encode({ v: 1, nodeName: this.opts.nodeName, reason: reason.slice(0, 256) }));
  }

  private apply(assignedPods: Pod[], authoritative: boolean, persist: boolean): void {
    if (this.stopped) return;
    // Mirror pods are the API's copies of static pods, which run from their files, not from these.
    const assigned = assignedPods.filter((p) => p.metadata.uid && !isMirrorPod(p));
    const before = new Map(this.assigned.map((p) => [p.metadata.uid!, p]));
    const changed = before.size !== assigned.length || assigned.some((p) => !isDeepStrictEqual(stripStatus(before.get(p.metadata.uid!)), stripStatus(p)));
    this.assigned = assigned;
    const next = new Map([...assigned, ...this.statics].map((p) => [p.metadata.uid!, p]));
    this.desired = next;
    this.authoritative ||= authoritative;
    if (persist && changed) {
      const list = assigned.map(stripStatus) as Pod[];
      this.saving = this.saving.then(() => saveDesiredPods(this.opts.dataDir, list)).catch((e) => this.opts.log.error({ err: e }, 'saving the pod list failed'));
    }
    for (const [uid, pod] of next) {
      const w = this.workers.get(uid);
      if (w) {
        if (!isDeepStrictEqual(stripStatus(w.currentPod), stripStatus(pod))) w.update(pod);
      } else {
        this.opts.onPodSeen?.(pod);
        this.spawn(pod);
      }
    }
    for (const [uid, w] of this.workers) if (!next.has(uid)) w.remove();
  }

  private spawn(pod: Pod): PodWorker {
    const w = new PodWorker(
      {
        runtime: this.opts.runtime,
        dataDir: this.opts.dataDir,
        nodeName: this.opts.nodeName,
        hostIP: this.opts.hostIP,
        dns: this.dns,
        backoff: this.backoff,
        reporter: this.reporter,
        prober: this.prober,
        log: this.opts.log,
        runtimeName: this.opts.runtimeName ?? 'containerd',
        resyncMs: this.opts.resyncIntervalMs ?? 10_000,
        onGone: (uid) => {
          if (this.workers.get(uid) === w) this.workers.delete(uid);
          this.fingerprints.delete(uid);
          // Deleted on the control plane but still listed (it waits for our report): no new worker.
          if (this.desired.get(uid)?.metadata.deletionTimestamp) this.desired.delete(uid);
        },
      },
      pod,
    );
    this.workers.set(pod.metadata.uid!, w);
    w.trigger();
    return w;
  }

  /** One list of every managed sandbox and container; wakes the workers of pods whose set changed. */
  private async relist(): Promise<void> {
    if (this.relisting || this.stopped) return;
    this.relisting = true;
    try {
      const [sbs, cs] = await Promise.all([this.opts.runtime.listPodSandbox({ labelSelector: managedSelector }), this.opts.runtime.listContainers({ labelSelector: managedSelector })]);
      const prints = new Map<string, string[]>();
      const meta = new Map<string, { name: string; namespace: string }>();
      for (const sb of sbs) {
        const uid = sb.labels[labels.podUid];
        if (!uid) continue;
        (prints.get(uid) ?? prints.set(uid, []).get(uid)!).push(`s${sb.id}:${sb.state}`);
        meta.set(uid, { name: sb.labels[labels.podName] ?? '', namespace: sb.labels[labels.podNamespace] ?? '' });
      }
      for (const c of cs) {
        const uid = c.labels[labels.podUid];
        if (uid) (prints.get(uid) ?? prints.set(uid, []).get(uid)!).push(`c${c.id}:${c.state}`);
      }
      const next = new Map([...prints].map(([uid, p]) => [uid, p.sort().join(',')]));
      for (const [uid, print] of next) {
        const w = this.workers.get(uid);
        if (w) {
          if (this.fingerprints.get(uid) !== print) w.trigger();
        } else if (this.authoritative && !this.desired.has(uid)) {
          // Ours, but no longer wanted (deleted while this agent was down): stop it.
          const m = meta.get(uid);
          if (m) this.spawn(orphanPod(uid, m.name, m.namespace)).remove();
        }
      }
      this.fingerprints = next;
    } catch (e) {
      this.opts.log.warn({ err: e }, 'listing containers failed');
    } finally {
      this.relisting = false;
    }
  }
}

function stripStatus(p: Pod | undefined): unknown {
  if (!p) return undefined;
  const { status: _status, ...rest } = p;
  return { ...rest, metadata: { ...rest.metadata, resourceVersion: undefined } };
}

/** Enough of a pod to stop what CRI still runs for it. */
function orphanPod(uid: string, name: string, namespace: string): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { uid, name: name || uid, namespace: namespace || 'default' }, spec: { containers: [] } };
}
