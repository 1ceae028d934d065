import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { connectRuntime } from '../cri/client.js';

// `ctl check`: what a machine needs before it runs Skiff, like kubeadm's preflight. Every check
// reads the machine through PreflightHost, so unit tests give it a fake /proc and /sys; each
// result says what is wrong and the exact command or edit that fixes it. A failed check is
// one Skiff cannot run without; a warning is one it runs with, worse.

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  message: string;
  fix?: string;
}

export type Role = 'server' | 'agent';

export interface PreflightHost {
  /** The file's text, or undefined if it cannot be read. */
  readFile(path: string): string | undefined;
  exists(path: string): boolean;
  /** The executable's path on PATH (or in /usr/sbin, /sbin), or undefined. */
  which(bin: string): string | undefined;
  portFree(port: number): Promise<boolean>;
  /** stdout of a command that exited 0, or undefined. */
  run(cmd: string, args: string[]): Promise<string | undefined>;
  /** `containerd 1.6.20` from the CRI runtime at `endpoint`; throws why not. */
  criVersion(endpoint: string): Promise<string>;
  /** Bytes free for unprivileged use on the filesystem holding `path` (or its nearest parent). */
  freeDiskBytes(path: string): Promise<number | undefined>;
}

export interface PreflightOptions {
  role: Role;
  /** Where Skiff keeps its state; its filesystem needs room. */
  dataDir: string;
  /** The agent's CRI endpoint when it uses an existing runtime; otherwise it runs its own containerd. */
  containerRuntimeEndpoint?: string;
  apiPort?: number;
  natsPort?: number;
  metricsPort?: number;
}

export const CNI_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];
const CNI_PLUGINS = ['bridge', 'host-local', 'loopback', 'portmap'];
const MiB = 1024 * 1024;

const piFix =
  'enable the memory cgroup: add "cgroup_memory=1 cgroup_enable=memory" to the single line of /boot/firmware/cmdline.txt (older Raspberry Pi OS: /boot/cmdline.txt) and reboot; on other machines remove "cgroup_disable=memory" from the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub) and reboot';

export function checkCgroups(host: PreflightHost): CheckResult[] {
  const v2 = host.readFile('/sys/fs/cgroup/cgroup.controllers');
  if (v2 !== undefined) {
    const controllers = v2.trim().split(/\s+/);
    return [
      { name: 'cgroups', status: 'ok', message: 'cgroup v2 (unified hierarchy)' },
      controllers.includes('memory')
        ? { name: 'memory-cgroup', status: 'ok', message: 'the memory controller is enabled' }
        : { name: 'memory-cgroup', status: 'fail', message: 'the memory cgroup controller is not enabled: memory limits and requests cannot work', fix: piFix },
    ];
  }
  const v1 = host.readFile('/proc/cgroups');
  if (v1 === undefined) {
    return [{ name: 'cgroups', status: 'fail', message: 'no cgroup filesystem: neither /sys/fs/cgroup/cgroup.controllers nor /proc/cgroups is readable', fix: 'mount cgroup2 on /sys/fs/cgroup (systemd does this at boot) or boot a kernel with cgroups enabled' }];
  }
  const memory = v1
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((cols) => cols[0] === 'memory');
  return [
    { name: 'cgroups', status: 'ok', message: 'cgroup v1 (legacy hierarchy); v2 is preferred but v1 works' },
    memory && memory[3] === '1'
      ? { name: 'memory-cgroup', status: 'ok', message: 'the memory controller is enabled' }
      : { name: 'memory-cgroup', status: 'fail', message: 'the memory cgroup controller is not enabled: memory limits and requests cannot work', fix: piFix },
  ];
}

export function checkSwap(host: PreflightHost): CheckResult {
  const lines = (host.readFile('/proc/swaps') ?? '').split('\n').slice(1).filter((l) => l.trim());
  if (lines.length === 0) return { name: 'swap', status: 'ok', message: 'swap is off' };
  return {
    name: 'swap',
    status: 'warn',
    message: `swap is on (${lines.map((l) => l.split(/\s+/)[0]).join(', ')}): containers can swap past their memory limits`,
    fix: 'sudo swapoff -a, then remove the swap line from /etc/fstab (Raspberry Pi OS: sudo systemctl disable --now dphys-swapfile)',
  };
}

