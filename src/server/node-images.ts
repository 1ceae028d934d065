import { createHash, randomUUID } from 'node:crypto';
import type { NatsConnection } from 'nats';
import { ApiError, errors } from '../api/errors.js';
import type { Node } from '../api/types.js';
import { codecs, imageChunkBytes, type ImageReply, type ImageRequest, type NodeImage } from '../bus/messages.js';
import { subjects } from '../bus/subjects.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';

// `ctl image load` and `ctl image ls` on the control plane, under the node resource as
// Kubernetes proxies to a kubelet: POST /api/v1/nodes/NAME/proxy/images takes an image archive
// (OCI layout or `docker save` tar) as the request body and relays it to the node over NATS;
// GET on the same path lists the node's images. The body is cut into fixed-size chunks; a few
// are in flight at a time and each is acknowledged by the node once written, so memory stays
// bounded whatever the archive's size and a slow node slows the upload down (TCP backpressure).

export interface NodeImagesDeps {
  nc: NatsConnection;
  store: Store;
  log: Logger;
  /** Chunks sent before waiting for the oldest acknowledgement. Default imageWindow. */
  window?: number;
  /** How long a node may take to import an archive. Default 10 minutes. */
  importTimeoutMs?: number;
}

/** Chunks in flight per upload: 16 × 64 KiB is at most 1 MiB of archive held per upload. */
export const imageWindow = 16;

export interface ImageLoadResult {
  node: string;
  bytes: number;
  images: string[];
}

/** Re-cuts a byte stream into chunks of exactly `size` bytes (the last may be shorter). */
export async function* rechunk(source: AsyncIterable<Buffer | Uint8Array | string>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let held = 0;
  for await (const piece of source) {
    let buf = typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    while (buf.length) {
      const take = Math.min(size - held, buf.length);
      parts.push(buf.subarray(0, take));
      held += take;
      buf = buf.subarray(take);
      if (held === size) {
        yield Buffer.concat(parts);
        parts = [];
        held = 0;
      }
    }
  }
  if (held) yield Buffer.concat(parts);
}

/** A POSIX tar header has `ustar` at offset 257; ctr also takes the archive gzipped. */
export function looksLikeArchive(first: Buffer): boolean {
  const gzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  return gzip || (first.length >= 262 && first.subarray(257, 262).toString('latin1') === 'ustar');
}

/** The node, refused as Kubernetes would when it is unknown or not Ready. */
export async function readyNode(store: Store, name: string): Promise<Node> {
  const node = (await store.get({ resource: 'nodes', namespace: '', name })) as Node | undefined;
  if (!node) throw errors.notFound('nodes', name);
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') {
    throw errors.unavailable(`node "${name}" is not Ready (Ready=${ready?.status ?? 'Unknown'}): its agent must be running and connected; check 'ctl get nodes'`);
  }
  return node;
}

async function ask(deps: NodeImagesDeps, node: string, req: ImageRequest, timeoutMs: number): Promise<Extract<ImageReply, { ok: true }>> {
  let data: Uint8Array;
  try {
    data = (await deps.nc.request(subjects.toNode(node, 'images'), codecs.imageRequest.encode(req), { timeout: timeoutMs })).data;
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === '503' ? 'no agent is connected for it' : `it did not answer (${(e as Error).message})`;
    throw errors.unavailable(`cannot reach node "${node}" for images: ${why}; check that its agent runs and reaches the control plane`);
  }
  const decoded = codecs.imageReply.decode(data);
  if (!decoded.ok) throw errors.internal(`node "${node}" sent an unreadable image reply: ${decoded.reason}`);
  const reply = decoded.value;
  if (!reply.ok) throw new ApiError(reply.error.reason, `node "${node}": ${reply.error.message}`);
  return reply;
}

export async function listNodeImages(deps: NodeImagesDeps, node: string): Promise<NodeImage[]> {
  await readyNode(deps.store, node);
  return (await ask(deps, node, { v: 1, op: 'list' }, 30_000)).images ?? [];
}

/** Relays one archive to `node` and has it imported; ends the node's transfer on any failure. */
export async function loadImageToNode(deps: NodeImagesDeps, node: string, body: AsyncIterable<Buffer | Uint8Array | string>): Promise<ImageLoadResult> {
  await readyNode(deps.store, node);
  const transfer = randomUUID();
  const hash = createHash('sha256');
  let bytes = 0;
  let seq = 0;
  const inFlight: Promise<unknown>[] = [];
  await ask(deps, node, { v: 1, op: 'begin', transfer }, 10_000);
  try {
    for await (const chunk of rechunk(body, imageChunkBytes)) {
      if (seq === 0 && !looksLikeArchive(chunk)) throw errors.badRequest('the request body is not a tar archive: send an OCI image layout or `docker save` archive');
      hash.update(chunk);
      bytes += chunk.length;
      const sent = ask(deps, node, { v: 1, op: 'chunk', transfer, seq: seq++, data: chunk.toString('base64') }, 30_000);
      // Settled here too, so a rejection never goes unhandled while older chunks are awaited.
      sent.catch(() => undefined);
      inFlight.push(sent);
      if (inFlight.length >= (deps.window ?? imageWindow)) await inFlight.shift();
    }
    await Promise.all(inFlight);
    if (bytes === 0) throw errors.badRequest('the request body is empty: send an OCI image layout or `docker save` archive');
    const done = await ask(deps, node, { v: 1, op: 'end', transfer, sha256: hash.digest('hex'), size: bytes }, deps.importTimeoutMs ?? 600_000);
    deps.log.info({ node, bytes, images: done.imported }, 'loaded an image archive onto a node');
    return { node, bytes, images: done.imported ?? [] };
  } catch (e) {
    await Promise.allSettled(inFlight);
    await ask(deps, node, { v: 1, op: 'abort', transfer }, 5_000).catch(() => undefined);
    throw e;
  }
}
