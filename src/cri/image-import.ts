// Loads image archives (OCI image layout or `docker save` tars) into containerd without a registry.
// It runs `ctr images import`, which ships in the containerd package: an import is content
// upload + image records + unpacking layers into the snapshotter, and unpacking needs containerd's
// diff and snapshot services driven in the right order — ctr already does that, a TypeScript copy
// of it would be a second implementation to keep in step with containerd.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { socketPathOf } from './client.js';

/** The containerd namespace the CRI plugin keeps its images and containers in. */
export const CRI_NAMESPACE = 'k8s.io';

export interface ImportOptions {
  /** Must match the CRI plugin's snapshotter, or CRI will not find the unpacked layers. Default overlayfs. */
  snapshotter?: string;
  namespace?: string;
  /** The ctr binary. Default `ctr` from PATH. */
  ctrPath?: string;
  /** Default 5 minutes. */
  timeoutMs?: number;
}

/**
 * Imports an image archive into containerd at `address` (its grpc socket, `unix://` optional)
 * and returns the names it imported. `source` is a file path or a stream of the archive.
 */
export async function importImage(address: string, source: string | Readable, opts: ImportOptions = {}): Promise<string[]> {
  const socket = socketPathOf(address);
  const ctr = opts.ctrPath ?? 'ctr';
  const args = [
    '--address', socket,
    '--namespace', opts.namespace ?? CRI_NAMESPACE,
    'images', 'import',
    '--snapshotter', opts.snapshotter ?? 'overlayfs',
    '-',
  ];
  const child = spawn(ctr, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const timeoutMs = opts.timeoutMs ?? 5 * 60_000;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);

  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  const input = typeof source === 'string' ? createReadStream(source) : source;
  // A failed import closes stdin early; the exit status below is the error to report.
  const fed = pipeline(input, child.stdin).catch((err: NodeJS.ErrnoException) => err);

  let code: number | null;
  try {
    code = await exited;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') {
      throw new Error(`cannot import images: ${ctr} not found; it ships with containerd (Debian package containerd)`, { cause: err });
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const feedError = await fed;
  const what = typeof source === 'string' ? source : 'image archive';
  if (code !== 0) {
    const reason = code === null ? `killed after ${timeoutMs / 1000}s` : stderr.trim() || `ctr exited with ${code}`;
    throw new Error(`importing ${what} into containerd at ${socket} failed: ${reason}`);
  }
  if (feedError instanceof Error) throw new Error(`reading ${what} failed: ${feedError.message}`, { cause: feedError });
  // ctr prints `unpacking docker.io/library/busybox:1.36 (sha256:...)...done` per image.
  return [...stdout.matchAll(/^unpacking (\S+) \(sha256:[0-9a-f]+\)/gm)].map((m) => m[1]);
}
