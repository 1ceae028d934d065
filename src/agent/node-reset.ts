import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { connectRuntime } from '../cri/client.js';
import { startContainerd } from '../cri/containerd-process.js';
import { PAUSE_IMAGE } from '../cri/local-images.js';
import type { CriRuntime } from '../cri/runtime.js';
import type { Logger } from '../log/logger.js';
import { identityDir } from './identity.js';
import { SKIFF_ROUTE_PROTO } from './pod-routes.js';
import { managedSelector } from './pods/labels.js';
import { DEFAULT_CNI_BRIDGE, defaultPodCidr } from './pods/node-runtime.js';

// `ctl reset` beyond the identity: the node's pods (containers and sandboxes, through CRI, so
// their network is torn down by CNI as it would be for a deleted pod), its containerd, its pod
// bridge and the routes the agent added, and everything it kept in its data dir. A running
// agent would put it all back, so reset refuses while one runs on the data dir.

const execFileP = promisify(execFile);
const PID_FILE = 'agent.pid';

/** What the agent and its containerd keep in the data dir; nothing else there is touched. */
const nodeOwnedEntries = ['identity', 'identity.new', 'state', 'pods', 'containerd', PID_FILE];

/** Records the running agent, so `ctl reset` can tell it is running. */
export async function writeAgentPid(dataDir: string): Promise<void> {
  await writeFile(join(dataDir, PID_FILE), `${process.pid}\n`, { mode: 0o600 });
}

export async function removeAgentPid(dataDir: string): Promise<void> {
  const path = join(dataDir, PID_FILE);
  if ((await readFile(path, 'utf8').catch(() => '')).trim() === String(process.pid)) await rm(path, { force: true });
}

/** The pid of a live agent (ctl agent or ctl join) that recorded itself in dataDir, if any. */
export function runningAgentPid(dataDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, PID_FILE), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((a) => a === 'agent' || a === 'join') ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface ResetSettings {
  nodeName?: string;
  containerRuntimeEndpoint?: string;
  podCidr?: string;
  assignedPodCidr?: string;
  cniBridge?: string;
}

export interface ResetReport {
  nodeName?: string;
  removedPods: number;
  removedContainers: number;
  steps: string[];
  removed: string[];
}

async function readSettings(dataDir: string): Promise<ResetSettings> {
  try {
    return JSON.parse(await readFile(join(identityDir(dataDir), 'agent.json'), 'utf8')) as ResetSettings;
  } catch {
    return {};
  }
}

/** Mount points at or under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const root = resolve(dir);
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((p): p is string => !!p && (p === root || p.startsWith(`${root}/`)));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

async function removeWorkloads(rt: CriRuntime, ownsAll: boolean, report: ResetReport): Promise<void> {
  // On the agent's own containerd everything is Skiff's; on a shared runtime only what it labelled.
  const selector = ownsAll ? undefined : managedSelector;
  const containers = await rt.listContainers(selector ? { labelSelector: selector } : undefined);
  for (const c of containers) {
    await rt.stopContainer(c.id, 5);
    await rt.removeContainer(c.id);
    report.removedContainers++;
  }
  const sandboxes = await rt.listPodSandbox(selector ? { labelSelector: selector } : undefined);
  for (const s of sandboxes) {
    await rt.stopPodSandbox(s.id);
    await rt.removePodSandbox(s.id);
    report.removedPods++;
  }
}

/** The host network state reset removes; a fake in unit tests. */
export interface HostNetworkCleanup {
  /** Deletes the link; false if there was none. */
  deleteLink(name: string): Promise<boolean>;
  /** Removes the routes the agent added; how many there were. */
  flushPodRoutes(): Promise<number>;
}

