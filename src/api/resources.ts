// The kinds Skiff serves, with the names kubectl users type for them. Server routes, discovery
// and the CLI's kind lookup all read this one table.

export interface ResourceInfo {
  kind: string;
  /** '' for the core group. */
  group: string;
  version: string;
  /** REST path segment and store key prefix: `pods`, `deployments`. */
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  verbs: string[];
  /** Has a `/status` subresource whose writes do not touch spec. */
  hasStatus: boolean;
  /** Has a `/scale` subresource (autoscaling/v1 Scale) that reads and writes spec.replicas. */
  hasScale: boolean;
}

const allVerbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

function r(
  kind: string,
  group: string,
  plural: string,
  shortNames: string[],
  namespaced = true,
  hasStatus = true,
  hasScale = false,
): ResourceInfo {
  return {
    kind,
    group,
    version: 'v1',
    plural,
    singular: kind.toLowerCase(),
    shortNames,
    namespaced,
    verbs: allVerbs,
    hasStatus,
    hasScale,
  };
}

export const resources: readonly ResourceInfo[] = [
  r('Namespace', '', 'namespaces', ['ns'], false),
  r('Node', '', 'nodes', ['no'], false),
  r('Pod', '', 'pods', ['po']),
  r('Event', '', 'events', ['ev'], true, false),
  r('ReplicationController', '', 'replicationcontrollers', ['rc'], true, true, true),
  r('ResourceQuota', '', 'resourcequotas', ['quota']),
  r('LimitRange', '', 'limitranges', ['limits'], true, false),
  r('Deployment', 'apps', 'deployments', ['deploy'], true, true, true),
  r('ReplicaSet', 'apps', 'replicasets', ['rs'], true, true, true),
  r('DaemonSet', 'apps', 'daemonsets', ['ds']),
  r('Job', 'batch', 'jobs', []),
  r('CronJob', 'batch', 'cronjobs', ['cj']),
];

export function apiVersionOf(info: ResourceInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

/** `replicasets.apps`, `pods`: how Kubernetes names a resource in error messages. */
export function groupResource(info: ResourceInfo): string {
  return info.group ? `${info.plural}.${info.group}` : info.plural;
}

export function resourceByKind(kind: string, apiVersion?: string): ResourceInfo | undefined {
  return resources.find((x) => x.kind === kind && (apiVersion === undefined || apiVersionOf(x) === apiVersion));
}

export function resourceByPlural(group: string, plural: string): ResourceInfo | undefined {
  return resources.find((x) => x.group === group && x.plural === plural);
}

/** Every spelling kubectl accepts for a kind: `po`, `pod`, `pods`, `Pod`, `pods.v1`, `deployments.apps`. */
export function resourceByName(name: string): ResourceInfo | undefined {
  const lower = name.toLowerCase();
  const [base, ...rest] = lower.split('.');
  const group = rest.filter((p) => !/^v\d/.test(p)).join('.');
  return resources.find(
    (x) =>
      (group === '' || x.group === group) &&
      (x.plural === base || x.singular === base || x.shortNames.includes(base) || x.kind.toLowerCase() === base),
  );
}

/** Names to compare an unknown kind against for "did you mean". */
export function knownKindNames(): string[] {
  return resources.flatMap((x) => [x.kind, x.plural, x.singular, ...x.shortNames]);
}
