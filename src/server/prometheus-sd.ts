import type { Node } from '../api/types.js';
import { metricsEndpointAnnotation } from './node-lifecycle.js';

// Prometheus HTTP service discovery (http_sd_configs): one target group per node, its agent's
// metrics endpoint with the node's name and labels as __meta_ labels (the names Prometheus'
// kubernetes_sd gives nodes, so relabel rules carry over), and one for the control plane.

export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** Prometheus label names allow [a-zA-Z0-9_]: kubernetes_sd maps every other character to `_`. */
export const labelName = (key: string) => key.replace(/[^a-zA-Z0-9_]/g, '_');

const hostPort = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/** The node's metrics target: what its agent reported, else its InternalIP and kubelet endpoint port. */
export function nodeTarget(node: Node): string | undefined {
  const reported = node.metadata.annotations?.[metricsEndpointAnnotation];
  if (reported) return reported;
  const port = (node.status?.daemonEndpoints as { kubeletEndpoint?: { Port?: number } } | undefined)?.kubeletEndpoint?.Port;
  const ip = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  return port && ip ? hostPort(ip, port) : undefined;
}

export function prometheusTargets(nodes: Node[], controlPlane: { target: string }): TargetGroup[] {
  const groups: TargetGroup[] = [{ targets: [controlPlane.target], labels: { job: 'skiff-control-plane', __meta_skiff_role: 'control-plane' } }];
  for (const node of nodes) {
    const target = nodeTarget(node);
    if (!target) continue;
    const name = node.metadata.name ?? '';
    const labels: Record<string, string> = { job: 'skiff-nodes', __meta_skiff_role: 'node', __meta_kubernetes_node_name: name, node: name };
    for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
      labels[`__meta_kubernetes_node_label_${labelName(k)}`] = v;
      labels[`__meta_kubernetes_node_labelpresent_${labelName(k)}`] = 'true';
    }
    groups.push({ targets: [target], labels });
  }
  return groups;
}
