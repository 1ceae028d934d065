// Writes OCI image-layout archives (oci-layout, index.json, blobs/sha256/...) from files held in
// memory, so a node can make its own images without a registry. Layers are uncompressed tars with
// fixed owners and times: the same files always give the same digest, and images that share a
// layer share its blob.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';

export type LayerEntry =
  | { type: 'file'; path: string; content: Buffer; mode?: number }
  | { type: 'directory'; path: string; mode?: number }
  | { type: 'symlink'; path: string; target: string };

export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  labels?: Record<string, string>;
  stopSignal?: string;
}

export interface OciImage {
  /** Fully qualified reference with a tag: `docker.io/library/busybox:1.36`. */
  name: string;
  /** Uncompressed layer tars, lowest first (see buildLayer). */
  layers: Buffer[];
  config: ImageConfig;
}

export interface Platform {
  architecture: string;
  os: 'linux';
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

const MEDIA_LAYER = 'application/vnd.oci.image.layer.v1.tar';
const MEDIA_CONFIG = 'application/vnd.oci.image.config.v1+json';
const MEDIA_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MEDIA_INDEX = 'application/vnd.oci.image.index.v1+json';
/** containerd's importer names images by this annotation on the index entry. */
const ANNOTATION_CONTAINERD_NAME = 'io.containerd.image.name';
const ANNOTATION_OCI_REF_NAME = 'org.opencontainers.image.ref.name';
const EPOCH = new Date(0);

const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function collect(pack: tar.Pack): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function addEntry(pack: tar.Pack, header: Partial<tar.Header> & { name: string }, content?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error | null) => (err ? reject(err) : resolve());
    if (content) pack.entry(header, content, done);
    else pack.entry(header, done);
  });
}

/** A layer tar holding `entries`, owned by root, dated at the epoch. */
export async function buildLayer(entries: LayerEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const done = collect(pack);
  const common = { mtime: EPOCH, uid: 0, gid: 0, uname: 'root', gname: 'root' };
  for (const e of entries) {
    const name = e.path.replace(/^\/+/, '');
    if (e.type === 'file') await addEntry(pack, { ...common, name, type: 'file', mode: e.mode ?? 0o644, size: e.content.length }, e.content);
    else if (e.type === 'directory') await addEntry(pack, { ...common, name, type: 'directory', mode: e.mode ?? 0o755 });
    else await addEntry(pack, { ...common, name, type: 'symlink', linkname: e.target, mode: 0o777 });
  }
  pack.finalize();
  return done;
}

/** This machine's OCI platform, so a Raspberry Pi builds arm images and a PC amd64 ones. */
export function hostPlatform(): Platform {
  switch (process.arch) {
    case 'x64': return { os: 'linux', architecture: 'amd64' };
    case 'arm64': return { os: 'linux', architecture: 'arm64' };
    case 'arm': {
      const armVersion = (process.config.variables as Record<string, unknown>).arm_version;
      return { os: 'linux', architecture: 'arm', variant: `v${armVersion ?? '7'}` };
    }
    case 'ia32': return { os: 'linux', architecture: '386' };
    default: return { os: 'linux', architecture: process.arch };
  }
}

/** Splits `docker.io/library/busybox:1.36` into repository and tag; the tag is required. */
export function splitReference(name: string): { repository: string; tag: string } {
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  // A registry host is the first path component when it has a dot or a port, or is localhost.
  const domain = name.slice(0, Math.max(0, name.indexOf('/')));
  const qualified = domain.includes('.') || domain.includes(':') || domain === 'localhost';
  if (colon <= slash || colon === name.length - 1 || !qualified) {
    throw new Error(`image name ${JSON.stringify(name)} must be fully qualified with a tag, like docker.io/library/busybox:1.36`);
  }
  return { repository: name.slice(0, colon), tag: name.slice(colon + 1) };
}

/**
 * Writes one OCI image-layout tar holding `images` (sharing identical layer blobs) to `out`,
 * a file path or a writable stream.
 */
