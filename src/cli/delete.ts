import { isApiError } from '../api/errors.js';
import type { ResourceInfo } from '../api/resources.js';
import { CliError, formatApiError } from './errors.js';
import type { Io } from './io.js';
import { qualifiedKind, resourceForObject, type ResourceTarget } from './kinds.js';
import type { Manifest } from './manifests.js';
import { namespaceFor, type NamespaceChoice } from './namespaces.js';
import type { RestClient } from './rest-client.js';

// `ctl delete`: by name, by selector, everything of a kind, or what manifests name. By default
// it waits until the objects are gone (kubectl's --wait), since deletion can be graceful.

export interface DeleteCommandOptions {
  namespace: NamespaceChoice;
  allNamespaces: boolean;
  labelSelector?: string;
  fieldSelector?: string;
  all: boolean;
  ignoreNotFound: boolean;
  gracePeriodSeconds?: number;
  /** Orphan keeps the objects' dependents (a Deployment's ReplicaSets and pods); default: they go too. */
  propagationPolicy?: 'Background' | 'Orphan' | 'Foreground';
  wait: boolean;
  /** 0: no limit. */
  timeoutMs: number;
  outputName: boolean;
}

interface Victim {
  info: ResourceInfo;
  namespace: string;
  name: string;
}

const pollMs = 200;

async function deleteOne(client: RestClient, io: Io, v: Victim, opts: DeleteCommandOptions): Promise<{ ok: boolean; uid?: string }> {
  try {
    const res = await client.delete(v.info, v.namespace, v.name, { gracePeriodSeconds: opts.gracePeriodSeconds, propagationPolicy: opts.propagationPolicy });
    io.out(opts.outputName ? `${qualifiedKind(v.info)}/${v.name}\n` : `${qualifiedKind(v.info)} "${v.name}" deleted\n`);
    const meta = (res as { metadata?: { uid?: string } }).metadata;
    return { ok: true, uid: meta?.uid };
  } catch (e) {
    if (isApiError(e, 'NotFound')) {
      if (opts.ignoreNotFound) return { ok: true };
      io.err(`${formatApiError(e)}\n`);
      return { ok: false };
    }
    throw e;
  }
}

/** Polls until the object is gone, or replaced by a new one of the same name. */
async function waitGone(client: RestClient, v: Victim, uid: string | undefined, deadline: number): Promise<void> {
  for (;;) {
    try {
      const cur = await client.get(v.info, v.namespace, v.name);
      if (uid && cur.metadata.uid && cur.metadata.uid !== uid) return;
    } catch (e) {
      if (isApiError(e, 'NotFound')) return;
      throw e;
    }
    if (deadline && Date.now() > deadline) {
      throw new CliError(`timed out waiting for ${qualifiedKind(v.info)} "${v.name}" to be deleted; it may still be finalizing (run 'ctl get ${v.info.plural} ${v.name}')`);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function deleteAll(client: RestClient, io: Io, victims: Victim[], opts: DeleteCommandOptions): Promise<number> {
  let failed = false;
  const deleted: { v: Victim; uid?: string }[] = [];
  for (const v of victims) {
    const r = await deleteOne(client, io, v, opts);
    if (!r.ok) failed = true;
    else deleted.push({ v, uid: r.uid });
  }
  if (opts.wait) {
    const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : 0;
    for (const d of deleted) await waitGone(client, d.v, d.uid, deadline);
  }
  return failed ? 1 : 0;
}

export async function runDeleteTargets(client: RestClient, io: Io, targets: ResourceTarget[], opts: DeleteCommandOptions): Promise<number> {
  const victims: Victim[] = [];
  for (const t of targets) {
    const ns = t.info.namespaced ? opts.namespace.namespace : '';
    if (t.names.length) {
      if (opts.all || opts.labelSelector) throw new CliError('names cannot be given together with --all or a selector (-l)');
      victims.push(...t.names.map((name) => ({ info: t.info, namespace: ns, name })));
      continue;
    }
    if (!opts.all && !opts.labelSelector && !opts.fieldSelector) {
      throw new CliError(`resource(s) were provided, but no name was specified: give a name, a selector (-l), or --all to delete every ${t.info.singular}`);
    }
    const list = await client.list(t.info, {
      namespace: t.info.namespaced && !opts.allNamespaces ? ns : undefined,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
    });
    victims.push(...list.items.map((o) => ({ info: t.info, namespace: o.metadata.namespace ?? '', name: o.metadata.name ?? '' })));
  }
  if (victims.length === 0) {
    io.err('No resources found\n');
    return 0;
  }
  return deleteAll(client, io, victims, opts);
}

export async function runDeleteManifests(client: RestClient, io: Io, manifests: Manifest[], opts: DeleteCommandOptions): Promise<number> {
  const victims = manifests.map((m) => {
    const info = resourceForObject(m.obj);
    if (!m.obj.metadata.name) throw new CliError(`${m.source}:${m.line}:${m.col}: metadata.name is not set, so there is nothing to delete`);
    return { info, namespace: namespaceFor(info, m.obj, opts.namespace), name: m.obj.metadata.name };
  });
  return deleteAll(client, io, victims, opts);
}
