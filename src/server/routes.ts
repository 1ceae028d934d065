import { resources, type ResourceInfo } from '../api/resources.js';

// URL paths to routes, from the resource table alone, with no I/O: what a request addresses
// (discovery, a collection, one object, its status) is decided here and nowhere else.

export type Route =
  | { type: 'health'; check: 'healthz' | 'livez' | 'readyz' }
  | { type: 'version' }
  | { type: 'coreVersions' }
  | { type: 'groupList' }
  | { type: 'group'; group: string }
  | { type: 'resourceList'; group: string; version: string }
  /** A container's log, read through the pod's node: /api/v1/namespaces/NS/pods/NAME/log. */
  | { type: 'podLog'; namespace: string; name: string }
  /** A command run in a container through the pod's node: /api/v1/namespaces/NS/pods/NAME/exec. */
  | { type: 'podExec'; namespace: string; name: string }
  /** A policy/v1 Eviction of a pod (what `drain` uses): /api/v1/namespaces/NS/pods/NAME/eviction. */
  | { type: 'podEviction'; namespace: string; name: string }
  /** A node's container images, loaded (POST) and listed (GET) through its agent: /api/v1/nodes/NAME/proxy/images. */
  | { type: 'nodeImages'; name: string }
  /** Resource usage read from the nodes (metrics.k8s.io/v1beta1, what metrics-server serves). */
  | { type: 'resourceMetrics'; kind: 'nodes' | 'pods'; namespace?: string; name?: string }
  | ResourceRoute;

export interface ResourceRoute {
  type: 'resource';
  info: ResourceInfo;
  /** Set for namespaced kinds addressed inside a namespace; absent means every namespace. */
  namespace?: string;
  name?: string;
  subresource?: 'status' | 'scale';
}

export const openPaths = new Set(['/healthz', '/livez', '/readyz']);

/** The groups served under /apis, in table order. */
export function apiGroups(): string[] {
  return [...new Set(resources.filter((r) => r.group !== '').map((r) => r.group))];
}

function segmentsOf(pathname: string): string[] | undefined {
  try {
    return pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

/** The route for a path, or undefined for 404. */
export function matchRoute(pathname: string): Route | undefined {
  const segs = segmentsOf(pathname);
  if (!segs) return undefined;
  if (segs.length === 1 && openPaths.has(`/${segs[0]}`)) return { type: 'health', check: segs[0] as 'healthz' | 'livez' | 'readyz' };
  if (segs.length === 1 && segs[0] === 'version') return { type: 'version' };

  if (segs[0] === 'api') {
    if (segs.length === 1) return { type: 'coreVersions' };
    if (segs[1] !== 'v1') return undefined;
    if (segs.length === 2) return { type: 'resourceList', group: '', version: 'v1' };
    if (segs.length === 7 && segs[2] === 'namespaces' && segs[4] === 'pods' && segs[6] === 'log') return { type: 'podLog', namespace: segs[3], name: segs[5] };
    if (segs.length === 7 && segs[2] === 'namespaces' && segs[4] === 'pods' && segs[6] === 'exec') return { type: 'podExec', namespace: segs[3], name: segs[5] };
    if (segs.length === 7 && segs[2] === 'namespaces' && segs[4] === 'pods' && segs[6] === 'eviction') return { type: 'podEviction', namespace: segs[3], name: segs[5] };
    if (segs.length === 6 && segs[2] === 'nodes' && segs[4] === 'proxy' && segs[5] === 'images') return { type: 'nodeImages', name: segs[3] };
    return matchResource('', segs.slice(2));
  }
  if (segs[0] === 'apis') {
    if (segs.length === 1) return { type: 'groupList' };
    if (segs[1] === metricsGroup) return matchResourceMetrics(segs.slice(2));
    const group = segs[1];
    if (!apiGroups().includes(group)) return undefined;
    if (segs.length === 2) return { type: 'group', group };
    if (segs[2] !== 'v1') return undefined;
    if (segs.length === 3) return { type: 'resourceList', group, version: 'v1' };
    return matchResource(group, segs.slice(3));
  }
  return undefined;
}

export const metricsGroup = 'metrics.k8s.io';

/** `v1beta1/nodes[/NAME]`, `v1beta1/pods`, `v1beta1/namespaces/NS/pods[/NAME]`. */
function matchResourceMetrics(rest: string[]): Route | undefined {
  if (rest.length === 0) return { type: 'group', group: metricsGroup };
  if (rest[0] !== 'v1beta1') return undefined;
  if (rest.length === 1) return { type: 'resourceList', group: metricsGroup, version: 'v1beta1' };
  const [, a, b, c, d, ...extra] = rest;
  if (extra.length) return undefined;
  if (a === 'nodes' && c === undefined) return { type: 'resourceMetrics', kind: 'nodes', ...(b !== undefined ? { name: b } : {}) };
  if (a === 'pods' && b === undefined) return { type: 'resourceMetrics', kind: 'pods' };
  if (a === 'namespaces' && b && c === 'pods') return { type: 'resourceMetrics', kind: 'pods', namespace: b, ...(d !== undefined ? { name: d } : {}) };
  return undefined;
}

/** `[namespaces, NS, PLURAL, NAME?, status|scale?]` or `[PLURAL, NAME?, status|scale?]`. */
function matchResource(group: string, rest: string[]): ResourceRoute | undefined {
  const find = (plural: string) => resources.find((r) => r.group === group && r.plural === plural);
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const info = find(rest[2]);
    if (info?.namespaced) {
      const [, namespace, , name, sub, ...extra] = rest;
      return finish(info, namespace, name, sub, extra);
    }
  }
  const info = find(rest[0]);
  if (!info) return undefined;
  const [, name, sub, ...extra] = rest;
  // One object of a namespaced kind always needs its namespace in the path.
  if (info.namespaced && name !== undefined) return undefined;
  return finish(info, undefined, name, sub, extra);
}

function finish(info: ResourceInfo, namespace: string | undefined, name: string | undefined, sub: string | undefined, extra: string[]): ResourceRoute | undefined {
  if (extra.length) return undefined;
  if (sub !== undefined && !((sub === 'status' && info.hasStatus) || (sub === 'scale' && info.hasScale))) return undefined;
  return {
    type: 'resource',
    info,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(sub ? { subresource: sub as 'status' | 'scale' } : {}),
  };
}
