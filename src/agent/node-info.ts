import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { NodeStatusReport } from '../bus/messages.js';

// What a node reports about itself: the facts kubelet puts in Node.status, read through one
// interface so a unit test can describe any machine (a Pi, an x86 VM) without being one.

export interface SystemFacts {
  hostname(): string;
  /** Contents of /etc/os-release, or undefined when absent. */
  osRelease(): string | undefined;
  kernelRelease(): string;
  /** node's process.arch: x64, arm64, arm, ... */
  arch(): string;
  platform(): string;
  cpuCount(): number;
  memoryBytes(): number;
  networkInterfaces(): NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  machineId(): string | undefined;
  bootId(): string | undefined;
}

const readOptional = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

export const hostFacts: SystemFacts = {
  hostname: () => os.hostname(),
  osRelease: () => readOptional('/etc/os-release') ?? readOptional('/usr/lib/os-release'),
  kernelRelease: () => os.release(),
  arch: () => process.arch,
  platform: () => process.platform,
  cpuCount: () => os.availableParallelism(),
  memoryBytes: () => os.totalmem(),
  networkInterfaces: () => os.networkInterfaces(),
  machineId: () => readOptional('/etc/machine-id')?.trim() || undefined,
  bootId: () => readOptional('/proc/sys/kernel/random/boot_id')?.trim() || undefined,
};

/** Go's GOARCH names, which Kubernetes labels and images use. */
export function goArch(nodeArch: string): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[nodeArch] ?? nodeArch;
}

/** PRETTY_NAME of os-release, as kubelet reports osImage. */
export function osImage(osRelease: string | undefined): string {
  const fields = new Map<string, string>();
  for (const line of (osRelease ?? '').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) fields.set(m[1], m[2].replace(/^(["'])(.*)\1$/, '$2'));
  }
  return fields.get('PRETTY_NAME') ?? fields.get('NAME') ?? 'Unknown';
}

/** The address other machines reach this node at: the first external IPv4, else IPv6, else loopback. */
export function internalIp(ifaces: NodeJS.Dict<os.NetworkInterfaceInfo[]>): string {
  const all = Object.values(ifaces).flatMap((l) => l ?? []);
  const external = all.filter((a) => !a.internal);
  return external.find((a) => a.family === 'IPv4')?.address ?? external.find((a) => a.family === 'IPv6')?.address ?? '127.0.0.1';
}

export interface NodeDescriptionInput {
  nodeName: string;
  /** From --labels; may not override the kubernetes.io/ labels the node reports itself. */
  labels: Record<string, string>;
  agentVersion: string;
  /** `containerd://1.6.20`; until the runtime layer reports it: `containerd://unknown`. */
  containerRuntimeVersion: string;
  /** --node-ip: overrides the detected InternalIP. */
  nodeIp?: string;
  maxPods?: number;
  /** The bound metrics listener; a wildcard host is reported as the InternalIP. */
  metrics?: { host: string; port: number };
}

export function describeNode(facts: SystemFacts, input: NodeDescriptionInput): NodeStatusReport {
  const arch = goArch(facts.arch());
  const operatingSystem = facts.platform();
  const internal = input.nodeIp ?? internalIp(facts.networkInterfaces());
  const wildcardHost = (h: string) => h === '' || h === '0.0.0.0' || h === '::';
  const capacity = {
    cpu: String(facts.cpuCount()),
    memory: `${Math.floor(facts.memoryBytes() / 1024)}Ki`,
    pods: String(input.maxPods ?? 110),
  };
  return {
    v: 1,
    nodeName: input.nodeName,
    labels: {
      ...input.labels,
      'kubernetes.io/arch': arch,
      'kubernetes.io/os': operatingSystem,
      'kubernetes.io/hostname': input.nodeName,
    },
    addresses: [
      { type: 'InternalIP', address: internal },
      { type: 'Hostname', address: facts.hostname() },
    ],
    capacity,
    allocatable: { ...capacity },
    nodeInfo: {
      ...(facts.machineId() ? { machineID: facts.machineId() } : {}),
      ...(facts.bootId() ? { bootID: facts.bootId() } : {}),
      kernelVersion: facts.kernelRelease(),
      osImage: osImage(facts.osRelease()),
      containerRuntimeVersion: input.containerRuntimeVersion,
      kubeletVersion: input.agentVersion,
      operatingSystem,
      architecture: arch,
    },
    ...(input.metrics ? { metricsEndpoint: { host: wildcardHost(input.metrics.host) ? internal : input.metrics.host, port: input.metrics.port } } : {}),
  };
}
