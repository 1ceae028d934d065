// A private containerd for tests: its own temp dir, bridge (`sk` + random hex) and /24 under
// 10.88.0.0/16, with the pause and busybox test images imported. stop() removes the pod sandboxes
// it made through CRI, ends containerd by pid (and any shim of it still alive, by pid), unmounts
// what is left under its directory, deletes its bridge and removes the directory. It never
// touches the machine's own containerd.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { cniNetworkName, startContainerd, type ContainerdOptions, type ManagedContainerd } from '../../src/cri/containerd-process.js';
import { importImage } from '../../src/cri/image-import.js';
import { PAUSE_IMAGE, testImages } from '../../src/cri/local-images.js';
import { writeOciArchive } from '../../src/cri/oci-image.js';
import type { CriRuntime } from '../../src/cri/runtime.js';

export { PAUSE_IMAGE, TEST_IMAGE, TEST_IMAGE_B } from '../../src/cri/local-images.js';

export interface TestContainerd {
  endpoint: string;
  /** containerd's grpc socket path (for ctr). */
  address: string;
  runtime: CriRuntime;
  managed: ManagedContainerd;
  dataDir: string;
  bridgeName: string;
  podCidr: string;
  /** Where tests should put pod log directories; removed by stop(). */
  logRoot: string;
  /** Stops containerd (its containers keep running) and starts a new one on the same directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestContainerdOptions {
  /** Import the pause and busybox images. Default true. */
  images?: boolean;
  restart?: boolean;
}

/** Claims an unused 10.88.X.0/24: not routed on this machine and not claimed by another test process. */
function claimSubnet(): { cidr: string; release: () => void } {
  const routes = spawnSync('ip', ['-4', 'route', 'show'], { encoding: 'utf8' }).stdout ?? '';
  const candidates = Array.from({ length: 254 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
  for (const x of candidates) {
    if (routes.includes(`10.88.${x}.`)) continue;
    const lock = join(tmpdir(), `skiff-test-subnet-10.88.${x}.lock`);
    try {
      closeSync(openSync(lock, 'wx'));
    } catch {
      continue;
    }
    return { cidr: `10.88.${x}.0/24`, release: () => rmSync(lock, { force: true }) };
  }
  throw new Error('no free 10.88.X.0/24 subnet for a test containerd');
}

/** Pids of containerd-shim processes serving the containerd at `socket`. */
function shimPidsOf(socket: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args[0].includes('containerd-shim') && args.includes(socket)) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/**
 * NAT rules the CNI bridge plugin made for pods of `network` and that no CNI DEL removed (the
 * containerd died before its sandboxes were removed): the rules naming the network in their
 * comment, then the per-pod chains they jump to. iptables -S prints rules shell-quoted.
 */
export function removeNatRulesOf(network: string): void {
  const listing = spawnSync('iptables', ['-t', 'nat', '-S'], { encoding: 'utf8' }).stdout ?? '';
  const mine = listing.split('\n').filter((l) => l.startsWith('-A ') && l.includes(`name: \\"${network}\\"`));
  const chains = new Set<string>();
  for (const rule of mine) {
    const target = / -j (CNI-[\w-]+)/.exec(rule)?.[1];
    if (target) chains.add(target);
    spawnSync('sh', ['-c', `iptables -t nat ${rule.replace(/^-A /, '-D ')}`], { stdio: 'ignore' });
  }
  for (const chain of chains) {
    spawnSync('iptables', ['-t', 'nat', '-F', chain], { stdio: 'ignore' });
    spawnSync('iptables', ['-t', 'nat', '-X', chain], { stdio: 'ignore' });
  }
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mp): mp is string => !!mp && (mp === dir || mp.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

let archive: Promise<Buffer> | undefined;

/** The images archive, built once per test process. */
function imagesArchive(): Promise<Buffer> {
  archive ??= (async () => {
    const chunks: Buffer[] = [];
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => chunks.push(c));
    await writeOciArchive(await testImages(), sink);
    return Buffer.concat(chunks);
  })();
  return archive;
}

export async function startTestContainerd(opts: TestContainerdOptions = {}): Promise<TestContainerd> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-ctd-'));
  const bridgeName = `sk${randomBytes(4).toString('hex')}`;
  const subnet = claimSubnet();
  const logRoot = join(dataDir, 'pod-logs');

  let managed: ManagedContainerd | undefined;
  let runtime: CriRuntime | undefined;

  const options: ContainerdOptions = {
    dataDir: join(dataDir, 'containerd'),
    podCidr: subnet.cidr,
    bridgeName,
    sandboxImage: PAUSE_IMAGE,
    restart: opts.restart ?? true,
  };

  const stop = async (): Promise<void> => {
    if (runtime) {
      try {
        for (const sb of await runtime.listPodSandbox(undefined, { timeoutMs: 10_000 })) {
          await runtime.stopPodSandbox(sb.id, { timeoutMs: 20_000 }).catch(() => undefined);
          await runtime.removePodSandbox(sb.id, { timeoutMs: 20_000 }).catch(() => undefined);
        }
      } catch {
        // containerd is already gone; the steps below still clean up
      }
      runtime.close();
    }
    await managed?.stop(5_000);
    for (const pid of shimPidsOf(join(options.dataDir, 'containerd.sock'))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already exited
      }
    }
    for (const mp of mountsUnder(dataDir)) {
      if (spawnSync('umount', [mp]).status !== 0) spawnSync('umount', ['-l', mp]);
    }
    removeNatRulesOf(cniNetworkName(bridgeName));
    if (existsSync(`/sys/class/net/${bridgeName}`)) spawnSync('ip', ['link', 'del', bridgeName]);
    rmSync(dataDir, { recursive: true, force: true });
    subnet.release();
  };

  try {
    managed = await startContainerd(options);
    if (opts.images ?? true) {
      await importImage(managed.address, Readable.from([await imagesArchive()]), { snapshotter: managed.snapshotter });
    }
    runtime = await managed.connect();
  } catch (err) {
    await stop();
    throw err;
  }
  const handle: TestContainerd = {
    endpoint: managed.endpoint, address: managed.address, runtime, managed, dataDir, bridgeName, podCidr: subnet.cidr, logRoot, stop,
    async restart() {
      runtime?.close();
      runtime = undefined;
      await managed?.stop();
      managed = await startContainerd(options);
      runtime = await managed.connect();
      handle.managed = managed;
      handle.runtime = runtime;
    },
  };
  return handle;
}
