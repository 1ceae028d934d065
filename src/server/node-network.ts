import { isDeepStrictEqual } from 'node:util';
import type { NatsConnection, Subscription } from 'nats';
import type { Node } from '../api/types.js';
import { codecs, type PodNetwork } from '../bus/messages.js';
import { nodeOfFromSubject, subjects } from '../bus/subjects.js';
import type { Logger } from '../log/logger.js';
import type { Store, Watch } from '../store/store.js';
import { formatCidr, type PodCidrAllocator } from './pod-cidr.js';

// The pod network's control-plane half (host-gw, as flannel's backend of that name): every node
// that lacks a pod subnet gets one, and every node is sent the subnet and InternalIP of every
// node, whole: on a change, periodically (so a lost message is repaired) in one publish to all
// nodes, and to a node on its own when it reports its status (it has just connected). The
// message is the same for every node, so it is encoded once per change, and changes within
// `coalesceMs` are one send: while hundreds of nodes join, building a message per node per
// join would grow with the cube of the node count.

export interface NodeNetworkOptions {
  nc: NatsConnection;
  store: Store;
  allocator: PodCidrAllocator;
  log: Logger;
  /** Whole network to every node. Default 30 s. */
  resendIntervalMs?: number;
  /** Node changes within this window go out as one send to every node. Default 1 s. */
  coalesceMs?: number;
}

const internalIpOf = (n: Node) => n.status?.addresses?.find((a) => a.type === 'InternalIP' && /^(\d{1,3}\.){3}\d{1,3}$/.test(a.address))?.address;

/** What every node is told, from the current Nodes: those with a pod subnet, sorted by name. */
export function podNetworkOf(nodes: Iterable<Node>): PodNetwork {
  const entries = [...nodes]
    .filter((n) => n.spec?.podCIDR)
    .map((n) => {
      const internalIP = internalIpOf(n);
      return { name: n.metadata.name!, podCIDR: n.spec!.podCIDR!, ...(internalIP ? { internalIP } : {}) };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return { v: 1, nodes: entries };
}

export class NodeNetworkPublisher {
  private readonly nodes = new Map<string, Node>();
  private watch: Watch | undefined;
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pendingAll: NodeJS.Timeout | undefined;
  /** The current message, encoded; dropped when a node's subnet or address changes. */
  private encoded: Uint8Array | undefined;
  private closed = false;

  constructor(private readonly opts: NodeNetworkOptions) {}

  async start(): Promise<void> {
    const { store, nc, log } = this.opts;
    const listed = await store.list('nodes');
    for (const n of listed.items as Node[]) this.nodes.set(n.metadata.name!, n);
    this.watch = store.watch('nodes', { sinceRevision: listed.revision });
    void this.consume(this.watch);
    this.sub = nc.subscribe(subjects.fromAnyNode('status'), {
      callback: (err, msg) => {
        const name = err ? undefined : nodeOfFromSubject(msg.subject);
        if (name) this.send(name);
      },
    });
    for (const n of [...this.nodes.values()]) await this.ensureCidr(n);
    this.sendAll();
    this.timer = setInterval(() => this.sendAll(), this.opts.resendIntervalMs ?? 30_000);
    log.info({ clusterCidr: formatCidr(this.opts.allocator.clusterCidr) }, 'pod network started');
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.pendingAll);
    this.watch?.close();
    this.sub?.unsubscribe();
  }

  private async consume(watch: Watch): Promise<void> {
    try {
      for await (const ev of watch) {
        const node = ev.object as Node;
        const name = node.metadata.name!;
        const before = this.nodes.get(name);
        if (ev.type === 'DELETED') this.nodes.delete(name);
        else this.nodes.set(name, node);
        // Not awaited: the allocator serialises its own work, and node events keep flowing meanwhile.
        if (ev.type !== 'DELETED') void this.ensureCidr(node);
        // Only a subnet or address change matters to the routes; heartbeats do not.
        if (ev.type === 'DELETED' || !before || !isDeepStrictEqual(this.routeFacts(before), this.routeFacts(node))) {
          this.encoded = undefined;
          this.sendAllSoon();
        }
      }
    } catch (e) {
      if (!this.closed) this.opts.log.error({ err: e }, 'node watch ended; restart the control plane');
    }
  }

  private routeFacts(n: Node): unknown {
    return [n.spec?.podCIDR, internalIpOf(n)];
  }

  private async ensureCidr(node: Node): Promise<void> {
    if (node.spec?.podCIDR) return;
    await this.opts.allocator.allocate(node.metadata.name!).catch((e: Error) => this.opts.log.error({ err: e, node: node.metadata.name }, 'assigning a pod subnet failed'));
  }

  private sendAllSoon(): void {
    this.pendingAll ??= setTimeout(() => {
      this.pendingAll = undefined;
      this.sendAll();
    }, this.opts.coalesceMs ?? 1_000);
  }

  private message(): Uint8Array {
    return (this.encoded ??= codecs.podNetwork.encode(podNetworkOf(this.nodes.values())));
  }

  private sendAll(): void {
    if (this.closed || this.opts.nc.isClosed()) return;
    this.opts.nc.publish(subjects.toAllNodes('network'), this.message());
  }

  private send(nodeName: string): void {
    if (this.closed || this.opts.nc.isClosed() || !this.nodes.has(nodeName)) return;
    this.opts.nc.publish(subjects.toNode(nodeName, 'network'), this.message());
  }
}
