import { formatBytes, formatCpuMilli, parseQuantity, toMilli } from '../../api/quantity.js';
import type { Container, LimitRange, Namespace, Node, Pod, ResourceQuota } from '../../api/types.js';
import { age } from '../printers/age.js';
import type { DescribeWriter } from '../printers/describe-writer.js';
import { rfc1123z, writeAnnotations, writeLabels } from './common.js';
import { writeLimitRangeHeader, writeLimitRangeItems, writeQuotaUsage } from './quota.js';

// describe for nodes (with the pods on them and what they request) and namespaces (with their
// quotas and limit ranges).

function roles(node: Node): string {
  const out = Object.keys(node.metadata.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter(Boolean)
    .sort();
  return out.length ? out.join(',') : '<none>';
}

function sumResource(containers: Container[], kind: 'requests' | 'limits', resource: string): number {
  let total = 0;
  for (const c of containers) {
    const q = c.resources?.[kind]?.[resource];
    if (q === undefined) continue;
    try {
      total += resource === 'cpu' ? toMilli(q) : parseQuantity(q);
    } catch {
      // an unreadable quantity was rejected by the server already; ignore it here
    }
  }
  return total;
}

function fmt(resource: string, v: number): string {
  return resource === 'cpu' ? formatCpuMilli(v) : formatBytes(v);
}

function percent(used: number, capacity: number): string {
  return capacity > 0 ? ` (${Math.trunc((used / capacity) * 100)}%)` : '';
}

function allocatable(node: Node, resource: string): number {
  const q = node.status?.allocatable?.[resource] ?? node.status?.capacity?.[resource];
  if (q === undefined) return 0;
  try {
    return resource === 'cpu' ? toMilli(q) : parseQuantity(q);
  } catch {
    return 0;
  }
}

export function describeNode(w: DescribeWriter, node: Node, pods: Pod[], now: number): void {
  w.field(0, 'Name', node.metadata.name);
  w.field(0, 'Roles', roles(node));
  writeLabels(w, 0, 'Labels', node.metadata.labels);
  writeAnnotations(w, 0, node.metadata.annotations);
  w.field(0, 'CreationTimestamp', rfc1123z(node.metadata.creationTimestamp));
  const taints = node.spec?.taints ?? [];
  if (taints.length === 0) w.field(0, 'Taints', '<none>');
  else taints.forEach((t, i) => w.line(0, `${i === 0 ? 'Taints:' : ''}\t${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`));
  w.field(0, 'Unschedulable', node.spec?.unschedulable ? 'true' : 'false');

  const conditions = node.status?.conditions ?? [];
  if (conditions.length) {
    w.line(0, 'Conditions:');
    w.line(1, 'Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage');
    w.line(1, '----\t------\t-----------------\t------------------\t------\t-------');
    for (const c of conditions) {
      w.line(1, `${c.type} \t${c.status} \t${rfc1123z(c.lastHeartbeatTime)} \t${rfc1123z(c.lastTransitionTime)} \t${c.reason ?? ''} \t${c.message ?? ''}`);
    }
  }
  const addresses = node.status?.addresses ?? [];
  if (addresses.length) {
    w.line(0, 'Addresses:');
    for (const a of addresses) w.field(1, a.type, a.address);
  }
  for (const [title, list] of [
    ['Capacity', node.status?.capacity],
    ['Allocatable', node.status?.allocatable],
  ] as const) {
    if (!list || Object.keys(list).length === 0) continue;
    w.line(0, `${title}:`);
    for (const k of Object.keys(list).sort()) w.field(1, k, String(list[k]));
  }
  const info = node.status?.nodeInfo;
  if (info) {
    w.line(0, 'System Info:');
    w.field(1, 'Machine ID', info.machineID ?? '');
    w.field(1, 'Boot ID', info.bootID ?? '');
    w.field(1, 'Kernel Version', info.kernelVersion);
    w.field(1, 'OS Image', info.osImage);
    w.field(1, 'Operating System', info.operatingSystem);
    w.field(1, 'Architecture', info.architecture);
    w.field(1, 'Container Runtime Version', info.containerRuntimeVersion);
    w.field(1, 'Kubelet Version', info.kubeletVersion);
  }
  if (node.spec?.podCIDR) w.field(0, 'PodCIDR', node.spec.podCIDR);
  if (node.spec?.podCIDRs?.length) w.field(0, 'PodCIDRs', node.spec.podCIDRs.join(','));

  const running = pods.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
  w.field(0, 'Non-terminated Pods', `(${running.length} in total)`);
  w.line(1, 'Namespace\tName\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge');
  w.line(1, '---------\t----\t------------\t----------\t---------------\t-------------\t---');
  const cpuCap = allocatable(node, 'cpu');
  const memCap = allocatable(node, 'memory');
  for (const p of running) {
    const cs = p.spec?.containers ?? [];
    const cell = (kind: 'requests' | 'limits', r: string, cap: number) => {
      const v = sumResource(cs, kind, r);
      return `${fmt(r, v)}${percent(v, cap)}`;
    };
    w.line(
      1,
      `${p.metadata.namespace}\t${p.metadata.name}\t${cell('requests', 'cpu', cpuCap)}\t${cell('limits', 'cpu', cpuCap)}\t` +
        `${cell('requests', 'memory', memCap)}\t${cell('limits', 'memory', memCap)}\t${age(p.metadata.creationTimestamp, now)}`,
    );
  }
  w.line(0, 'Allocated resources:');
  w.line(1, '(Total limits may be over 100 percent, i.e., overcommitted.)');
  w.line(1, 'Resource\tRequests\tLimits');
  w.line(1, '--------\t--------\t------');
  const all = running.flatMap((p) => p.spec?.containers ?? []);
  for (const [r, cap] of [
    ['cpu', cpuCap],
    ['memory', memCap],
  ] as const) {
    const req = sumResource(all, 'requests', r);
    const lim = sumResource(all, 'limits', r);
    w.line(1, `${r}\t${fmt(r, req)}${percent(req, cap)}\t${fmt(r, lim)}${percent(lim, cap)}`);
  }
}

export function describeNamespace(w: DescribeWriter, ns: Namespace, quotas: ResourceQuota[], limits: LimitRange[]): void {
  w.field(0, 'Name', ns.metadata.name);
  writeLabels(w, 0, 'Labels', ns.metadata.labels);
  writeAnnotations(w, 0, ns.metadata.annotations);
  w.field(0, 'Status', ns.status?.phase ?? '');
  w.line(0, '');
  if (quotas.length === 0) w.line(0, 'No resource quota.');
  for (const q of quotas) {
    w.line(0, 'Resource Quotas');
    w.field(1, 'Name', q.metadata.name);
    // kubectl's namespace describer rules these columns with three dashes, its quota describer with four.
    writeQuotaUsage(w, 1, q, '---');
  }
  w.line(0, '');
  if (limits.length === 0) w.line(0, 'No LimitRange resource.');
  for (const l of limits) {
    w.line(0, 'Resource Limits');
    writeLimitRangeHeader(w, 1);
    writeLimitRangeItems(w, 1, l.spec?.limits ?? []);
  }
}
