import { isDeepStrictEqual } from 'node:util';
import type { NatsConnection, Subscription } from 'nats';
import type { Node } from '../api/types.js';
import { codecs, type NodeNetwork } from '../bus/messages.js';
import { nodeOfFromSubject, subjects } from '../bus/subjects.js';
import type { Logger } from '../log/logger.js';
import type { Store, Watch } from '../store/store.js';
import { formatCidr, type PodCidrAllocator } from './pod-cidr.js';

// The pod network's control-plane half (host-gw, as flannel's backend of that name): every node
// that lacks a pod subnet gets one, and every node is sent its subnet plus the subnet and
// InternalIP of every other node, whole, whenever a node changes, when a node reports its
// status (it has just connected) and periodically, so a lost message is repaired. Changes are
// coalesced into one send to every node per `coalesceMs`: while hundreds of nodes join, a send
// per join to every node would grow with the cube of the node count.

export interface NodeNetworkOptions {
  nc: NatsConnection;
  store: Store;
  allocator: PodCidrAllocator;
  log: Logger;
  /** Full resend to every node. Default 30 s. */
  resendIntervalMs?: number;
  /** Node changes within this window go out as one send to every node. Default 1 s. */
  coalesceMs?: number;
}

const internalIpOf = (n: Node) => n.status?.addresses?.find((a) => a.type === 'InternalIP' && /^(\d{1,3}\.){3}\d{1,3}$/.test(a.address))?.address;

/** What `nodeName` is told, from the current Nodes. */
export function networkFor(nodeName: string, nodes: readonly Node[]): NodeNetwork {
  return networkFromRoutes(nodeName, nodes.find((n) => n.metadata.name === nodeName), routableNodes(nodes));
}

type Peer = NodeNetwork['peers'][number];

/** Every node that can be routed to, sorted by name: computed once, shared by every node's message. */
function routableNodes(nodes: Iterable<Node>): Peer[] {
  return [...nodes]
    .filter((n) => n.spec?.podCIDR && internalIpOf(n))
    .map((n) => ({ name: n.metadata.name!, internalIP: internalIpOf(n)!, podCIDR: n.spec!.podCIDR! }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function networkFromRoutes(nodeName: string, self: Node | undefined, routable: readonly Peer[]): NodeNetwork {
  const peers = routable.filter((p) => p.name !== nodeName);
  return { v: 1, nodeName, ...(self?.spec?.podCIDR ? { podCIDR: self.spec.podCIDR } : {}), peers };
}

export class NodeNetworkPublisher {
  private readonly nodes = new Map<string, Node>();
  private watch: Watch | undefined;
  private sub: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pendingAll: NodeJS.Timeout | undefined;
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
        if (ev.type === 'DELETED' || !before || !isDeepStrictEqual(this.routeFacts(before), this.routeFacts(node))) this.sendAllSoon();
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

  private sendAll(): void {
    const routable = routableNodes(this.nodes.values());
    for (const name of this.nodes.keys()) this.send(name, routable);
  }

  private send(nodeName: string, routable = routableNodes(this.nodes.values())): void {
    if (this.closed || this.opts.nc.isClosed() || !this.nodes.has(nodeName)) return;
    this.opts.nc.publish(subjects.toNode(nodeName, 'network'), codecs.nodeNetwork.encode(networkFromRoutes(nodeName, this.nodes.get(nodeName), routable)));
  }
}
