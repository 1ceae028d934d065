import type { NatsConnection, Subscription } from 'nats';
import { connectBus } from '../bus/connection.js';
import { receive } from '../bus/codec.js';
import { codecs, type StatsSummaryReply } from '../bus/messages.js';
import { subjects } from '../bus/subjects.js';
import type { Logger } from '../log/logger.js';
import type { AgentIdentity } from './identity.js';
import { describeNode, hostFacts, type SystemFacts } from './node-info.js';
import { nodeNetworkOf, type NodeNetwork } from './pod-routes.js';

// The node agent: one NATS connection as this node (its nkey, its own inbox), a lease renewal
// every few seconds, and a full status report on connect, on every reconnect, on the control
// plane's request and periodically. What runs pods plugs in as a PodManager, which gets the
// same connection and is told to resync whenever the agent resyncs.

export interface AgentContext {
  nc: NatsConnection;
  nodeName: string;
  log: Logger;
}

export interface PodManager {
  start(ctx: AgentContext): Promise<void>;
  /** Converge again from the control plane's state: after a reconnect or when asked. */
  resync(reason: string): Promise<void>;
  stop(): Promise<void>;
}

export interface AgentOptions {
  identity: AgentIdentity;
  /** Reported as nodeInfo.kubeletVersion. */
  version: string;
  log: Logger;
  /** Lease renewal period (kubelet's --node-status-update-frequency); well under the control plane's grace period. */
  heartbeatIntervalMs?: number;
  /** Full status resend period; the control plane writes only what changed. */
  statusReportIntervalMs?: number;
  facts?: SystemFacts;
  /** Reported as capacity.pods. Default 110, as kubelet's --max-pods. */
  maxPods?: number;
  /** Until the runtime layer reports its version, `containerd://unknown`. */
  containerRuntimeVersion?: () => Promise<string>;
  podManager?: PodManager;
  /** The bound /metrics listener, reported in the node's status for Prometheus discovery. */
  metrics?: { host: string; port: number };
  /** Answers the control plane's resource usage requests (metrics.k8s.io, `ctl top`). */
  statsSummary?: () => Promise<StatsSummaryReply>;
  /** Gets the pod network (own subnet, peers) each time the control plane sends it. */
  onNetwork?: (network: NodeNetwork) => void;
}

export class Agent {
  private nc: NatsConnection | undefined;
  private subs: Subscription[] = [];
  private leaseTimer: NodeJS.Timeout | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: AgentOptions) {}

  get nodeName(): string {
    return this.opts.identity.nodeName;
  }

  /** Connects (retrying until the control plane's NATS answers) and starts reporting. */
  async start(): Promise<void> {
    const { identity, log } = this.opts;
    const nc = await connectBus({
      servers: identity.server,
      name: `skiff-agent ${identity.nodeName}`,
      trust: { kind: 'ca', caPem: identity.caPem },
      nkeySeed: identity.nkeySeed,
      inboxPrefix: subjects.nodeInboxPrefix(identity.nodeName),
      persistent: true,
      onReconnect: () => void this.resync('reconnected'),
      log,
    });
    this.nc = nc;
    this.subs.push(
      nc.subscribe(subjects.toNode(identity.nodeName, 'resync'), {
        callback: (err, msg) => {
          if (err) return;
          const req = receive(codecs.resyncRequest, msg, log);
          if (req) void this.resync(`control plane asked: ${req.reason}`);
        },
      }),
    );
    const onNetwork = this.opts.onNetwork;
    if (onNetwork) {
      // Changes go to every node at once; a node that just reported its status gets it on its own subject.
      for (const subject of [subjects.toAllNodes('network'), subjects.toNode(identity.nodeName, 'network')]) {
        this.subs.push(
          nc.subscribe(subject, {
            callback: (err, msg) => {
              if (err) return;
              const network = receive(codecs.podNetwork, msg, log);
              if (network) onNetwork(nodeNetworkOf(identity.nodeName, network));
            },
          }),
        );
      }
    }
    const summary = this.opts.statsSummary;
    if (summary) {
      this.subs.push(
        nc.subscribe(subjects.toNode(identity.nodeName, 'stats'), {
          callback: (err, msg) => {
            if (err || !msg.reply || !receive(codecs.statsSummaryRequest, msg, log)) return;
            summary()
              .then((reply) => msg.respond(codecs.statsSummaryReply.encode(reply)))
              .catch((e) => log.warn({ err: e }, 'answering a resource usage request failed'));
          },
        }),
      );
    }
    log.info({ node: identity.nodeName, server: identity.server }, 'agent connected');
    await this.sendStatus();
    this.renewLease();
    this.leaseTimer = setInterval(() => this.renewLease(), this.opts.heartbeatIntervalMs ?? 4000);
    this.statusTimer = setInterval(() => void this.sendStatus(), this.opts.statusReportIntervalMs ?? 60_000);
    // A connection closed for good (credentials revoked) ends the reporting too.
    void nc.closed().then(() => this.stopTimers());
    await this.opts.podManager?.start({ nc, nodeName: identity.nodeName, log });
  }

  /** Resolves when the connection ends for good; rejects with the reason if it was not stop(). */
  async closed(): Promise<void> {
    const err = await this.nc?.closed();
    if (err && !this.stopped) throw err;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopTimers();
    await this.opts.podManager?.stop();
    for (const s of this.subs.splice(0)) s.unsubscribe();
    if (this.nc && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc?.close());
  }

  private stopTimers(): void {
    clearInterval(this.leaseTimer);
    clearInterval(this.statusTimer);
  }

  private async resync(reason: string): Promise<void> {
    this.opts.log.info({ reason }, 'resyncing with the control plane');
    await this.sendStatus();
    this.renewLease();
    await this.opts.podManager?.resync(reason).catch((e) => this.opts.log.error({ err: e }, 'pod manager resync failed'));
  }

  private async sendStatus(): Promise<void> {
    if (!this.nc || this.nc.isClosed()) return;
    const { identity } = this.opts;
    const report = describeNode(this.opts.facts ?? hostFacts, {
      nodeName: identity.nodeName,
      labels: identity.labels,
      agentVersion: this.opts.version,
      ...(identity.nodeIp ? { nodeIp: identity.nodeIp } : {}),
      containerRuntimeVersion: (await this.opts.containerRuntimeVersion?.()) ?? 'containerd://unknown',
      metrics: this.opts.metrics,
      maxPods: this.opts.maxPods,
    });
    this.nc.publish(subjects.fromNode(identity.nodeName, 'status'), codecs.nodeStatusReport.encode(report));
  }

  private renewLease(): void {
    if (!this.nc || this.nc.isClosed()) return;
    const { nodeName } = this.opts.identity;
    this.nc.publish(subjects.fromNode(nodeName, 'lease'), codecs.leaseRenewal.encode({ v: 1, nodeName, renewTime: new Date().toISOString() }));
  }
}