export const ipCleanup: HostNetworkCleanup = {
  deleteLink: (name) =>
    execFileP('ip', ['link', 'del', name]).then(
      () => true,
      () => false,
    ),
  async flushPodRoutes() {
    const routes = await execFileP('ip', ['-4', 'route', 'show', 'proto', String(SKIFF_ROUTE_PROTO)]).then((r) => r.stdout.trim(), () => '');
    if (!routes) return 0;
    await execFileP('ip', ['-4', 'route', 'flush', 'proto', String(SKIFF_ROUTE_PROTO)]);
    return routes.split('\n').length;
  },
};

export interface ResetOptions {
  /** Reset even though an agent is running on the data dir. */
  force?: boolean;
  log: Logger;
  /** Default: ip(8) on this host. */
  net?: HostNetworkCleanup;
}

export async function resetNode(dataDir: string, opts: ResetOptions): Promise<ResetReport> {
  const net = opts.net ?? ipCleanup;
  const pid = runningAgentPid(dataDir);
  if (pid !== undefined && !opts.force) {
    throw new Error(`the agent is running on ${dataDir} (pid ${pid}): stop it first (sudo systemctl stop skiff-agent), or pass --force to reset anyway`);
  }
  const settings = await readSettings(dataDir);
  const report: ResetReport = { nodeName: settings.nodeName, removedPods: 0, removedContainers: 0, steps: [], removed: [] };
  const ctdDir = join(dataDir, 'containerd');
  const managed = !settings.containerRuntimeEndpoint && existsSync(join(ctdDir, 'config.toml'));
  const bridge = settings.cniBridge ?? DEFAULT_CNI_BRIDGE;

  if (settings.containerRuntimeEndpoint) {
    const rt = await connectRuntime(settings.containerRuntimeEndpoint, { readyTimeoutMs: 10_000 }).catch((e: Error) => {
      throw new Error(`cannot reach the container runtime at ${settings.containerRuntimeEndpoint} to remove this node's pods (${e.message}): start it and run ctl reset again`);
    });
    try {
      await removeWorkloads(rt, false, report);
    } finally {
      rt.close();
    }
    report.steps.push(`removed Skiff's pods from ${settings.containerRuntimeEndpoint}`);
  } else if (managed) {
    // Started on the data dir, containerd first ends any containerd left there, then knows every
    // sandbox and container the agent made; removing them runs CNI DEL for each pod.
    const ctd = await startContainerd({
      dataDir: ctdDir,
      podCidr: settings.podCidr ?? settings.assignedPodCidr ?? defaultPodCidr(settings.nodeName ?? 'node'),
      bridgeName: bridge,
      sandboxImage: PAUSE_IMAGE,
      restart: false,
    });
    try {
      const rt = await ctd.connect();
      try {
        await removeWorkloads(rt, true, report);
      } finally {
        rt.close();
      }
    } finally {
      await ctd.stop();
    }
    report.steps.push("removed the node's pods and stopped its containerd");
  }

  if ((managed || settings.cniBridge) && (await net.deleteLink(bridge))) report.steps.push(`deleted the pod bridge ${bridge}`);
  const routes = await net.flushPodRoutes();
  if (routes) report.steps.push(`removed ${routes} route(s) to other nodes' pod subnets`);

  // A mount left under the data dir would let rm reach into another filesystem.
  for (const m of mountsUnder(dataDir)) {
    await execFileP('umount', [m]).catch(() => execFileP('umount', ['-l', m]));
    opts.log.info({ mount: m }, 'unmounted');
  }
  const left = mountsUnder(dataDir);
  if (left.length) throw new Error(`cannot unmount ${left.join(', ')}: unmount them by hand and run ctl reset again; nothing was deleted`);

  for (const entry of nodeOwnedEntries) {
    const p = join(dataDir, entry);
    if (!existsSync(p)) continue;
    await rm(p, { recursive: true, force: true });
    report.removed.push(p);
  }
  if (existsSync(dataDir) && (await readdir(dataDir)).length === 0) {
    await rmdir(dataDir);
    report.removed.push(dataDir);
  }
  return report;
}
