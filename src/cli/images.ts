import cliProgress from 'cli-progress';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { formatError, CliError } from './errors.js';
import type { Io } from './io.js';
import { renderTable } from './printers/table.js';
import { resourceByKind } from '../api/resources.js';
import type { Node } from '../api/types.js';
import type { RestClient } from './rest-client.js';

// `ctl image load FILE.tar` and `ctl image ls`: images for nodes that cannot reach a registry.
// The archive goes to the control plane (POST /api/v1/nodes/NAME/proxy/images), which relays it
// to the node's agent over NATS; the agent imports it into its containerd's k8s.io namespace.

export const nodeImagesPath = (node: string) => `/api/v1/nodes/${encodeURIComponent(node)}/proxy/images`;

export interface ImageLoadOptions {
  file: string;
  node?: string;
  all: boolean;
  /** Nodes loaded at once with --all. Default 4. */
  parallel?: number;
  /** A progress bar per node; otherwise plain lines at every quarter. */
  tty: boolean;
}

interface NodeImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
}

const nodeInfo = resourceByKind('Node')!;

const isReady = (n: Node) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

/** What `ctl image load` refuses before sending anything: a missing file, or one that is no (gzipped) tar. */
export async function checkArchive(file: string): Promise<number> {
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new CliError(`${file} is not a file: give the path of an image archive (.tar)`);
    size = st.size;
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${file}: no such file` : `cannot read ${file}: ${(e as Error).message}`);
  }
  const head = Buffer.alloc(512);
  const fh = await open(file, 'r');
  let n: number;
  try {
    n = (await fh.read(head, 0, 512, 0)).bytesRead;
  } finally {
    await fh.close();
  }
  const gzip = n >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const tar = n >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
  if (!gzip && !tar) {
    throw new CliError(
      `${file} is not a tar archive: ctl image load takes an OCI image layout or docker save archive (docker save -o FILE.tar IMAGE, or ctr images export FILE.tar IMAGE)`,
    );
  }
  return size;
}

/** The nodes to act on: one named (it must exist and be Ready) or every Ready one. */
async function targetNodes(client: RestClient, opts: { node?: string; all: boolean }): Promise<string[]> {
  if (opts.node && opts.all) throw new CliError('give either --node NAME or --all, not both');
  if (!opts.node && !opts.all) throw new CliError('say which nodes get the images: --node NAME, or --all for every Ready node');
  if (opts.node) {
    const node = (await client.get(nodeInfo, '', opts.node)) as Node;
    if (!isReady(node)) throw new CliError(`node ${opts.node} is not Ready: its agent must be running and connected (ctl get nodes)`);
    return [opts.node];
  }
  const ready = ((await client.list(nodeInfo)).items as Node[]).filter(isReady).map((n) => n.metadata.name!);
  if (!ready.length) throw new CliError('no node is Ready: start or join an agent first (ctl get nodes)');
  return ready.sort();
}

const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;

/** Runs `fn` on every item, at most `limit` at a time. */
async function bounded<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  });
  await Promise.all(workers);
}

export async function runImageLoad(client: RestClient, io: Io, opts: ImageLoadOptions): Promise<number> {
  const size = await checkArchive(opts.file);
  const nodes = await targetNodes(client, opts);
  const width = Math.max(...nodes.map((n) => n.length));
  const bars = opts.tty
    ? new cliProgress.MultiBar(
        {
          format: `{node} [{bar}] {percentage}% | {sent}/{archive} {state}`,
          // The bars stand in for the plain progress lines, so they go where those would.
          stream: process.stdout,
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          barsize: 30,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const results: string[] = [];
  let failed = 0;
  await bounded(nodes, opts.parallel ?? 4, async (node) => {
    const label = node.padEnd(width);
    const bar = bars?.create(size, 0, { node: label, sent: mib(0), archive: mib(size), state: '' });
    let sent = 0;
    let quarter = 0;
    const source = createReadStream(opts.file);
    source.on('data', (chunk: Buffer | string) => {
      sent += chunk.length;
      if (bar) bar.update(sent, { sent: mib(sent), state: sent === size ? 'importing' : '' });
      else {
        const q = size ? Math.floor((sent / size) * 4) : 4;
        if (q > quarter) {
          quarter = q;
          io.out(`${node}: sent ${mib(sent)} of ${mib(size)}\n`);
        }
      }
    });
    try {
      const r = await client.upload<{ images?: string[] }>(nodeImagesPath(node), source, size);
      const names = r.images?.length ? r.images.join(', ') : '(no named images in the archive)';
      bar?.update(sent, { state: 'done' });
      results.push(`${node}: loaded ${names}`);
    } catch (e) {
      failed++;
      bar?.update(sent, { state: 'failed' });
      results.push(`${node}: ${formatError(e)}`);
    } finally {
      source.destroy();
    }
  });
  bars?.stop();
  for (const line of results.sort()) (line.includes(': loaded ') ? io.out : io.err)(`${line}\n`);
  return failed ? 1 : 0;
}

/** crictl's size: 1.2MB, 845kB. */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v}B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0).replace(/\.?0+$/, '')}${units[i]}`;
}

/** One row per name an image has (repo tags, else digests), as crictl images lists them. */
export function imageRows(node: string, images: NodeImage[]): string[][] {
  const rows: string[][] = [];
  for (const img of images) {
    const id = img.id.replace(/^sha256:/, '').slice(0, 13);
    const names = img.repoTags.length ? img.repoTags : img.repoDigests.length ? img.repoDigests.map((d) => `${d.split('@')[0]}:<none>`) : ['<none>'];
    for (const name of names) rows.push([node, name, id, humanSize(img.size)]);
  }
  return rows.sort((a, b) => a[1].localeCompare(b[1]));
}

export async function runImageList(client: RestClient, io: Io, opts: { node?: string }): Promise<number> {
  let nodes: string[];
  if (opts.node) nodes = [opts.node];
  else {
    const all = ((await client.list(nodeInfo)).items as Node[]).sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
    for (const n of all.filter((n) => !isReady(n))) io.err(`node ${n.metadata.name} is not Ready: its images are not listed\n`);
    nodes = all.filter(isReady).map((n) => n.metadata.name!);
  }
  const rows: string[][] = [];
  let failed = 0;
  for (const node of nodes) {
    try {
      const r = await client.request<{ images?: NodeImage[] }>('GET', nodeImagesPath(node));
      rows.push(...imageRows(node, r.images ?? []));
    } catch (e) {
      if (opts.node) throw e;
      failed++;
      io.err(`${node}: ${formatError(e)}\n`);
    }
  }
  if (rows.length) io.out(`${renderTable(['NODE', 'IMAGE', 'ID', 'SIZE'], rows)}\n`);
  else if (!failed) io.err('No images found.\n');
  return failed ? 1 : 0;
}
