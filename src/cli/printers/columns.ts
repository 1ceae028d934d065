import { labelSelectorToString } from '../../api/selector.js';
import type {
  Container,
  Deployment,
  Event,
  KObject,
  Namespace,
  Node,
  Pod,
  PodTemplateSpec,
  ReplicaSet,
  ReplicationController,
  ResourceQuota,
} from '../../api/types.js';
import { age } from './age.js';
import { summarizePod } from './pod-status.js';

// The columns `get` prints per kind, as kubectl's server-side printers define them. Kinds
// without their own columns print NAME and AGE.

interface KindColumns {
  columns: string[];
  /** Added by `-o wide`, after the normal ones. */
  wide: string[];
  cells(obj: KObject, now: number): string[];
  wideCells(obj: KObject, now: number): string[];
}

const none = '<none>';

/** `a=b,c=d` with keys sorted, as labels.FormatLabels prints a map. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${labels![k]}`).join(',') : none;
}

function templateColumns(template: PodTemplateSpec | undefined): string[] {
  const containers: Container[] = template?.spec?.containers ?? [];
  return [containers.map((c) => c.name).join(','), containers.map((c) => c.image ?? '').join(',')];
}

const pods: KindColumns = {
  columns: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
  wide: ['IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'],
  cells(obj, now) {
    const s = summarizePod(obj as Pod, now);
    return [obj.metadata.name ?? '', s.ready, s.status, s.restarts, age(obj.metadata.creationTimestamp, now)];
  },
  wideCells(obj) {
    const pod = obj as Pod & { spec: { readinessGates?: { conditionType: string }[] }; status?: { nominatedNodeName?: string } };
    const ip = pod.status?.podIPs?.map((p) => p.ip).join(',') || pod.status?.podIP || none;
    const gates = pod.spec?.readinessGates ?? [];
    const gatesTrue = gates.filter((g) => pod.status?.conditions?.find((c) => c.type === g.conditionType)?.status === 'True');
    return [
      ip,
      pod.spec?.nodeName || none,
      pod.status?.nominatedNodeName || none,
      gates.length ? `${gatesTrue.length}/${gates.length}` : none,
    ];
  },
};

function nodeStatus(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

const rolePrefix = 'node-role.kubernetes.io/';

function nodeRoles(node: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith(rolePrefix) && k.length > rolePrefix.length) roles.add(k.slice(rolePrefix.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : none;
}

const nodes: KindColumns = {
  columns: ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'],
  wide: ['INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME'],
  cells(obj, now) {
    const node = obj as Node;
    return [node.metadata.name ?? '', nodeStatus(node), nodeRoles(node), age(node.metadata.creationTimestamp, now), node.status?.nodeInfo?.kubeletVersion ?? ''];
  },
  wideCells(obj) {
    const node = obj as Node;
    const address = (type: string) => node.status?.addresses?.find((a) => a.type === type)?.address || none;
    const info = node.status?.nodeInfo;
    return [
      address('InternalIP'),
      address('ExternalIP'),
      info?.osImage || '<unknown>',
      info?.kernelVersion || '<unknown>',
      info?.containerRuntimeVersion || '<unknown>',
    ];
  },
};

const namespaces: KindColumns = {
  columns: ['NAME', 'STATUS', 'AGE'],
  wide: [],
  cells: (obj, now) => [obj.metadata.name ?? '', (obj as Namespace).status?.phase ?? '', age(obj.metadata.creationTimestamp, now)],
  wideCells: () => [],
};

const deployments: KindColumns = {
  columns: ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'],
  wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
  cells(obj, now) {
    const d = obj as Deployment;
    const st = d.status ?? {};
    return [
      d.metadata.name ?? '',
      `${st.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`,
      String(st.updatedReplicas ?? 0),
      String(st.availableReplicas ?? 0),
      age(d.metadata.creationTimestamp, now),
    ];
  },
  wideCells(obj) {
    const d = obj as Deployment;
    return [...templateColumns(d.spec?.template), labelSelectorToString(d.spec?.selector ?? {})];
  },
};

function replicaColumns(selector: (obj: KObject) => string): KindColumns {
  return {
    columns: ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE'],
    wide: ['CONTAINERS', 'IMAGES', 'SELECTOR'],
    cells(obj, now) {
      const rs = obj as ReplicaSet;
      return [
        rs.metadata.name ?? '',
        String(rs.spec?.replicas ?? 1),
        String(rs.status?.replicas ?? 0),
        String(rs.status?.readyReplicas ?? 0),
        age(rs.metadata.creationTimestamp, now),
      ];
    },
    wideCells: (obj) => [...templateColumns((obj as ReplicaSet).spec?.template), selector(obj)],
  };
}

function eventTimes(e: Event, now: number): { first: string; last: string } {
  const eventTime = (e as Event & { eventTime?: string }).eventTime;
  const first = age(e.firstTimestamp || eventTime, now);
  return { first, last: e.lastTimestamp ? age(e.lastTimestamp, now) : first };
}

function eventTarget(e: Event): string {
  const kind = (e.involvedObject?.kind ?? '').toLowerCase();
  return e.involvedObject?.name ? `${kind}/${e.involvedObject.name}` : kind;
}

const events: KindColumns = {
  columns: ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
  wide: ['SUBOBJECT', 'SOURCE', 'FIRST SEEN', 'COUNT', 'NAME'],
  cells(obj, now) {
    const e = obj as Event;
    return [eventTimes(e, now).last, e.type ?? '', e.reason ?? '', eventTarget(e), (e.message ?? '').trim()];
  },
  wideCells(obj, now) {
    const e = obj as Event;
    return [e.involvedObject?.fieldPath ?? '', eventSource(e), eventTimes(e, now).first, String(e.count ?? 1), e.metadata.name ?? ''];
  },
};

/** `kubelet, node-1`: who reported an event, as describe and `get events -o wide` print it. */
export function eventSource(e: Event): string {
  const component = e.source?.component || e.reportingComponent || '';
  const host = e.source?.host || e.reportingInstance || '';
  return host ? `${component}, ${host}` : component;
}

