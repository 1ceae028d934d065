import { isApiError } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import { planApply, withLastApplied } from './apply-patch.js';
import { CliError, formatApiError } from './errors.js';
import type { Io } from './io.js';
import { objectRef, resourceForObject } from './kinds.js';
import type { Manifest } from './manifests.js';
import { namespaceFor, type NamespaceChoice } from './namespaces.js';
import type { RestClient } from './rest-client.js';

// apply and create for objects read from manifests. Each object is attempted even when an
// earlier one failed, as kubectl does; the caller prints results and errors.

export type ApplyAction = 'created' | 'configured' | 'unchanged';

export interface ApplyOutcome {
  /** `deployment.apps/web`. */
  ref: string;
  action: ApplyAction;
  object: KObject;
  /** Said once per object on stderr, e.g. the missing-annotation notice. */
  warning?: string;
}

const conflictRetries = 5;

function nameOf(m: Manifest, forApply: boolean): string {
  const name = m.obj.metadata.name;
  if (name) return name;
  if (forApply && m.obj.metadata.generateName) {
    throw new CliError(`${m.source}:${m.line}:${m.col}: cannot use generateName with apply; give metadata.name or use 'ctl create'`);
  }
  if (!m.obj.metadata.generateName) throw new CliError(`${m.source}:${m.line}:${m.col}: metadata.name is not set`);
  return '';
}

/** Creates the object, or patches it towards the manifest; reports which happened. */
export async function applyManifest(client: RestClient, m: Manifest, choice: NamespaceChoice): Promise<ApplyOutcome> {
  const info = resourceForObject(m.obj);
  const namespace = namespaceFor(info, m.obj, choice);
  const name = nameOf(m, true);
  const ref = objectRef(info, name);

  for (let attempt = 0; ; attempt++) {
    let live: KObject;
    try {
      live = await client.get(info, namespace, name);
    } catch (e) {
      if (!isApiError(e, 'NotFound')) throw e;
      try {
        const created = await client.create(info, namespace, withLastApplied(m.obj));
        return { ref, action: 'created', object: created };
      } catch (ce) {
        // Someone created it between our get and create: apply over theirs.
        if (isApiError(ce, 'AlreadyExists') && attempt < conflictRetries) continue;
        throw ce;
      }
    }
    const plan = planApply(m.obj, live, { ignoreStatus: info.hasStatus });
    const warning = plan.missingAnnotation
      ? `Warning: resource ${info.plural}/${name} is missing the kubectl.kubernetes.io/last-applied-configuration annotation ` +
        `which is required by 'ctl apply'. 'ctl apply' should only be used on resources created declaratively by either ` +
        `'ctl create --save-config' or 'ctl apply'. The missing annotation will be patched automatically.`
      : undefined;
    if (Object.keys(plan.patch).length === 0) return { ref, action: 'unchanged', object: live, warning };
    try {
      const patched = await client.patch(info, namespace, name, plan.patch);
      return { ref, action: 'configured', object: patched, warning };
    } catch (e) {
      if ((isApiError(e, 'Conflict') || isApiError(e, 'NotFound')) && attempt < conflictRetries) continue;
      throw e;
    }
  }
}

/** POSTs the object as written; `saveConfig` records it for later applies. */
export async function createManifest(
  client: RestClient,
  m: Manifest,
  choice: NamespaceChoice,
  opts: { saveConfig?: boolean } = {},
): Promise<{ ref: string; object: KObject }> {
  const info = resourceForObject(m.obj);
  const namespace = namespaceFor(info, m.obj, choice);
  nameOf(m, false);
  const created = await client.create(info, namespace, opts.saveConfig ? withLastApplied(m.obj) : m.obj);
  return { ref: objectRef(info, created.metadata?.name ?? m.obj.metadata.name ?? ''), object: created };
}

/** Checks every manifest can be sent (known kind, a name) before any is, so a typo applies nothing. */
export function checkManifests(manifests: Manifest[], forApply: boolean): void {
  for (const m of manifests) {
    try {
      resourceForObject(m.obj);
      nameOf(m, forApply);
    } catch (e) {
      if (e instanceof CliError && !e.message.startsWith(`${m.source}:`)) throw new CliError(`${m.source}:${m.line}:${m.col}: ${e.message}`);
      throw e;
    }
  }
}

function reportFailure(io: Io, e: unknown, verb: string, m: Manifest): void {
  if (isApiError(e)) io.err(`${formatApiError(e, e.reason === 'Invalid' ? undefined : `error when ${verb} ${JSON.stringify(m.source)}`)}\n`);
  else throw e;
}

/** `ctl apply`: prints one line per object; returns 1 if any object failed. */
export async function runApply(client: RestClient, io: Io, manifests: Manifest[], choice: NamespaceChoice, opts: { outputName: boolean }): Promise<number> {
  checkManifests(manifests, true);
  let failed = false;
  for (const m of manifests) {
    try {
      const r = await applyManifest(client, m, choice);
      if (r.warning) io.err(`${r.warning}\n`);
      io.out(opts.outputName ? `${r.ref}\n` : `${r.ref} ${r.action}\n`);
    } catch (e) {
      failed = true;
      reportFailure(io, e, 'applying', m);
    }
  }
  return failed ? 1 : 0;
}

/** `ctl create -f`: like apply, but an existing object is an error. */
export async function runCreate(
  client: RestClient,
  io: Io,
  manifests: Manifest[],
  choice: NamespaceChoice,
  opts: { outputName: boolean; saveConfig: boolean },
): Promise<number> {
  checkManifests(manifests, false);
  let failed = false;
  for (const m of manifests) {
    try {
      const r = await createManifest(client, m, choice, opts);
      io.out(opts.outputName ? `${r.ref}\n` : `${r.ref} created\n`);
    } catch (e) {
      failed = true;
      reportFailure(io, e, 'creating', m);
    }
  }
  return failed ? 1 : 0;
}