/** Every blob (layers, configs, manifests) by digest, and one manifest descriptor per image. */
export function ociContent(images: OciImage[], platform = hostPlatform()): { blobs: Map<string, Buffer>; manifests: (Descriptor & { name: string })[] } {
  const blobs = new Map<string, Buffer>();
  const addBlob = (mediaType: string, data: Buffer): Descriptor => {
    const digest = sha256(data);
    blobs.set(digest, data);
    return { mediaType, digest, size: data.length };
  };

  const manifests: (Descriptor & { name: string })[] = images.map((image) => {
    const { tag } = splitReference(image.name);
    const layers = image.layers.map((l) => addBlob(MEDIA_LAYER, l));
    const c = image.config;
    const config = {
      created: EPOCH.toISOString(),
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
      os: platform.os,
      config: {
        ...(c.env ? { Env: c.env } : {}),
        ...(c.entrypoint ? { Entrypoint: c.entrypoint } : {}),
        ...(c.cmd ? { Cmd: c.cmd } : {}),
        ...(c.workingDir ? { WorkingDir: c.workingDir } : {}),
        ...(c.labels ? { Labels: c.labels } : {}),
        ...(c.stopSignal ? { StopSignal: c.stopSignal } : {}),
      },
      // For an uncompressed layer the diff id is the blob digest itself.
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      history: layers.map(() => ({ created: EPOCH.toISOString(), created_by: 'skiff image builder' })),
    };
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_MANIFEST,
      config: addBlob(MEDIA_CONFIG, Buffer.from(JSON.stringify(config))),
      layers,
    };
    return {
      ...addBlob(MEDIA_MANIFEST, Buffer.from(JSON.stringify(manifest))),
      annotations: { [ANNOTATION_CONTAINERD_NAME]: image.name, [ANNOTATION_OCI_REF_NAME]: tag },
      platform,
      name: image.name,
    };
  });
  return { blobs, manifests };
}

export async function writeOciArchive(images: OciImage[], out: string | NodeJS.WritableStream, platform = hostPlatform()): Promise<void> {
  const { blobs, manifests: named } = ociContent(images, platform);
  const manifests = named.map(({ name: _name, ...d }) => d);

  const pack = tar.pack();
  const sink = typeof out === 'string' ? createWriteStream(out) : out;
  const written = pipeline(pack as unknown as Readable, sink);
  const common = { mtime: EPOCH, uid: 0, gid: 0, mode: 0o644 };
  const file = (name: string, data: Buffer) => addEntry(pack, { ...common, name, type: 'file', size: data.length }, data);
  await file('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  await file('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_INDEX, manifests })));
  await addEntry(pack, { ...common, name: 'blobs', type: 'directory', mode: 0o755 });
  await addEntry(pack, { ...common, name: 'blobs/sha256', type: 'directory', mode: 0o755 });
  for (const [digest, data] of blobs) await file(`blobs/sha256/${digest.slice('sha256:'.length)}`, data);
  pack.finalize();
  await written;
}

/**
 * The files of a minimal root filesystem made of one static busybox and its applet links
 * (/bin/sh, /bin/sleep, /usr/sbin/httpd, ...), plus /etc/passwd, /etc/group and /tmp.
 */
export function busyboxRootfs(busyboxPath = '/bin/busybox'): LayerEntry[] {
  const binary = readFileSync(busyboxPath);
  let listing: string;
  try {
    listing = execFileSync(busyboxPath, ['--list-full'], { encoding: 'utf8' });
  } catch (err) {
    throw new Error(`${busyboxPath} cannot list its applets (${(err as Error).message}): a static busybox is needed (Debian: busybox-static)`, { cause: err });
  }
  const applets = listing.split('\n').map((l) => l.trim()).filter((l) => l && l !== 'bin/busybox' && l.includes('/'));
  const dirs = new Set(['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'var', 'root', 'home']);
  for (const a of applets) dirs.add(a.slice(0, a.lastIndexOf('/')));
  return [
    ...[...dirs].sort().map((path): LayerEntry => ({ type: 'directory', path, mode: path === 'root' ? 0o700 : 0o755 })),
    { type: 'directory', path: 'tmp', mode: 0o1777 },
    { type: 'file', path: 'bin/busybox', content: binary, mode: 0o755 },
    ...applets.sort().map((path): LayerEntry => ({ type: 'symlink', path, target: '/bin/busybox' })),
    { type: 'file', path: 'etc/passwd', content: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n') },
    { type: 'file', path: 'etc/group', content: Buffer.from('root:x:0:\nnobody:x:65534:\n') },
  ];
}
