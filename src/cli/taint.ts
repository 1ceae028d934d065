import type { Node, Taint, TaintEffect } from '../api/types.js';
import { isLabelValue, isQualifiedName } from '../api/validation/names.js';
import { CliError } from './errors.js';
import type { Io } from './io.js';
import { resolveResource } from './kinds.js';
import type { RestClient } from './rest-client.js';

// `ctl taint nodes NODE key=value:Effect`, `key:Effect-` and `key-`, with kubectl's parsing and
// messages. The new taint list replaces the old one in a merge patch guarded by resourceVersion,
// so a concurrent change to the node's taints makes this fail instead of being lost.

const effects: TaintEffect[] = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

export interface TaintRemoval {
  key: string;
  /** Undefined: every taint with the key. */
  effect?: TaintEffect;
}

export interface TaintChanges {
  add: Taint[];
  remove: TaintRemoval[];
}

function checkEffect(effect: string, spec: string): TaintEffect {
  if (!effects.includes(effect as TaintEffect)) {
    throw new CliError(`invalid taint effect: ${effect} in ${JSON.stringify(spec)}, unsupported taint effect: use one of ${effects.join(', ')}`);
  }
  return effect as TaintEffect;
}

function checkKey(key: string, spec: string): void {
  const why = isQualifiedName(key);
  if (why.length) throw new CliError(`invalid taint spec: ${JSON.stringify(spec)}: key: ${why.join('; ')}`);
}

/** `key=value:Effect` or `key:Effect` add; `key:Effect-` or `key-` remove. */
export function parseTaintChanges(specs: string[]): TaintChanges {
  if (specs.length === 0) throw new CliError('at least one taint update is required, e.g. dedicated=gpu:NoSchedule or dedicated-');
  const changes: TaintChanges = { add: [], remove: [] };
  for (const spec of specs) {
    if (spec.endsWith('-')) {
      const body = spec.slice(0, -1);
      const colon = body.indexOf(':');
      const key = colon < 0 ? body : body.slice(0, colon);
      checkKey(key, spec);
      changes.remove.push(colon < 0 ? { key } : { key, effect: checkEffect(body.slice(colon + 1), spec) });
      continue;
    }
    const colon = spec.lastIndexOf(':');
    if (colon < 0) throw new CliError(`unknown taint spec: ${JSON.stringify(spec)}: use key=value:Effect to add, key:Effect- or key- to remove`);
    const effect = checkEffect(spec.slice(colon + 1), spec);
    const kv = spec.slice(0, colon);
    const eq = kv.indexOf('=');
    const key = eq < 0 ? kv : kv.slice(0, eq);
    checkKey(key, spec);
    const taint: Taint = { key, effect };
    if (eq >= 0) {
      taint.value = kv.slice(eq + 1);
      const why = isLabelValue(taint.value);
      if (why.length) throw new CliError(`invalid taint spec: ${JSON.stringify(spec)}: value: ${why.join('; ')}`);
    }
    if (changes.add.some((t) => t.key === key && t.effect === effect)) throw new CliError(`taint ${key}:${effect} is given more than once`);
    changes.add.push(taint);
  }
  for (const r of changes.remove) {
    if (changes.add.some((t) => t.key === r.key && (!r.effect || t.effect === r.effect))) {
      throw new CliError(`can not both modify and remove taint ${r.key}${r.effect ? `:${r.effect}` : ''} in the same command`);
    }
  }
  return changes;
}

const describeTaint = (t: { key: string; effect?: string }) => (t.effect ? `${t.key}:${t.effect}` : t.key);

/**
 * The node's taints after the changes, and kubectl's word for it. Adding a taint whose key and
 * effect exist already needs `overwrite`; removing one that is not there is an error.
 */
export function planTaints(nodeName: string, current: Taint[] | undefined, changes: TaintChanges, overwrite: boolean, now: () => Date = () => new Date()): { taints: Taint[]; verb: 'tainted' | 'untainted' } {
  let taints = [...(current ?? [])];
  for (const r of changes.remove) {
    const kept = taints.filter((t) => !(t.key === r.key && (!r.effect || t.effect === r.effect)));
    if (kept.length === taints.length) throw new CliError(`taint ${JSON.stringify(describeTaint(r))} not found on node ${nodeName}`);
    taints = kept;
  }
  const clashes = changes.add.filter((a) => taints.some((t) => t.key === a.key && t.effect === a.effect));
  if (clashes.length && !overwrite) {
    throw new CliError(
      `node ${nodeName} already has ${clashes.map((t) => t.key).join(',')} taint(s) with same effect(s) and --overwrite is false; add --overwrite to replace them`,
    );
  }
  for (const a of changes.add) {
    const taint: Taint = { ...a, ...(a.effect === 'NoExecute' ? { timeAdded: now().toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}) };
    const at = taints.findIndex((t) => t.key === a.key && t.effect === a.effect);
    if (at >= 0) taints[at] = taint;
    else taints.push(taint);
  }
  return { taints, verb: changes.add.length ? 'tainted' : 'untainted' };
}

export async function runTaint(client: RestClient, io: Io, args: string[], opts: { overwrite: boolean }): Promise<number> {
  const [kind, name, ...specs] = args;
  if (!kind || !name) throw new CliError("you must name the node: 'ctl taint nodes NODE key=value:Effect'");
  const info = resolveResource(kind);
  if (info.kind !== 'Node') throw new CliError(`only nodes carry taints, not ${info.plural}: 'ctl taint nodes NODE key=value:Effect'`);
  const changes = parseTaintChanges(specs);
  const node = (await client.get(info, '', name)) as Node;
  const plan = planTaints(name, node.spec?.taints, changes, opts.overwrite);
  await client.patch(info, '', name, {
    metadata: { resourceVersion: node.metadata.resourceVersion },
    spec: { taints: plan.taints.length ? plan.taints : null },
  });
  io.out(`node/${name} ${plan.verb}\n`);
  return 0;
}
