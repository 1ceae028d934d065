import type { Container, Node, Pod, PodSpec, Taint } from '../../../src/api/types.js';

// Small builders for nodes and pods as the scheduler tests need them.

export interface NodeSpecInput {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  /** Ready condition status; undefined leaves the condition out. Default 'True'. */
  ready?: 'True' | 'False' | 'Unknown' | undefined;
}

export function makeNode(name: string, input: NodeSpecInput = {}): Node {
  const ready = 'ready' in input ? input.ready : 'True';
  const allocatable = { cpu: input.cpu ?? '4', memory: input.memory ?? '8Gi', pods: input.pods ?? '110' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...input.labels } },
    spec: { ...(input.unschedulable ? { unschedulable: true } : {}), ...(input.taints ? { taints: input.taints } : {}) },
    status: {
      capacity: allocatable,
      allocatable,
      conditions: ready ? [{ type: 'Ready', status: ready }] : [],
    },
  };
}

export interface PodInput {
  namespace?: string;
  cpu?: string;
  memory?: string;
  nodeName?: string;
  spec?: Partial<PodSpec>;
  containers?: Container[];
  initContainers?: Container[];
  ownerUid?: string;
  uid?: string;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  hostPort?: number;
}

export function makePod(name: string, input: PodInput = {}): Pod {
  const requests: Record<string, string> = {};
  if (input.cpu) requests.cpu = input.cpu;
  if (input.memory) requests.memory = input.memory;
  const container: Container = {
    name: 'app',
    image: 'docker.io/library/busybox:1',
    ...(Object.keys(requests).length ? { resources: { requests } } : {}),
    ...(input.hostPort ? { ports: [{ containerPort: 80, hostPort: input.hostPort, protocol: 'TCP' as const }] } : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: input.namespace ?? 'default',
      uid: input.uid ?? `uid-${name}`,
      ...(input.ownerUid ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: input.ownerUid, controller: true }] } : {}),
    },
    spec: {
      containers: input.containers ?? [container],
      ...(input.initContainers ? { initContainers: input.initContainers } : {}),
      ...(input.nodeName ? { nodeName: input.nodeName } : {}),
      ...input.spec,
    },
    status: { phase: input.phase ?? 'Pending' },
  };
}
