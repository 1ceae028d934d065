// A containerd that the agent runs as its own child, as k3s does: private root, state, sockets,
// CNI config, bridge and pod subnet under one data directory, so several can share a machine.
// The child is restarted with backoff if it dies. stop() ends containerd only: pods keep running
// under their containerd-shim processes, and the next containerd on the same data directory
// picks them up again, as a containerd restart does under kubelet.
import { CRI_NAMESPACE } from './image-import.js';
import { registryAuthToml, registryHostsFiles, type Registries } from './registries.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '../log/logger.js';
import { connectRuntime } from './client.js';
import type { CriRuntime } from './runtime.js';

const log = logger('containerd');

export interface ContainerdOptions {
  /** Everything lives here: config.toml, root/, state/, cni/, containerd.sock, containerd.log. */
  dataDir: string;
  /** Where the CNI plugin binaries are. Default /usr/lib/cni (Debian's containernetworking-plugins), else /opt/cni/bin (upstream's tarball). */
  cniBinDir?: string;
  /** The node's pod subnet, e.g. 10.88.1.0/24. */
  podCidr: string;
  /** Linux bridge for pods, at most 15 characters, unique on the machine. */
  bridgeName: string;
  /** Fully qualified sandbox (pause) image; must be imported before the first pod. */
  sandboxImage: string;
  /** Default `containerd` from PATH. */
  containerdPath?: string;
  /** overlayfs where the data directory supports it, else native. */
  snapshotter?: 'overlayfs' | 'native';
  /** Default: state/ under dataDir. A tmpfs such as /run/skiff/containerd suits production. */
  stateDir?: string;
  /** containerd's own log level. Default info. */
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** How long to wait for the socket and CRI readiness. Default 30 s. */
  startTimeoutMs?: number;
  /** Restart containerd when it dies. Default true. */
  restart?: boolean;
  /** Mirrors, TLS and credentials for registries (k3s's registries.yaml). */
  registries?: Registries;
}

export interface ManagedContainerd {
  /** CRI endpoint, `unix://<dataDir>/containerd.sock`. */
  readonly endpoint: string;
  /** The grpc socket path (what ctr's --address wants). */
  readonly address: string;
  readonly dataDir: string;
  readonly configPath: string;
  readonly logPath: string;
  readonly snapshotter: 'overlayfs' | 'native';
  /** runc's state for the CRI namespace (`runc --root`). */
  readonly runcRoot: string;
  /** Whether the CRI plugin was told to keep oom_score_adj at or above containerd's own. */
  readonly restrictOomScoreAdj: boolean;
  /** The running containerd's pid, undefined while it is restarting or after stop. */
  pid(): number | undefined;
  /** Connects a CRI client to this containerd. */
  connect(): Promise<CriRuntime>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s). Containers keep running. */
  stop(graceMs?: number): Promise<void>;
}

const CAP_SYS_RESOURCE = 24;

function defaultCniBinDir(): string {
  return ['/usr/lib/cni', '/opt/cni/bin'].find((d) => existsSync(join(d, 'bridge'))) ?? '/usr/lib/cni';
}

/**
 * Without CAP_SYS_RESOURCE nothing may lower an oom_score_adj, and runc then fails to start
 * containers ("can't get final child's PID from pipe: EOF") when CRI asks for a negative value.
 */
export function needsRestrictOomScoreAdj(procStatus = readFileSync('/proc/self/status', 'utf8')): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(procStatus);
  if (!m) return true;
  return (BigInt(`0x${m[1]}`) & (1n << BigInt(CAP_SYS_RESOURCE))) === 0n;
}

/** Tries an overlay mount inside `dir`; overlay on overlay or on some filesystems fails. */
export function overlaySupported(dir: string): boolean {
  const probe = join(dir, `.overlay-probe-${process.pid}`);
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((d) => join(probe, d));
  try {
    for (const d of [lower, upper, work, merged]) mkdirSync(d, { recursive: true });
    const mounted = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged], { stdio: 'ignore' });
    if (mounted.status !== 0) return false;
    spawnSync('umount', [merged], { stdio: 'ignore' });
    return true;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

const q = (s: string): string => JSON.stringify(s);

export interface ContainerdConfigInput {
  dataDir: string;
  stateDir: string;
  socket: string;
  cniBinDir: string;
  cniConfDir: string;
  sandboxImage: string;
  snapshotter: string;
  restrictOomScoreAdj: boolean;
  logLevel: string;
  /** containerd's hosts.toml directory (registry mirrors and TLS). */
  registryConfigPath: string;
  registries?: Registries;
}

