import { isApiError } from '../api/errors.js';
import type { KObject, Node } from '../api/types.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';

// Pod subnets, as kube-controller-manager's node IPAM does it: every node gets its own /24 out
// of --cluster-cidr, written to Node spec.podCIDR(s). The store is the only record, so a
// restart keeps every assignment and deleting a Node frees its subnet.

export const DEFAULT_CLUSTER_CIDR = '10.42.0.0/16';
export const NODE_MASK = 24;

export interface Ipv4Cidr {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

const toDotted = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');

/** Parses `a.b.c.d/n`; throws an error naming `field` and the fix. */
export function parseIpv4Cidr(text: string, field: string): Ipv4Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (!m || octets.some((o) => o > 255) || prefix > 32) {
    throw new Error(`${field} ${JSON.stringify(text)} is not an IPv4 CIDR: give one like ${DEFAULT_CLUSTER_CIDR}`);
  }
  const addr = octets.reduce((acc, o) => acc * 256 + o, 0);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((addr & mask) >>> 0 !== addr) {
    throw new Error(`${field} ${JSON.stringify(text)} has host bits set: did you mean ${toDotted((addr & mask) >>> 0)}/${prefix}?`);
  }
  return { base: addr, prefix };
}

export function formatCidr(c: Ipv4Cidr): string {
  return `${toDotted(c.base)}/${c.prefix}`;
}

/** The cluster CIDR, checked to hold at least two node subnets. */
export function parseClusterCidr(text: string): Ipv4Cidr {
  const c = parseIpv4Cidr(text, '--cluster-cidr');
  if (c.prefix > NODE_MASK - 1) {
    throw new Error(`--cluster-cidr ${text} is too small: each node takes a /${NODE_MASK}, so give a /${NODE_MASK - 1} or larger, like ${DEFAULT_CLUSTER_CIDR}`);
  }
  return c;
}

/** The first /24 of `cluster` that is not in `used`, or undefined when all are taken. */
export function nextFreePodCidr(cluster: Ipv4Cidr, used: ReadonlySet<string>): string | undefined {
  const count = 2 ** (NODE_MASK - cluster.prefix);
  for (let i = 0; i < count; i++) {
    const cidr = formatCidr({ base: (cluster.base + i * 2 ** (32 - NODE_MASK)) >>> 0, prefix: NODE_MASK });
    if (!used.has(cidr)) return cidr;
  }
  return undefined;
}

/**
 * Assigns pod subnets. Calls are serialised in this process, and each write is a
 * compare-and-swap on the Node, so two nodes never get the same subnet.
 */
export class PodCidrAllocator {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    readonly clusterCidr: Ipv4Cidr,
    private readonly log: Logger,
  ) {}

  /** The node's subnet: the one it has, or a new one. Undefined if the Node does not exist. */
  allocate(nodeName: string): Promise<string | undefined> {
    const next = this.queue.then(() => this.allocateNow(nodeName));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async allocateNow(nodeName: string): Promise<string | undefined> {
    const nodes = (await this.store.list('nodes', { frozen: true })).items as Node[];
    const self = nodes.find((n) => n.metadata.name === nodeName);
    if (!self) return undefined;
    if (self.spec?.podCIDR) return self.spec.podCIDR;
    const used = new Set(nodes.flatMap((n) => n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : [])));
    const cidr = nextFreePodCidr(this.clusterCidr, used);
    if (!cidr) {
      throw new Error(`no free /${NODE_MASK} left in --cluster-cidr ${formatCidr(this.clusterCidr)} for node ${nodeName}: delete unused nodes or restart the server with a larger --cluster-cidr`);
    }
    let assigned: string | undefined;
    try {
      await this.store.guaranteedUpdate({ resource: 'nodes', namespace: '', name: nodeName }, (cur) => {
        const node = structuredClone(cur) as Node;
        if (node.spec?.podCIDR) {
          assigned = node.spec.podCIDR;
          return undefined;
        }
        assigned = cidr;
        node.spec = { ...node.spec, podCIDR: cidr, podCIDRs: [cidr] };
        return node as KObject;
      });
    } catch (e) {
      if (isApiError(e, 'NotFound')) return undefined;
      throw e;
    }
    if (assigned === cidr) this.log.info({ node: nodeName, podCIDR: cidr }, 'assigned the node its pod subnet');
    return assigned;
  }
}
