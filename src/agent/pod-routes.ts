import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import type { PodNetwork } from '../bus/messages.js';
import type { Logger } from '../log/logger.js';

// Host-gw pod routing: for every peer node, a route to its pod subnet via its InternalIP, so
// pods on nodes of one L2 segment reach each other without an overlay. Routes Skiff adds carry
// their own protocol number, so the agent (and `ctl reset`) can tell them from the host's own
// and remove stale ones without touching anything else.

/** `proto` of the routes Skiff owns (iproute2 numbers above 200 are free for local use). */
export const SKIFF_ROUTE_PROTO = 211;

/** The pod network as one node sees it: its own subnet, and every other node it can route to. */
export interface NodeNetwork {
  podCIDR?: string;
  peers: { name: string; internalIP: string; podCIDR: string }[];
}

export function nodeNetworkOf(nodeName: string, network: PodNetwork): NodeNetwork {
  const peers = network.nodes.filter((n) => n.name !== nodeName && n.internalIP).map((n) => ({ name: n.name, internalIP: n.internalIP!, podCIDR: n.podCIDR }));
  const podCIDR = network.nodes.find((n) => n.name === nodeName)?.podCIDR;
  return { ...(podCIDR ? { podCIDR } : {}), peers };
}

export interface PodRoute {
  /** Destination subnet, like 10.42.3.0/24. */
  dst: string;
  via: string;
}

/** The host's routing table as far as Skiff's own routes go; a fake in unit tests. */
export interface RouteTable {
  list(): Promise<PodRoute[]>;
  replace(route: PodRoute): Promise<void>;
  remove(dst: string): Promise<void>;
}

const execFileP = promisify(execFile);

export class IpRouteTable implements RouteTable {
  constructor(private readonly ipPath = 'ip') {}

  async list(): Promise<PodRoute[]> {
    const { stdout } = await execFileP(this.ipPath, ['-j', '-4', 'route', 'show', 'proto', String(SKIFF_ROUTE_PROTO)]);
    const rows = JSON.parse(stdout || '[]') as { dst: string; gateway?: string }[];
    return rows.filter((r) => r.gateway).map((r) => ({ dst: r.dst, via: r.gateway! }));
  }

  async replace(route: PodRoute): Promise<void> {
    await execFileP(this.ipPath, ['-4', 'route', 'replace', route.dst, 'via', route.via, 'proto', String(SKIFF_ROUTE_PROTO)]);
  }

  async remove(dst: string): Promise<void> {
    await execFileP(this.ipPath, ['-4', 'route', 'del', dst, 'proto', String(SKIFF_ROUTE_PROTO)]);
  }
}

/** The addresses of this machine: a peer at one of them is on this host, so needs no route. */
export function localAddresses(): Set<string> {
  return new Set(Object.values(os.networkInterfaces()).flatMap((l) => (l ?? []).map((a) => a.address)));
}

/** What to add, change and remove to get from `actual` to the routes `network` asks for. */
export function planRoutes(network: NodeNetwork, ownPodCidr: string | undefined, local: ReadonlySet<string>, actual: readonly PodRoute[]): { replace: PodRoute[]; remove: string[] } {
  const want = new Map<string, string>();
  for (const p of network.peers) {
    if (p.podCIDR === ownPodCidr || local.has(p.internalIP)) continue;
    want.set(p.podCIDR, p.internalIP);
  }
  const have = new Map(actual.map((r) => [r.dst, r.via]));
  return {
    replace: [...want].filter(([dst, via]) => have.get(dst) !== via).map(([dst, via]) => ({ dst, via })),
    remove: [...have.keys()].filter((dst) => !want.has(dst)),
  };
}

export interface PodRoutesOptions {
  table: RouteTable;
  /** The subnet this node's pods use; never routed elsewhere. */
  ownPodCidr: () => string | undefined;
  localAddresses?: () => ReadonlySet<string>;
  log: Logger;
  /** Re-applies the last network this often, repairing routes removed by hand. Default 30 s. */
  resyncIntervalMs?: number;
}

/** Keeps the routes of the latest NodeNetwork; calls are serialised. */
export class PodRoutes {
  private last: NodeNetwork | undefined;
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: PodRoutesOptions) {}

  start(): void {
    this.timer = setInterval(() => void (this.last && this.apply(this.last)), this.opts.resyncIntervalMs ?? 30_000);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  apply(network: NodeNetwork): Promise<void> {
    const own = this.opts.ownPodCidr();
    if (network.podCIDR && own && network.podCIDR !== own && this.last?.podCIDR !== network.podCIDR) {
      this.opts.log.warn(
        { assigned: network.podCIDR, used: own },
        `the control plane assigned this node pod subnet ${network.podCIDR}, but its pods use ${own} (--pod-cidr): other nodes route ${network.podCIDR} here, so drop --pod-cidr or expect pods on other nodes not to reach these`,
      );
    }
    this.last = network;
    this.queue = this.queue.then(() => this.reconcile(network));
    return this.queue;
  }

  private async reconcile(network: NodeNetwork): Promise<void> {
    const { table, log } = this.opts;
    let actual: PodRoute[];
    try {
      actual = await table.list();
    } catch (e) {
      log.error({ err: e }, 'cannot read the routing table (is iproute2 installed and the agent root?); pod routes to other nodes not kept');
      return;
    }
    const plan = planRoutes(network, this.opts.ownPodCidr(), (this.opts.localAddresses ?? localAddresses)(), actual);
    for (const r of plan.replace) {
      await table.replace(r).then(
        () => log.info(r, 'route to a peer node pod subnet set'),
        (e: Error) =>
          log.error({ err: e, ...r }, `cannot route ${r.dst} via ${r.via}: host-gw routing needs every node on one L2 segment (the peer's InternalIP directly reachable); set --node-ip on each agent to its address on that network`),
      );
    }
    for (const dst of plan.remove) {
      await table.remove(dst).then(
        () => log.info({ dst }, 'stale route to a pod subnet removed'),
        (e: Error) => log.error({ err: e, dst }, 'removing a stale pod route failed'),
      );
    }
  }
}
