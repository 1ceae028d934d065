import { join } from 'node:path';
import { parseQuantity, toMilli } from '../../api/quantity.js';
import type { Container, EnvVar, Pod } from '../../api/types.js';
import type { ContainerConfig, DNSConfig, KeyValue, LinuxContainerResources, Mount, PodSandboxConfig, PortMapping } from '../../cri/types.js';
import { labels } from './labels.js';

// The CRI requests for a pod, built from its spec: pure apart from the paths it is given, so a
// unit test checks exactly what containerd is asked for.

export interface PodPaths {
  /** DATA_DIR/pods/UID */
  podDir: string;
}

export const podDir = (dataDir: string, uid: string) => join(dataDir, 'pods', uid);
export const logDirOf = (podDirPath: string) => join(podDirPath, 'logs');
export const volumeDirOf = (podDirPath: string, kind: 'empty-dir', name: string) => join(podDirPath, 'volumes', kind, name);

/** nameserver/search/options of a resolv.conf, as CRI's DNSConfig. */
export function parseResolvConf(text: string): DNSConfig {
  const servers: string[] = [];
  const searches: string[] = [];
  const options: string[] = [];
  for (const raw of text.split('\n')) {
    const [key, ...rest] = raw.replace(/[#;].*$/, '').trim().split(/\s+/);
    if (key === 'nameserver' && rest[0]) servers.push(rest[0]);
    else if ((key === 'search' || key === 'domain') && rest.length) searches.splice(0, searches.length, ...rest);
    else if (key === 'options') options.push(...rest);
  }
  return { servers, searches, options };
}

export function podLabels(pod: Pod): Record<string, string> {
  return {
    ...(pod.metadata.labels ?? {}),
    [labels.podName]: pod.metadata.name!,
    [labels.podNamespace]: pod.metadata.namespace!,
    [labels.podUid]: pod.metadata.uid!,
    [labels.managed]: 'true',
  };
}

export function sandboxConfig(pod: Pod, attempt: number, paths: PodPaths, dns: DNSConfig): PodSandboxConfig {
  const hostNetwork = !!pod.spec.hostNetwork;
  const portMappings: PortMapping[] = pod.spec.containers.flatMap((c) =>
    (c.ports ?? [])
      .filter((p) => p.hostPort)
      .map((p) => ({ protocol: p.protocol ?? 'TCP', containerPort: p.containerPort, hostPort: p.hostPort, ...(p.hostIP ? { hostIp: p.hostIP } : {}) })),
  );
  return {
    metadata: { name: pod.metadata.name!, uid: pod.metadata.uid!, namespace: pod.metadata.namespace!, attempt },
    // A hostNetwork pod shares the node's UTS namespace: CRI refuses a hostname for it.
    hostname: hostNetwork ? '' : (pod.spec.hostname ?? pod.metadata.name!).slice(0, 63),
    logDirectory: logDirOf(paths.podDir),
    dnsConfig: dns,
    portMappings,
    labels: podLabels(pod),
    annotations: pod.metadata.annotations ?? {},
    linux: { securityContext: { namespaceOptions: { network: hostNetwork ? 'NODE' : 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
  };
}

/** Values a fieldRef may name, known when the container is created. */
export interface FieldValues {
  nodeName: string;
  podIP?: string;
  hostIP?: string;
}

function fieldValue(pod: Pod, path: string, f: FieldValues): string | undefined {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]];
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'spec.nodeName':
      return f.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName;
    case 'status.podIP':
      return f.podIP;
    case 'status.hostIP':
      return f.hostIP;
    default:
      return undefined;
  }
}

/** `$(VAR)` references to earlier variables expand; `$$(VAR)` stays literal, as in Kubernetes. */
function expand(value: string, env: Map<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (all, name: string | undefined) => (name === undefined ? '$' : (env.get(name) ?? all)));
}

export function containerEnv(pod: Pod, c: Container, f: FieldValues): KeyValue[] {
  const env = new Map<string, string>();
  for (const e of c.env ?? ([] as EnvVar[])) {
    if (e.value !== undefined) env.set(e.name, expand(e.value, env));
    else if (e.valueFrom?.fieldRef) env.set(e.name, fieldValue(pod, e.valueFrom.fieldRef.fieldPath, f) ?? '');
    else if (!e.valueFrom) env.set(e.name, '');
  }
  return [...env].map(([key, value]) => ({ key, value }));
}

const CPU_PERIOD = 100_000;

/** kubelet's mapping: limits.cpu → CFS quota over a 100 ms period, requests.cpu → shares, limits.memory → bytes. */
export function linuxResources(c: Container): LinuxContainerResources {
  const r: LinuxContainerResources = {};
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  const cpuRequest = requests.cpu ?? limits.cpu;
  r.cpuShares = cpuRequest !== undefined ? Math.max(2, Math.floor((toMilli(cpuRequest) * 1024) / 1000)) : 2;
  if (limits.cpu !== undefined) {
    r.cpuPeriod = CPU_PERIOD;
    r.cpuQuota = Math.max(1000, Math.floor((toMilli(limits.cpu) * CPU_PERIOD) / 1000));
  }
  if (limits.memory !== undefined) r.memoryLimitInBytes = Math.floor(parseQuantity(limits.memory));
  return r;
}

export function containerMounts(pod: Pod, c: Container, paths: PodPaths): Mount[] {
  const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
  const mounts: Mount[] = [];
  for (const vm of c.volumeMounts ?? []) {
    const v = volumes.get(vm.name);
    let hostPath: string | undefined;
    if (v?.emptyDir) hostPath = volumeDirOf(paths.podDir, 'empty-dir', v.name);
    else if (v?.hostPath) hostPath = v.hostPath.path;
    if (!hostPath) continue;
    mounts.push({ containerPath: vm.mountPath, hostPath: vm.subPath ? join(hostPath, vm.subPath) : hostPath, readonly: !!vm.readOnly });
  }
  return mounts;
}

export function containerConfig(pod: Pod, c: Container, kind: 'init' | 'app', attempt: number, paths: PodPaths, f: FieldValues): ContainerConfig {
  const sc = (c.securityContext ?? {}) as { privileged?: boolean; runAsUser?: number; runAsGroup?: number; readOnlyRootFilesystem?: boolean };
  return {
    metadata: { name: c.name, attempt },
    image: { image: c.image ?? '' },
    ...(c.command?.length ? { command: c.command } : {}),
    ...(c.args?.length ? { args: c.args } : {}),
    ...(c.workingDir ? { workingDir: c.workingDir } : {}),
    envs: containerEnv(pod, c, f),
    mounts: containerMounts(pod, c, paths),
    labels: { ...podLabels(pod), [labels.containerName]: c.name, [labels.containerKind]: kind },
    annotations: {},
    logPath: join(c.name, `${attempt}.log`),
    stdin: !!c.stdin,
    tty: !!c.tty,
    linux: {
      resources: linuxResources(c),
      securityContext: {
        namespaceOptions: { network: pod.spec.hostNetwork ? 'NODE' : 'POD', pid: 'CONTAINER', ipc: 'POD' },
        ...(sc.privileged ? { privileged: true } : {}),
        ...(sc.runAsUser !== undefined ? { runAsUser: { value: sc.runAsUser } } : {}),
        ...(sc.runAsGroup !== undefined ? { runAsGroup: { value: sc.runAsGroup } } : {}),
        ...(sc.readOnlyRootFilesystem ? { readonlyRootfs: true } : {}),
      },
    },
  };
}

/** Host directories the pod's volumes need before its containers start. */
export function volumeDirs(pod: Pod, paths: PodPaths): string[] {
  const dirs: string[] = [];
  for (const v of pod.spec.volumes ?? []) {
    if (v.emptyDir) dirs.push(volumeDirOf(paths.podDir, 'empty-dir', v.name));
    else if (v.hostPath?.type === 'DirectoryOrCreate') dirs.push(v.hostPath.path);
  }
  return dirs;
}
