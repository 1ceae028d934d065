import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageReply, ImageRequest, NodeImage } from '../bus/messages.js';
import type { CriRuntime } from '../cri/runtime.js';
import type { Logger } from '../log/logger.js';

// `ctl image load` on the node: the control plane relays the archive in ordered chunks, each
// answered once it is on disk (so at most a few chunks are ever in memory), into a temp file
// under the data dir; at the end the size and SHA-256 are checked, the archive is imported into
// the runtime's containerd, and the file is removed whatever happened. `ctl image ls` is CRI
// ListImages.

/** The order and checksum of one transfer, kept apart from the file so it can be checked alone. */
export class ChunkAssembly {
  private nextSeq = 0;
  private bytes = 0;
  private readonly hash: Hash = createHash('sha256');

  get received(): number {
    return this.bytes;
  }

  /** Takes the next chunk; an error message when it is out of order. */
  accept(seq: number, data: Buffer): string | undefined {
    if (seq !== this.nextSeq) return `chunk ${seq} arrived where chunk ${this.nextSeq} was expected; send the archive again`;
    this.nextSeq++;
    this.bytes += data.length;
    this.hash.update(data);
    return undefined;
  }

  /** Checks the whole against what the sender read; an error message when they differ. */
  finish(sha256: string, size: number): string | undefined {
    if (size !== this.bytes) return `the archive arrived incomplete: ${this.bytes} of ${size} bytes; send it again`;
    const got = this.hash.digest('hex');
    if (got !== sha256) return `the archive arrived damaged: SHA-256 ${got}, the sender read ${sha256}; send it again`;
    return undefined;
  }
}

export interface ImageReceiverOptions {
  dataDir: string;
  runtime: Pick<CriRuntime, 'listImages'>;
  /** Imports an archive file into the runtime's `k8s.io` namespace; returns the image names. */
  importArchive: (path: string) => Promise<string[]>;
  log: Logger;
  /** A transfer with no message for this long is dropped. Default 2 minutes. */
  idleTimeoutMs?: number;
}

interface Transfer {
  assembly: ChunkAssembly;
  file: FileHandle;
  path: string;
  /** Writes in arrival order. */
  queue: Promise<void>;
  failed?: string;
  idle: NodeJS.Timeout;
}

const failure = (reason: 'NotFound' | 'BadRequest' | 'InternalError', message: string): ImageReply => ({ v: 1, ok: false, error: { reason, message: message.slice(0, 8192) } });

export const imageTempDir = (dataDir: string) => join(dataDir, 'tmp', 'images');

export class ImageReceiver {
  private readonly transfers = new Map<string, Transfer>();
  private readonly dir: string;

  constructor(private readonly opts: ImageReceiverOptions) {
    this.dir = imageTempDir(opts.dataDir);
  }

  /** Removes archives a previous run left behind (it stopped mid-transfer). */
  async cleanLeftovers(): Promise<void> {
    for (const name of await readdir(this.dir).catch(() => [])) await rm(join(this.dir, name), { force: true });
  }

  async handle(req: ImageRequest): Promise<ImageReply> {
    switch (req.op) {
      case 'list':
        return this.list();
      case 'begin':
        return this.begin(req.transfer);
      case 'chunk':
        return this.chunk(req.transfer, req.seq, Buffer.from(req.data, 'base64'));
      case 'end':
        return this.end(req.transfer, req.sha256, req.size);
      case 'abort':
        await this.drop(req.transfer);
        return { v: 1, ok: true };
    }
  }

  async close(): Promise<void> {
    for (const id of [...this.transfers.keys()]) await this.drop(id);
  }

  private async list(): Promise<ImageReply> {
    try {
      const images = await this.opts.runtime.listImages();
      const out: NodeImage[] = images.map((i) => ({ id: i.id, repoTags: i.repoTags, repoDigests: i.repoDigests, size: Number(i.size) || 0 }));
      return { v: 1, ok: true, images: out };
    } catch (e) {
      return failure('InternalError', `listing the runtime's images failed: ${(e as Error).message}`);
    }
  }

  private async begin(id: string): Promise<ImageReply> {
    if (this.transfers.has(id)) return failure('BadRequest', `image transfer ${id} has already begun`);
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const path = join(this.dir, `${id}.tar`);
      const file = await open(path, 'wx', 0o600);
      const t: Transfer = { assembly: new ChunkAssembly(), file, path, queue: Promise.resolve(), idle: this.idleTimer(id) };
      this.transfers.set(id, t);
      return { v: 1, ok: true, received: 0 };
    } catch (e) {
      return failure('InternalError', `cannot store the image archive on this node: ${(e as Error).message}`);
    }
  }

  private async chunk(id: string, seq: number, data: Buffer): Promise<ImageReply> {
    const t = this.transfers.get(id);
    if (!t) return failure('NotFound', `image transfer ${id} is unknown to this node (it restarted, or the transfer timed out); send the archive again`);
    this.touch(id, t);
    // Checked on arrival, before any await, so the order seen is the order sent.
    const problem = t.failed ?? t.assembly.accept(seq, data);
    if (problem) {
      t.failed = problem;
      return failure('BadRequest', problem);
    }
    t.queue = t.queue.then(async () => {
      if (t.failed) return;
      await t.file.write(data).catch((e: Error) => {
        t.failed = `writing the image archive failed: ${e.message}`;
      });
    });
    await t.queue;
    if (t.failed) return failure('InternalError', t.failed);
    return { v: 1, ok: true, received: t.assembly.received };
  }

  private async end(id: string, sha256: string, size: number): Promise<ImageReply> {
    const t = this.transfers.get(id);
    if (!t) return failure('NotFound', `image transfer ${id} is unknown to this node (it restarted, or the transfer timed out); send the archive again`);
    clearTimeout(t.idle);
    try {
      await t.queue;
      await t.file.close();
      const problem = t.failed ?? t.assembly.finish(sha256, size);
      if (problem) return failure('BadRequest', problem);
      const imported = await this.opts.importArchive(t.path);
      this.opts.log.info({ images: imported, bytes: size }, 'imported an image archive');
      return { v: 1, ok: true, imported };
    } catch (e) {
      return failure('InternalError', (e as Error).message);
    } finally {
      this.transfers.delete(id);
      await rm(t.path, { force: true });
    }
  }

  private async drop(id: string): Promise<void> {
    const t = this.transfers.get(id);
    if (!t) return;
    this.transfers.delete(id);
    clearTimeout(t.idle);
    await t.queue;
    await t.file.close().catch(() => undefined);
    await rm(t.path, { force: true });
  }

  private idleTimer(id: string): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.opts.log.warn({ transfer: id }, 'dropped an image transfer that stalled');
      void this.drop(id);
    }, this.opts.idleTimeoutMs ?? 120_000);
    t.unref();
    return t;
  }

  private touch(id: string, t: Transfer): void {
    clearTimeout(t.idle);
    t.idle = this.idleTimer(id);
  }
}