/** kubectl's quota columns: `requests.cpu: 500m/1, pods: 2/10` (used/hard), limits apart. */
function quotaCell(q: ResourceQuota, limits: boolean): string {
  const hard = q.status?.hard ?? q.spec?.hard ?? {};
  const used = q.status?.used ?? {};
  return Object.keys(hard)
    .sort()
    .filter((k) => k.startsWith('limits') === limits)
    .map((k) => `${k}: ${used[k] ?? 0}/${hard[k]}`)
    .join(', ');
}

const resourceQuotas: KindColumns = {
  columns: ['NAME', 'AGE', 'REQUEST', 'LIMIT'],
  wide: [],
  cells: (obj, now) => [obj.metadata.name ?? '', age(obj.metadata.creationTimestamp, now), quotaCell(obj as ResourceQuota, false), quotaCell(obj as ResourceQuota, true)],
  wideCells: () => [],
};

const limitRanges: KindColumns = {
  columns: ['NAME', 'CREATED AT'],
  wide: [],
  cells: (obj) => [obj.metadata.name ?? '', obj.metadata.creationTimestamp ?? ''],
  wideCells: () => [],
};

const generic: KindColumns = {
  columns: ['NAME', 'AGE'],
  wide: [],
  cells: (obj, now) => [obj.metadata.name ?? '', age(obj.metadata.creationTimestamp, now)],
  wideCells: () => [],
};

const byKind: Record<string, KindColumns> = {
  Pod: pods,
  Node: nodes,
  Namespace: namespaces,
  Deployment: deployments,
  ReplicaSet: replicaColumns((obj) => labelSelectorToString((obj as ReplicaSet).spec?.selector ?? {})),
  ReplicationController: replicaColumns((obj) => formatLabels((obj as ReplicationController).spec?.selector)),
  Event: events,
  ResourceQuota: resourceQuotas,
  LimitRange: limitRanges,
};

export interface TableOptions {
  wide?: boolean;
  /** Adds NAMESPACE first, as `-A` does. */
  withNamespace?: boolean;
  showLabels?: boolean;
  now?: number;
}

/** Events are the one kind whose table does not start with NAME; `-A` still puts NAMESPACE first. */
export function tableHeader(kind: string, opts: TableOptions): string[] {
  const k = byKind[kind] ?? generic;
  return [...(opts.withNamespace ? ['NAMESPACE'] : []), ...k.columns, ...(opts.wide ? k.wide : []), ...(opts.showLabels ? ['LABELS'] : [])];
}

export function tableRow(obj: KObject, opts: TableOptions): string[] {
  const k = byKind[obj.kind] ?? generic;
  const now = opts.now ?? Date.now();
  return [
    ...(opts.withNamespace ? [obj.metadata.namespace ?? ''] : []),
    ...k.cells(obj, now),
    ...(opts.wide ? k.wideCells(obj, now) : []),
    ...(opts.showLabels ? [formatLabels(obj.metadata.labels)] : []),
  ];
}