export function checkMemory(host: PreflightHost, role: Role): CheckResult {
  const m = /^MemTotal:\s+(\d+)\s+kB/m.exec(host.readFile('/proc/meminfo') ?? '');
  if (!m) return { name: 'memory', status: 'warn', message: 'cannot read MemTotal from /proc/meminfo' };
  const total = Number(m[1]) * 1024;
  const need = role === 'server' ? 512 * MiB : 256 * MiB;
  const shown = `${Math.round(total / MiB)} MiB`;
  if (total < need) return { name: 'memory', status: 'fail', message: `${shown} of memory; a ${role} needs at least ${need / MiB} MiB`, fix: 'use a machine with more memory' };
  if (total < 2 * need) return { name: 'memory', status: 'warn', message: `${shown} of memory leaves little room for pods (${2 * need / MiB} MiB or more recommended)` };
  return { name: 'memory', status: 'ok', message: `${shown} of memory` };
}

export async function checkDisk(host: PreflightHost, dataDir: string): Promise<CheckResult> {
  const free = await host.freeDiskBytes(dataDir);
  if (free === undefined) return { name: 'disk', status: 'warn', message: `cannot tell the free space of the filesystem holding ${dataDir}` };
  const shown = `${(free / 1024 / MiB).toFixed(1)} GiB free for ${dataDir}`;
  if (free < 1024 * MiB) return { name: 'disk', status: 'fail', message: `${shown}; Skiff needs at least 1 GiB for images and state`, fix: `free space on the filesystem holding ${dataDir}, or pass --data-dir on a larger disk` };
  if (free < 4 * 1024 * MiB) return { name: 'disk', status: 'warn', message: `${shown}; 4 GiB or more is recommended for container images` };
  return { name: 'disk', status: 'ok', message: shown };
}

export async function checkClock(host: PreflightHost): Promise<CheckResult> {
  if (!host.which('timedatectl')) {
    return { name: 'clock', status: 'warn', message: 'cannot tell whether the clock is synchronised (no timedatectl)', fix: 'install and enable an NTP client (sudo apt-get install -y systemd-timesyncd)' };
  }
  const synced = (await host.run('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']))?.trim();
  if (synced === 'yes') return { name: 'clock', status: 'ok', message: 'the clock is synchronised (NTP)' };
  return {
    name: 'clock',
    status: 'warn',
    message: synced === 'no' ? 'the clock is not synchronised: certificates may look not yet valid or expired' : 'cannot tell whether the clock is synchronised (timedatectl gave no answer)',
    fix: 'sudo timedatectl set-ntp true (a Raspberry Pi has no battery-backed clock and needs NTP after every boot)',
  };
}

export function checkBinaries(host: PreflightHost, opts: PreflightOptions): CheckResult[] {
  const want: [string, string][] =
    opts.role === 'server'
      ? [['nats-server', 'nats-server']]
      : [
          ...(opts.containerRuntimeEndpoint ? [] : ([['containerd', 'containerd'], ['runc', 'runc']] as [string, string][])),
          ['iptables', 'iptables'],
          ['ip', 'iproute2'],
        ];
  return want.map(([bin, pkg]) => {
    const path = host.which(bin);
    return path
      ? { name: bin, status: 'ok', message: `${bin} found at ${path}` }
      : { name: bin, status: 'fail', message: `${bin} is not installed`, fix: `sudo apt-get install -y ${pkg}` };
  });
}

export function checkCniPlugins(host: PreflightHost): CheckResult {
  for (const dir of CNI_DIRS) {
    const missing = CNI_PLUGINS.filter((p) => !host.exists(join(dir, p)));
    if (missing.length === 0) return { name: 'cni-plugins', status: 'ok', message: `CNI plugins ${CNI_PLUGINS.join(', ')} in ${dir}` };
  }
  return { name: 'cni-plugins', status: 'fail', message: `the CNI plugins ${CNI_PLUGINS.join(', ')} are not all in ${CNI_DIRS.join(' or ')}`, fix: 'sudo apt-get install -y containernetworking-plugins' };
}

