import { mkdir } from 'node:fs/promises';
import type os from 'node:os';
import { join } from 'node:path';
import type { Subscription } from 'nats';
import { receive } from '../bus/codec.js';
import { codecs, type DesiredPod, type PodStatusReport } from '../bus/messages.js';
import { subjects } from '../bus/subjects.js';
import type { Logger } from '../log/logger.js';
import { Agent, type AgentContext, type PodManager } from './agent.js';
import { isJoined, loadIdentity, type AgentIdentity } from './identity.js';
import { joinCluster, JoinError } from './join.js';
import type { SystemFacts } from './node-info.js';
import { nodeJoinCrypto } from './node-key.js';
import { AssignedPods } from './pods/assigned-pods.js';

// Simulated nodes for scale work, as kwok and kubemark do it: each joins through the real path
// (bootstrap token, CA pin, its own certificate and nkey), connects to NATS as itself, renews its
// lease and reports status with the real Agent; only the runtime is fake: a pod it is given is
// reported Running and Ready after a short delay, and one being deleted is reported gone.
// Hundreds run in one process, each on its own NATS connection.

export interface SimulatedNodesOptions {
  /** The join command's parts. */
  server: string;
  token: string;
  caCertHash: string;
  count: number;
  /** Node names are PREFIX-0, PREFIX-1, … */
  namePrefix: string;
  /** Identities live in DATA_DIR/NAME; a node already joined there is started again without a join. */
  dataDir: string;
  version: string;
  log: Logger;
  labels?: Record<string, string>;
  cpu?: number;
  memoryBytes?: number;
  maxPods?: number;
  /** The fake runtime's time from a pod's arrival to Running. Default 0. */
  startDelayMs?: number;
  heartbeatIntervalMs?: number;
  /** Joins in flight at once. Default 20. */
  concurrency?: number;
  /** Called after each node has started. */
  onStarted?: (started: number, total: number) => void;
}

const rfc3339 = (d = new Date()) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function simulatedFacts(name: string, index: number, opts: SimulatedNodesOptions): SystemFacts {
  // Never .0: node i gets 10.200.0.(i+1) and on.
  const n = index + 1;
  const ip = `10.${200 + ((n >> 16) & 0x1f)}.${(n >> 8) & 0xff}.${n & 0xff}`;
  return {
    hostname: () => name,
    osRelease: () => 'PRETTY_NAME="Skiff simulated node"\n',
    kernelRelease: () => 'simulated',
    arch: () => process.arch,
    platform: () => 'linux',
    cpuCount: () => opts.cpu ?? 32,
    memoryBytes: () => opts.memoryBytes ?? 128 * 2 ** 30,
    networkInterfaces: () => ({ eth0: [{ address: ip, netmask: '255.0.0.0', family: 'IPv4', mac: '02:00:00:00:00:00', internal: false, cidr: `${ip}/8` } as os.NetworkInterfaceInfo] }),
    machineId: () => undefined,
    bootId: () => undefined,
  };
}

/** The fake runtime: whatever the control plane assigns runs at once and is Ready. */
export class SimulatedPods implements PodManager {
  private ctx: AgentContext | undefined;
  private sub: Subscription | undefined;
  /** uid → what was last reported. */
  private readonly reported = new Map<string, 'running' | 'terminated'>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly assigned = new AssignedPods();
  private podIndex = 0;

  constructor(
    private readonly hostIP: string,
    private readonly startDelayMs = 0,
  ) {}

  async start(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
    this.sub = ctx.nc.subscribe(subjects.toNode(ctx.nodeName, 'pods'), {
      callback: (err, msg) => {
        if (err) return;
        const a = receive(codecs.podAssignment, msg, ctx.log);
        if (!a || a.nodeName !== ctx.nodeName) return;
        const r = this.assigned.apply(a);
        if ('pods' in r) this.apply(r.pods);
        else if (r.ask) this.requestPods('a pod change did not follow the list this node holds');
      },
    });
    this.requestPods('started');
  }

  async resync(reason: string): Promise<void> {
    // Everything is reported again once the list arrives.
    this.reported.clear();
    this.requestPods(reason);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.sub?.unsubscribe();
  }

  private requestPods(reason: string): void {
    const { nc, nodeName } = this.ctx!;
    if (!nc.isClosed()) nc.publish(subjects.fromNode(nodeName, 'podsync'), codecs.podSyncRequest.encode({ v: 1, nodeName, reason }));
  }

