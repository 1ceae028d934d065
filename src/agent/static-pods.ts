import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { applyDefaults } from '../api/defaults.js';
import { formatFieldError } from '../api/errors.js';
import { annotations, mirrorPodName } from '../api/mirror-pods.js';
import type { KObject, Pod } from '../api/types.js';
import { validateObject } from '../api/validation.js';
import type { Logger } from '../log/logger.js';

// Static pods, as the kubelet's staticPodPath: every manifest file in one directory is a pod
// this node runs by itself, with or without a control plane. The pod is named NAME-NODENAME and
// its UID is a hash of the node and the manifest, so an edited file is a new pod (the old one is
// stopped, the new one started) and an unchanged one keeps its containers across restarts.

export type ParsedManifest = { ok: true; pod: Pod } | { ok: false; error: string };

/** The static pod a manifest file describes, or why it is not one (naming the file). */
export function parseStaticPod(file: string, text: string, nodeName: string): ParsedManifest {
  const fail = (why: string): ParsedManifest => ({ ok: false, error: `static pod manifest ${file}: ${why}` });
  let docs: unknown[];
  try {
    const parsed = parseAllDocuments(text, { prettyErrors: false });
    if (!Array.isArray(parsed)) return fail('empty file: it must hold one Pod');
    const bad = parsed.flatMap((d) => d.errors);
    if (bad.length) return fail(`not valid YAML or JSON: ${bad[0].message}`);
    docs = parsed.map((d) => d.toJS()).filter((d) => d !== null && d !== undefined);
  } catch (e) {
    return fail(`not valid YAML or JSON: ${(e as Error).message}`);
  }
  if (docs.length !== 1) return fail(`holds ${docs.length} documents: a static pod manifest holds exactly one Pod`);
  const obj = docs[0] as KObject;
  if (typeof obj !== 'object' || Array.isArray(obj)) return fail('must be a mapping with apiVersion: v1 and kind: Pod');
  if (obj.kind !== 'Pod') return fail(`kind is ${JSON.stringify(obj.kind ?? null)}: a static pod manifest holds kind: Pod`);
  const meta = (obj.metadata ?? {}) as KObject['metadata'];
  if (typeof meta !== 'object' || typeof meta.name !== 'string' || !meta.name) return fail('metadata.name: Required value');
  const spec = obj.spec as Pod['spec'] | undefined;
  if (spec && typeof spec === 'object' && spec.nodeName !== undefined && spec.nodeName !== nodeName) {
    return fail(`spec.nodeName is ${JSON.stringify(spec.nodeName)}: a static pod runs on the node whose manifest directory holds it (${nodeName}); remove the field`);
  }
  const namespace = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : 'default';
  const uid = staticPodUid(nodeName, namespace, obj);
  const pod: KObject = {
    ...obj,
    apiVersion: obj.apiVersion,
    kind: 'Pod',
    metadata: {
      ...(meta.labels ? { labels: meta.labels } : {}),
      name: mirrorPodName(meta.name, nodeName),
      namespace,
      uid,
      annotations: { ...(meta.annotations ?? {}), [annotations.configSource]: 'file', [annotations.configHash]: uid },
    },
    spec: { ...(spec ?? {}), nodeName } as Pod['spec'],
  };
  delete pod.status;
  applyDefaults(pod);
  const errs = validateObject(pod);
  if (errs.length) return fail(`the Pod is invalid: ${errs.map(formatFieldError).join('; ')}`);
  return { ok: true, pod: pod as Pod };
}

/** A UUID-shaped digest of the node and the manifest's content. */
function staticPodUid(nodeName: string, namespace: string, obj: KObject): string {
  const h = createHash('sha256').update(JSON.stringify([nodeName, namespace, obj])).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export interface StaticPodSourceOptions {
  dir: string;
  nodeName: string;
  log: Logger;
  /** How often the directory is read again. Default 1 s. */
  pollIntervalMs?: number;
}

interface Seen {
  stamp: string;
  result: ParsedManifest;
}

/**
 * Watches the manifest directory by polling (inotify misses edits over some network and overlay
 * file systems; a directory of a few files is cheap to stat). A file that does not parse is
 * logged once per change and otherwise ignored; a missing directory is no static pods.
 */
export class StaticPodSource {
  private readonly seen = new Map<string, Seen>();
  private current: Pod[] = [];
  private timer: NodeJS.Timeout | undefined;
  private scanning = false;
  /** Files already reported as defining a pod another file defines, so each is logged once. */
  private duplicates = new Set<string>();

  constructor(private readonly opts: StaticPodSourceOptions) {}

  get pods(): Pod[] {
    return this.current;
  }

  /** Reads the directory once, then keeps watching; `onChange` gets the whole list whenever it changes. */
  async start(onChange: (pods: Pod[]) => void): Promise<Pod[]> {
    await this.scan();
    this.timer = setInterval(() => {
      void this.scan().then((changed) => changed && onChange(this.current));
    }, this.opts.pollIntervalMs ?? 1000);
    return this.current;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass over the directory; whether the list of pods changed. */
  async scan(): Promise<boolean> {
    if (this.scanning) return false;
    this.scanning = true;
    try {
      const names = await readdir(this.opts.dir).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') this.opts.log.warn({ dir: this.opts.dir, err: e }, 'cannot read the static pod manifest directory');
        return [] as string[];
      });
      const files = names.filter((n) => !n.startsWith('.')).sort();
      for (const gone of [...this.seen.keys()].filter((f) => !files.includes(f))) this.seen.delete(gone);
      for (const name of files) await this.read(name);
      const pods: Pod[] = [];
      const byName = new Map<string, string>();
      const duplicates = new Set<string>();
      for (const name of files) {
        const r = this.seen.get(name)?.result;
        if (!r?.ok) continue;
        const key = `${r.pod.metadata.namespace}/${r.pod.metadata.name}`;
        const first = byName.get(key);
        if (first) {
          if (!this.duplicates.has(name)) this.opts.log.error({ file: join(this.opts.dir, name), other: join(this.opts.dir, first) }, `static pod ${key} is defined twice; the later file is ignored`);
          duplicates.add(name);
          continue;
        }
        byName.set(key, name);
        pods.push(r.pod);
      }
      this.duplicates = duplicates;
      const changed = !isDeepStrictEqual(pods, this.current);
      this.current = pods;
      return changed;
    } finally {
      this.scanning = false;
    }
  }

  private async read(name: string): Promise<void> {
    const path = join(this.opts.dir, name);
    let stamp: string;
    try {
      const st = await stat(path);
      if (!st.isFile()) return;
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      this.seen.delete(name);
      return;
    }
    if (this.seen.get(name)?.stamp === stamp) return;
    let result: ParsedManifest;
    try {
      result = parseStaticPod(path, await readFile(path, 'utf8'), this.opts.nodeName);
    } catch (e) {
      result = { ok: false, error: `static pod manifest ${path}: cannot read it: ${(e as Error).message}` };
    }
    if (!result.ok) this.opts.log.error({ file: path }, result.error);
    else this.opts.log.info({ file: path, pod: result.pod.metadata.name, uid: result.pod.metadata.uid }, 'read a static pod manifest');
    this.seen.set(name, { stamp, result });
  }
}
