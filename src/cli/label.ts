import { isLabelValue, isQualifiedName } from '../api/validation/names.js';
import { CliError } from './errors.js';
import type { Io } from './io.js';
import { objectRef, resolveResource } from './kinds.js';
import type { NamespaceChoice } from './namespaces.js';
import type { RestClient } from './rest-client.js';

// `ctl label KIND NAME k=v k2- [--overwrite]`, with kubectl's rules: a key that already has a
// different value is only changed with --overwrite, and `k-` removes a key. The change goes to
// the server as a merge patch, so labels set meanwhile by others are kept.

export interface LabelChanges {
  set: Record<string, string>;
  remove: string[];
}

/** Splits `k=v` and `k-` arguments, checking keys and values as the API server would. */
export function parseLabelChanges(args: string[]): LabelChanges {
  const changes: LabelChanges = { set: {}, remove: [] };
  const problems: string[] = [];
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq < 0 && arg.endsWith('-') && arg.length > 1) {
      changes.remove.push(arg.slice(0, -1));
      continue;
    }
    if (eq <= 0) {
      problems.push(`invalid label spec: ${JSON.stringify(arg)}: use KEY=VALUE to set or KEY- to remove`);
      continue;
    }
    const key = arg.slice(0, eq);
    const value = arg.slice(eq + 1);
    const why = [...isQualifiedName(key).map((m) => `key: ${m}`), ...isLabelValue(value).map((m) => `value: ${m}`)];
    if (why.length) problems.push(`invalid label spec: ${JSON.stringify(arg)}: ${why.join('; ')}`);
    else if (key in changes.set && changes.set[key] !== value) problems.push(`label ${JSON.stringify(key)} is given twice with different values`);
    else changes.set[key] = value;
  }
  for (const key of changes.remove) if (key in changes.set) problems.push(`can not both modify and remove label ${JSON.stringify(key)} in the same command`);
  if (args.length === 0) problems.push('at least one label update is required, e.g. app=web or app-');
  if (problems.length) throw new CliError(problems.join('\n'));
  return changes;
}

export interface LabelPlan {
  /** The merge patch for metadata.labels: values to set, null to remove; undefined when nothing changes. */
  patch?: Record<string, string | null>;
  /** Keys asked to be removed that the object does not have. */
  missing: string[];
  /** kubectl's word for the outcome: labeled, unlabeled or not labeled. */
  verb: 'labeled' | 'unlabeled' | 'not labeled';
}

/** What the changes do to `current`; throws when a key would change without `overwrite`. */
export function planLabels(current: Record<string, string> | undefined, changes: LabelChanges, overwrite: boolean): LabelPlan {
  const have = current ?? {};
  if (!overwrite) {
    const clashes = Object.entries(changes.set).filter(([k, v]) => k in have && have[k] !== v);
    if (clashes.length) {
      throw new CliError(
        clashes.map(([k]) => `'${k}' already has a value (${have[k]}), and --overwrite is false`).join('\n') +
          '\nadd --overwrite to replace the value',
      );
    }
  }
  const patch: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(changes.set)) if (have[k] !== v) patch[k] = v;
  const missing = changes.remove.filter((k) => !(k in have));
  for (const k of changes.remove) if (k in have) patch[k] = null;
  if (Object.keys(patch).length === 0) return { missing, verb: 'not labeled' };
  const onlyRemoves = Object.values(patch).every((v) => v === null);
  return { patch, missing, verb: onlyRemoves ? 'unlabeled' : 'labeled' };
}

/** `KIND NAME changes...` or `KIND/NAME changes...`. */
export function parseLabelTarget(args: string[]): { kind: string; name: string; changes: string[] } {
  const [first, ...rest] = args;
  if (!first) throw new CliError("you must say what to label, e.g. 'ctl label nodes node-1 disktype=ssd'");
  const slash = first.indexOf('/');
  if (slash > 0) return { kind: first.slice(0, slash), name: first.slice(slash + 1), changes: rest };
  const [name, ...changes] = rest;
  if (!name || name.includes('=') || (name.endsWith('-') && changes.length === 0)) {
    throw new CliError(`you must name the ${first} to label: 'ctl label ${first} NAME KEY=VALUE'`);
  }
  return { kind: first, name, changes };
}

export async function runLabel(client: RestClient, io: Io, args: string[], opts: { namespace: NamespaceChoice; overwrite: boolean }): Promise<number> {
  const target = parseLabelTarget(args);
  const info = resolveResource(target.kind);
  const changes = parseLabelChanges(target.changes);
  const ns = info.namespaced ? opts.namespace.namespace : '';
  const obj = await client.get(info, ns, target.name);
  const plan = planLabels(obj.metadata.labels, changes, opts.overwrite);
  for (const k of plan.missing) io.err(`label ${JSON.stringify(k)} not found.\n`);
  if (plan.patch) {
    // resourceVersion makes the patch a compare-and-swap against what was checked above.
    await client.patch(info, ns, target.name, { metadata: { labels: plan.patch, resourceVersion: obj.metadata.resourceVersion } });
  }
  io.out(`${objectRef(info, target.name)} ${plan.verb}\n`);
  return 0;
}
