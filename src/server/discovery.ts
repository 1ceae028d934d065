import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resources } from '../api/resources.js';
import { apiGroups, metricsGroup } from './routes.js';

// Discovery documents, as kubectl and client libraries read them, built from the resource
// table: /api, /apis, /apis/GROUP, the resource lists and /version.

export function coreVersions(serverAddress: string) {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

/** metrics.k8s.io is served as metrics-server serves it, at v1beta1; every other group at v1. */
function groupDoc(name: string) {
  const version = name === metricsGroup ? 'v1beta1' : 'v1';
  const gv = { groupVersion: `${name}/${version}`, version };
  return { name, versions: [gv], preferredVersion: gv };
}

export function groupList() {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...apiGroups(), metricsGroup].map(groupDoc) };
}

/** What kubectl top looks for before it reads node and pod usage. */
const metricsResources = [
  { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
  { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
];

export function group(name: string) {
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(name) };
}

export function resourceList(groupName: string, version: string) {
  if (groupName === metricsGroup) return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${metricsGroup}/${version}`, resources: metricsResources };
  const served = resources.filter((r) => r.group === groupName && r.version === version);
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupName ? `${groupName}/${version}` : version,
    resources: served.flatMap((r) => [
      { name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs, ...(r.shortNames.length ? { shortNames: r.shortNames } : {}) },
      ...(r.hasStatus ? [{ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] }] : []),
      ...(r.kind === 'Pod' ? [{ name: 'pods/eviction', singularName: '', namespaced: true, group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] }] : []),
      ...(r.hasScale ? [{ name: `${r.plural}/scale`, singularName: '', namespaced: r.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] }] : []),
    ]),
  };
}

let cachedVersion: string | undefined;

/** This build's version, from package.json (found from src/ under tsx and from dist/ when built). */
function packageVersion(): string {
  if (cachedVersion) return cachedVersion;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'skiff' && pkg.version) return (cachedVersion = pkg.version);
    } catch {
      // no package.json at this level
    }
  }
  return (cachedVersion = '0.0.0');
}

export function versionInfo() {
  const v = packageVersion();
  const [major, minor] = v.split('.');
  return {
    major,
    minor,
    gitVersion: `v${v}`,
    gitCommit: '',
    gitTreeState: '',
    buildDate: '',
    goVersion: '',
    compiler: `node ${process.version}`,
    platform: `${process.platform}/${process.arch}`,
  };
}