/** containerd's config.toml (version 2 schema, containerd 1.5 to 1.7). */
export function containerdConfig(c: ContainerdConfigInput): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    'version = 2',
    `root = ${q(join(c.dataDir, 'root'))}`,
    `state = ${q(c.stateDir)}`,
    // Snapshotters that cannot work here only add failed-plugin noise to the log.
    'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]',
    '',
    '[grpc]',
    `  address = ${q(c.socket)}`,
    '[ttrpc]',
    `  address = ${q(`${c.socket}.ttrpc`)}`,
    '[debug]',
    `  level = ${q(c.logLevel)}`,
    '[metrics]',
    '  address = ""',
    '',
    `[${cri}]`,
    `  sandbox_image = ${q(c.sandboxImage)}`,
    // Exec/attach streaming on loopback, any free port: several instances can share the machine.
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  enable_selinux = false',
    `  restrict_oom_score_adj = ${c.restrictOomScoreAdj}`,
    // Pod network namespaces under our state dir rather than the machine-wide /var/run/netns.
    '  netns_mounts_under_state_dir = true',
    `  [${cri}.containerd]`,
    `    snapshotter = ${q(c.snapshotter)}`,
    '    default_runtime_name = "runc"',
    `    [${cri}.containerd.runtimes.runc]`,
    '      runtime_type = "io.containerd.runc.v2"',
    `      [${cri}.containerd.runtimes.runc.options]`,
    `        Root = ${q(join(c.stateDir, 'runc'))}`,
    '        SystemdCgroup = false',
    `  [${cri}.cni]`,
    `    bin_dir = ${q(c.cniBinDir)}`,
    `    conf_dir = ${q(c.cniConfDir)}`,
    '    max_conf_num = 1',
    `  [${cri}.registry]`,
    `    config_path = ${q(c.registryConfigPath)}`,
    ...(c.registries ? registryAuthToml(c.registries, cri) : []),
    '',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${q(join(c.dataDir, 'opt'))}`,
    '',
  ].join('\n');
}

/** Replaces the hosts.toml tree, so a registry removed from the file stops being mirrored. */
function writeRegistryHosts(dir: string, registries: Registries | undefined): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, toml] of registryHostsFiles(registries ?? {})) {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, 'hosts.toml'), toml, { mode: 0o600 });
  }
}

/** The CNI network name of a node's bridge; CNI labels its iptables rules with it. */
export const cniNetworkName = (bridgeName: string): string => `skiff-${bridgeName}`;

/**
 * The pod network: a bridge with host-local addresses from the pod CIDR, NAT for traffic leaving
 * the node, and hostPort support. containerd's CRI adds the loopback interface itself.
 */
export function cniConflist(o: { bridgeName: string; podCidr: string; ipamDataDir: string }): string {
  return `${JSON.stringify({
    cniVersion: '1.0.0',
    name: cniNetworkName(o.bridgeName),
    plugins: [
      {
        type: 'bridge',
        bridge: o.bridgeName,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: o.podCidr }]],
          routes: [{ dst: '0.0.0.0/0' }],
          // The default (/var/lib/cni/networks) is shared by every containerd on the machine.
          dataDir: o.ipamDataDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  }, null, 2)}\n`;
}

function validate(opts: ContainerdOptions): void {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(opts.bridgeName)) problems.push(`bridgeName ${q(opts.bridgeName)}: must be 1-15 letters, digits, '.', '-' or '_'`);
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(opts.podCidr)) problems.push(`podCidr ${q(opts.podCidr)}: must be an IPv4 CIDR like 10.88.1.0/24`);
  if (!opts.sandboxImage.includes('/') || !opts.sandboxImage.includes(':')) problems.push(`sandboxImage ${q(opts.sandboxImage)}: must be fully qualified, like docker.io/skiff/pause:3.9`);
  if (problems.length) throw new Error(`invalid containerd options: ${problems.join('; ')}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await sleep(50);
  }
  return !alive(pid);
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * A containerd left running by an earlier agent on this data directory (the agent was killed)
 * holds the socket; end it by the pid it recorded, after checking that pid is still our containerd.
 */
async function endLeftover(pidFile: string, configPath: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes(configPath)) return;
  log.warn({ pid }, 'ending a containerd left running on this data directory');
  process.kill(pid, 'SIGTERM');
  if (!(await waitGone(pid, 10_000))) process.kill(pid, 'SIGKILL');
  await waitGone(pid, 5_000);
}