  private apply(pods: DesiredPod[]): void {
    const present = new Set<string>();
    for (const pod of pods) {
      const uid = pod.metadata.uid;
      present.add(uid);
      const want = pod.metadata.deletionTimestamp ? 'terminated' : 'running';
      if (this.reported.get(uid) === want) continue;
      this.reported.set(uid, want);
      const ref = { namespace: pod.metadata.namespace, name: pod.metadata.name, uid };
      const containers = (pod.spec.containers as { name: string; image?: string }[]).map((c) => ({ name: c.name, image: c.image ?? '' }));
      if (want === 'terminated') this.send({ ...ref, status: this.status(containers, false), terminated: true });
      else if (this.startDelayMs > 0) {
        const t = setTimeout(() => {
          this.timers.delete(t);
          if (this.reported.get(uid) === 'running') this.send({ ...ref, status: this.status(containers, true) });
        }, this.startDelayMs);
        this.timers.add(t);
      } else this.send({ ...ref, status: this.status(containers, true) });
    }
    for (const uid of [...this.reported.keys()]) if (!present.has(uid)) this.reported.delete(uid);
  }

  private status(containers: { name: string; image: string }[], running: boolean): PodStatusReport['status'] {
    const now = rfc3339();
    const ready = running ? 'True' : 'False';
    const n = this.podIndex++;
    return {
      phase: running ? 'Running' : 'Succeeded',
      conditions: ['Initialized', 'Ready', 'ContainersReady'].map((type) => ({ type, status: type === 'Initialized' ? 'True' : ready, lastTransitionTime: now })),
      hostIP: this.hostIP,
      podIP: `172.${16 + ((n >> 16) & 0xf)}.${(n >> 8) & 0xff}.${n & 0xff}`,
      startTime: now,
      containerStatuses: containers.map((c) => ({
        name: c.name,
        state: running ? { running: { startedAt: now } } : { terminated: { exitCode: 0, reason: 'Completed', finishedAt: now } },
        ready: running,
        restartCount: 0,
        image: c.image,
        imageID: '',
        containerID: `simulated://${c.name}-${n}`,
        started: running,
      })),
    };
  }

  private send(r: Omit<PodStatusReport, 'v' | 'nodeName'>): void {
    const { nc, nodeName } = this.ctx!;
    if (nc.isClosed()) return;
    nc.publish(subjects.fromNode(nodeName, 'podstatus'), codecs.podStatusReport.encode({ v: 1, nodeName, ...r } as PodStatusReport));
  }
}

export class SimulatedNodes {
  private readonly agents: Agent[] = [];

  constructor(private readonly opts: SimulatedNodesOptions) {}

  get started(): number {
    return this.agents.length;
  }

  /** Joins (or reloads) and starts every node, `concurrency` at a time. */
  async start(): Promise<void> {
    const { opts } = this;
    await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
    let next = 0;
    const worker = async () => {
      while (next < opts.count) {
        const i = next++;
        await this.startOne(i);
        opts.onStarted?.(this.agents.length, opts.count);
      }
    };
    await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 20, opts.count) }, worker));
  }

  private async startOne(i: number): Promise<void> {
    const { opts } = this;
    const name = `${opts.namePrefix}-${i}`;
    const dataDir = join(opts.dataDir, name);
    const log = opts.log.child({ node: name });
    const quiet = log.child({}, { level: 'warn' });
    const identity: AgentIdentity = isJoined(dataDir) ? await loadIdentity(dataDir) : await this.join(name, dataDir, quiet);
    const facts = simulatedFacts(name, i, opts);
    const hostIP = facts.networkInterfaces().eth0![0].address;
    const agent = new Agent({
      identity,
      version: opts.version,
      log: quiet,
      facts,
      maxPods: opts.maxPods,
      heartbeatIntervalMs: opts.heartbeatIntervalMs,
      containerRuntimeVersion: async () => 'simulated://1.0.0',
      podManager: new SimulatedPods(hostIP, opts.startDelayMs),
    });
    await agent.start();
    this.agents.push(agent);
  }

  /** A busy control plane may miss a request; unlike one `ctl join`, a thousand joins retry that. */
  private async join(name: string, dataDir: string, log: Logger): Promise<AgentIdentity> {
    const { opts } = this;
    for (let attempt = 1; ; attempt++) {
      try {
        return await joinCluster({ server: opts.server, token: opts.token, caCertHash: opts.caCertHash, nodeName: name, dataDir, labels: opts.labels ?? {}, crypto: nodeJoinCrypto, log });
      } catch (e) {
        if (attempt >= 5 || !(e instanceof JoinError) || !/no answer from the control plane/.test(e.message)) throw e;
        log.warn({ err: e, attempt }, 'join got no answer; trying again');
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.agents.splice(0).map((a) => a.stop()));
  }
}

