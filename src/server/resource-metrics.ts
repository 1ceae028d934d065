import type { NatsConnection } from 'nats';
import { errors } from '../api/errors.js';
import type { Node, Pod } from '../api/types.js';
import { codecs, type StatsSummaryReply } from '../bus/messages.js';
import { subjects } from '../bus/subjects.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';

// metrics.k8s.io/v1beta1, as metrics-server serves it: NodeMetrics and PodMetrics built from a
// summary each node's agent sends when asked over NATS. Nothing is kept: every read asks the
// nodes, so a node that does not answer is simply missing from the list (as in metrics-server).

export interface ResourceMetricsDeps {
  nc: NatsConnection;
  store: Store;
  log: Logger;
  /** How long a node may take to answer; its reading takes about a second when it has no recent one. */
  requestTimeoutMs?: number;
}

const apiVersion = 'metrics.k8s.io/v1beta1';
const cpu = (nanoCores: number) => `${Math.round(nanoCores)}n`;
const memory = (bytes: number) => `${Math.round(bytes / 1024)}Ki`;
const isReady = (n: Node) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

async function askNode(deps: ResourceMetricsDeps, node: string): Promise<StatsSummaryReply | undefined> {
  try {
    const msg = await deps.nc.request(subjects.toNode(node, 'stats'), codecs.statsSummaryRequest.encode({ v: 1 }), { timeout: deps.requestTimeoutMs ?? 5_000 });
    const decoded = codecs.statsSummaryReply.decode(msg.data);
    if (!decoded.ok) {
      deps.log.warn({ node, reason: decoded.reason }, 'a node sent an unreadable resource usage summary');
      return undefined;
    }
    return decoded.value.nodeName === node ? decoded.value : undefined;
  } catch (e) {
    deps.log.debug({ err: e, node }, 'no resource usage from a node');
    return undefined;
  }
}

async function summaries(deps: ResourceMetricsDeps, nodes: string[]): Promise<StatsSummaryReply[]> {
  return (await Promise.all(nodes.map((n) => askNode(deps, n)))).filter((s): s is StatsSummaryReply => !!s);
}

const window = (s: StatsSummaryReply) => `${Number(s.windowSeconds.toFixed(3))}s`;

export async function serveResourceMetrics(deps: ResourceMetricsDeps, route: { kind: 'nodes' | 'pods'; namespace?: string; name?: string }): Promise<unknown> {
  if (route.kind === 'nodes') {
    const nodes = ((await deps.store.list('nodes')).items as Node[]).filter((n) => (route.name === undefined || n.metadata.name === route.name) && isReady(n));
    const items = (await summaries(deps, nodes.map((n) => n.metadata.name!))).map((s) => ({
      metadata: { name: s.nodeName, creationTimestamp: new Date().toISOString() },
      timestamp: s.timestamp,
      window: window(s),
      usage: { cpu: cpu(s.node.cpuNanoCores), memory: memory(s.node.memoryWorkingSetBytes) },
    }));
    if (route.name !== undefined) {
      if (!items[0]) throw errors.notFound('nodes.metrics.k8s.io', route.name);
      return { kind: 'NodeMetrics', apiVersion, ...items[0] };
    }
    return { kind: 'NodeMetricsList', apiVersion, metadata: {}, items: items.map((i) => ({ kind: 'NodeMetrics', apiVersion, ...i })) };
  }
  const pods = ((await deps.store.list('pods', route.namespace ? { namespace: route.namespace } : {})).items as Pod[]).filter(
    (p) => (route.name === undefined || p.metadata.name === route.name) && p.spec.nodeName && p.status?.phase === 'Running',
  );
  const wanted = new Set(pods.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
  const items = [];
  for (const s of await summaries(deps, [...new Set(pods.map((p) => p.spec.nodeName!))])) {
    for (const p of s.pods) {
      if (!wanted.has(`${p.namespace}/${p.name}`)) continue;
      items.push({
        kind: 'PodMetrics',
        apiVersion,
        metadata: { name: p.name, namespace: p.namespace, creationTimestamp: new Date().toISOString() },
        timestamp: s.timestamp,
        window: window(s),
        containers: p.containers.map((c) => ({ name: c.name, usage: { cpu: cpu(c.cpuNanoCores), memory: memory(c.memoryWorkingSetBytes) } })),
      });
    }
  }
  if (route.name !== undefined) {
    if (!items[0]) throw errors.notFound('pods.metrics.k8s.io', route.name);
    return items[0];
  }
  return { kind: 'PodMetricsList', apiVersion, metadata: {}, items };
}