/** Writes the config, starts containerd, and resolves once its CRI reports ready. */
export async function startContainerd(opts: ContainerdOptions): Promise<ManagedContainerd> {
  validate(opts);
  const dataDir = opts.dataDir;
  const stateDir = opts.stateDir ?? join(dataDir, 'state');
  const cniConfDir = join(dataDir, 'cni', 'net.d');
  for (const d of [dataDir, stateDir, cniConfDir, join(dataDir, 'cni', 'ipam')]) mkdirSync(d, { recursive: true });

  const socket = join(dataDir, 'containerd.sock');
  const configPath = join(dataDir, 'config.toml');
  const logPath = join(dataDir, 'containerd.log');
  const pidFile = join(dataDir, 'containerd.pid');
  const endpoint = `unix://${socket}`;
  const snapshotter = opts.snapshotter ?? (overlaySupported(dataDir) ? 'overlayfs' : 'native');
  const restrictOomScoreAdj = needsRestrictOomScoreAdj();

  const registryConfigPath = join(dataDir, 'certs.d');
  writeRegistryHosts(registryConfigPath, opts.registries);
  writeFileSync(configPath, containerdConfig({
    dataDir, stateDir, socket, cniConfDir, snapshotter, restrictOomScoreAdj, registryConfigPath, registries: opts.registries,
    cniBinDir: opts.cniBinDir ?? defaultCniBinDir(),
    sandboxImage: opts.sandboxImage,
    logLevel: opts.logLevel ?? 'info',
  }));
  writeFileSync(join(cniConfDir, '10-skiff.conflist'), cniConflist({
    bridgeName: opts.bridgeName, podCidr: opts.podCidr, ipamDataDir: join(dataDir, 'cni', 'ipam'),
  }));
  await endLeftover(pidFile, configPath);

  const bin = opts.containerdPath ?? 'containerd';
  const restart = opts.restart ?? true;
  let child: ChildProcess | undefined;
  let stopping = false;
  let failures = 0;
  let restartTimer: NodeJS.Timeout | undefined;

  const launch = (): ChildProcess => {
    const out = openSync(logPath, 'a');
    // Its own process group: a Ctrl-C meant for the agent must not take containerd down mid-write.
    const c = spawn(bin, ['--config', configPath], { stdio: ['ignore', out, out], detached: true });
    closeSync(out);
    const startedAt = Date.now();
    if (c.pid) writeFileSync(pidFile, `${c.pid}\n`);
    c.once('error', (err) => log.error({ err }, 'containerd could not be started'));
    c.once('exit', (code, signal) => {
      if (child === c) child = undefined;
      if (stopping) return;
      // A containerd that ran a minute counts as healthy again: restart it quickly next time.
      failures = Date.now() - startedAt > 60_000 ? 1 : failures + 1;
      const delay = Math.min(500 * 2 ** (failures - 1), 30_000);
      log.error({ code, signal, logPath, restartInMs: restart ? delay : undefined }, 'containerd exited');
      if (!restart) return;
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (!stopping) child = launch();
      }, delay);
    });
    log.info({ pid: c.pid, config: configPath }, 'containerd started');
    return c;
  };

  const first = launch();
  child = first;

  const stop = async (graceMs = 10_000): Promise<void> => {
    stopping = true;
    if (restartTimer) clearTimeout(restartTimer);
    const c = child;
    child = undefined;
    if (c?.pid && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    rmSync(pidFile, { force: true });
  };

  const connect = () => connectRuntime(endpoint, { readyTimeoutMs: 10_000 });

  // Ready means: the socket exists and CRI says RuntimeReady and NetworkReady.
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const deadline = Date.now() + startTimeoutMs;
  let gaveUp = false;
  const exitedEarly = new Promise<never>((_, reject) => {
    first.once('exit', (code, signal) => reject(new Error(
      `containerd exited during startup (${signal ?? `code ${code}`}); last lines of ${logPath}:\n${tail(logPath, 15)}`)));
    first.once('error', (err) => reject(new Error(`cannot start ${bin}: ${err.message}; install containerd (Debian package containerd)`, { cause: err })));
  });
  exitedEarly.catch(() => undefined);
  const ready = (async () => {
    while (!existsSync(socket)) {
      if (gaveUp) return;
      if (Date.now() > deadline) throw new Error(`containerd did not create ${socket} within ${startTimeoutMs / 1000}s; see ${logPath}`);
      await sleep(20);
    }
    const rt = await connectRuntime(endpoint, { readyTimeoutMs: Math.max(0, deadline - Date.now()) });
    rt.close();
  })();
  ready.catch(() => undefined);
  try {
    await Promise.race([ready, exitedEarly]);
  } catch (err) {
    gaveUp = true;
    await stop(2_000);
    throw err;
  }
  log.info({ endpoint, snapshotter, restrictOomScoreAdj }, 'containerd ready');

  return {
    endpoint,
    address: socket,
    dataDir,
    configPath,
    logPath,
    snapshotter,
    runcRoot: join(stateDir, 'runc', CRI_NAMESPACE),
    restrictOomScoreAdj,
    pid: () => child?.pid,
    connect,
    stop,
  };
}
