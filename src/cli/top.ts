import { parseQuantity, toMilli } from '../api/quantity.js';
import type { Node } from '../api/types.js';
import { CliError } from './errors.js';
import type { Io } from './io.js';
import { renderTable } from './printers/table.js';
import type { RestClient } from './rest-client.js';

// `ctl top nodes` and `ctl top pods`: kubectl top's columns, from metrics.k8s.io/v1beta1 (which
// the control plane serves by asking each node's agent). CPU in millicores, memory in MiB, and
// for nodes the share of what the node can allocate.

interface Usage {
  cpu: string;
  memory: string;
}
interface NodeMetrics {
  metadata: { name: string };
  usage: Usage;
}
interface PodMetrics {
  metadata: { name: string; namespace: string };
  containers: { name: string; usage: Usage }[];
}

const base = '/apis/metrics.k8s.io/v1beta1';
const milli = (cpu: string) => toMilli(cpu);
const mib = (bytes: number) => `${Math.floor(bytes / 2 ** 20)}Mi`;
const percent = (used: number, of: number) => (of > 0 ? `${Math.floor((used / of) * 100)}%` : '<unknown>');

function noMetrics(what: string): CliError {
  return new CliError(`error: metrics not available yet for ${what}: the nodes' agents answer within seconds of joining; check that they are Ready (ctl get nodes)`);
}

export async function runTopNodes(client: RestClient, io: Io, opts: { name?: string; noHeaders?: boolean }): Promise<number> {
  const [metrics, nodes] = await Promise.all([
    opts.name
      ? client.request<NodeMetrics>('GET', `${base}/nodes/${encodeURIComponent(opts.name)}`).then((m) => [m])
      : client.request<{ items: NodeMetrics[] }>('GET', `${base}/nodes`).then((l) => l.items),
    client.request<{ items: Node[] }>('GET', '/api/v1/nodes').then((l) => l.items),
  ]);
  if (!metrics.length) throw noMetrics('nodes');
  const byName = new Map(nodes.map((n) => [n.metadata.name, n]));
  const rows = [...metrics]
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    .map((m) => {
      const alloc = byName.get(m.metadata.name)?.status?.allocatable ?? {};
      const cpu = milli(m.usage.cpu);
      const mem = parseQuantity(m.usage.memory);
      return [m.metadata.name, `${cpu}m`, percent(cpu, alloc.cpu !== undefined ? milli(String(alloc.cpu)) : 0), mib(mem), percent(mem, alloc.memory !== undefined ? parseQuantity(String(alloc.memory)) : 0)];
    });
  io.out(`${renderTable(opts.noHeaders ? undefined : ['NAME', 'CPU(cores)', 'CPU%', 'MEMORY(bytes)', 'MEMORY%'], rows)}\n`);
  return 0;
}

export async function runTopPods(
  client: RestClient,
  io: Io,
  opts: { namespace: string; allNamespaces: boolean; name?: string; containers?: boolean; noHeaders?: boolean },
): Promise<number> {
  if (opts.name && opts.allNamespaces) throw new CliError('error: a pod name cannot be given with --all-namespaces; use -n NAMESPACE');
  const ns = encodeURIComponent(opts.namespace);
  const metrics = opts.name
    ? [await client.request<PodMetrics>('GET', `${base}/namespaces/${ns}/pods/${encodeURIComponent(opts.name)}`)]
    : (await client.request<{ items: PodMetrics[] }>('GET', opts.allNamespaces ? `${base}/pods` : `${base}/namespaces/${ns}/pods`)).items;
  if (!metrics.length) {
    io.err(opts.allNamespaces ? 'No resources found\n' : `No resources found in ${opts.namespace} namespace.\n`);
    return 0;
  }
  const sorted = [...metrics].sort((a, b) => a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name));
  const rows: string[][] = [];
  for (const p of sorted) {
    const lead = opts.allNamespaces ? [p.metadata.namespace, p.metadata.name] : [p.metadata.name];
    if (opts.containers) {
      for (const c of p.containers) rows.push([...lead, c.name, `${milli(c.usage.cpu)}m`, mib(parseQuantity(c.usage.memory))]);
    } else {
      const cpu = p.containers.reduce((s, c) => s + milli(c.usage.cpu), 0);
      const mem = p.containers.reduce((s, c) => s + parseQuantity(c.usage.memory), 0);
      rows.push([...lead, `${cpu}m`, mib(mem)]);
    }
  }
  const header = [...(opts.allNamespaces ? ['NAMESPACE'] : []), opts.containers ? 'POD' : 'NAME', ...(opts.containers ? ['NAME'] : []), 'CPU(cores)', 'MEMORY(bytes)'];
  io.out(`${renderTable(opts.noHeaders ? undefined : header, rows)}\n`);
  return 0;
}