export async function checkRuntime(host: PreflightHost, endpoint: string | undefined): Promise<CheckResult> {
  if (!endpoint) return { name: 'container-runtime', status: 'ok', message: "the agent runs its own containerd with CRI enabled under its data dir" };
  try {
    return { name: 'container-runtime', status: 'ok', message: `${await host.criVersion(endpoint)} answers CRI at ${endpoint}` };
  } catch (e) {
    return {
      name: 'container-runtime',
      status: 'fail',
      message: `no CRI runtime answers at ${endpoint}: ${(e as Error).message}`,
      fix: `start it (sudo systemctl enable --now containerd) and make sure CRI is on: "cri" must not be in disabled_plugins in /etc/containerd/config.toml (then sudo systemctl restart containerd); or drop --container-runtime-endpoint so the agent runs its own containerd`,
    };
  }
}

export async function checkPorts(host: PreflightHost, opts: PreflightOptions): Promise<CheckResult[]> {
  const ports: [number, string, CheckStatus][] =
    opts.role === 'server'
      ? [
          [opts.apiPort ?? 6443, 'API server (--api-port)', 'fail'],
          [opts.natsPort ?? 4222, 'NATS (--nats-port)', 'fail'],
        ]
      : [[opts.metricsPort ?? 10249, 'agent metrics (--metrics-bind-address)', 'warn']];
  const out: CheckResult[] = [];
  for (const [port, what, severity] of ports) {
    out.push(
      (await host.portFree(port))
        ? { name: `port-${port}`, status: 'ok', message: `port ${port} (${what}) is free` }
        : { name: `port-${port}`, status: severity, message: `port ${port} (${what}) is in use`, fix: `find what listens there (sudo ss -ltnp 'sport = :${port}') and stop it, or pick another port with the flag` },
    );
  }
  return out;
}

export async function runPreflight(host: PreflightHost, opts: PreflightOptions): Promise<CheckResult[]> {
  const agent = opts.role === 'agent';
  return [
    ...(agent ? checkCgroups(host) : []),
    ...(agent ? [checkSwap(host)] : []),
    ...checkBinaries(host, opts),
    ...(agent ? [await checkRuntime(host, opts.containerRuntimeEndpoint), checkCniPlugins(host)] : []),
    ...(await checkPorts(host, opts)),
    await checkClock(host),
    checkMemory(host, opts.role),
    await checkDisk(host, opts.dataDir),
  ];
}

/** Failures of the named checks (or of every check, for "all") turn into warnings. */
export function ignoreFailures(results: readonly CheckResult[], ignore: readonly string[]): CheckResult[] {
  return results.map((r) =>
    r.status === 'fail' && (ignore.includes('all') || ignore.includes(r.name)) ? { ...r, status: 'warn', message: `${r.message} (ignored)` } : r,
  );
}

/** One line per check; the fix indented under anything not ok. */
export function formatResults(results: readonly CheckResult[]): string {
  const tag: Record<CheckStatus, string> = { ok: '[ok]  ', warn: '[warn]', fail: '[FAIL]' };
  return results.map((r) => `${tag[r.status]} ${r.name}: ${r.message}${r.fix && r.status !== 'ok' ? `\n       fix: ${r.fix}` : ''}\n`).join('');
}

const execText = (cmd: string, args: string[]) =>
  new Promise<string | undefined>((resolve) => execFile(cmd, args, { timeout: 5_000 }, (err, stdout) => resolve(err ? undefined : stdout)));

/** The real machine. */
export const realHost: PreflightHost = {
  readFile(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  exists: existsSync,
  which(bin) {
    const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin'];
    for (const d of dirs) {
      try {
        accessSync(join(d, bin), constants.X_OK);
        return join(d, bin);
      } catch {
        // not in this directory
      }
    }
    return undefined;
  },
  portFree(port) {
    return new Promise((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen({ port, host: '0.0.0.0', exclusive: true }, () => srv.close(() => resolve(true)));
    });
  },
  run: execText,
  async criVersion(endpoint) {
    const rt = await connectRuntime(endpoint, { readyTimeoutMs: 3_000 });
    try {
      const v = await rt.version();
      return `${v.runtimeName} ${v.runtimeVersion}`;
    } finally {
      rt.close();
    }
  },
  async freeDiskBytes(path) {
    for (let p = path; ; p = dirname(p)) {
      try {
        const s = await statfs(p);
        return s.bavail * s.bsize;
      } catch {
        if (p === dirname(p)) return undefined;
      }
    }
  },
};
