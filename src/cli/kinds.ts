import { closest, distance } from 'fastest-levenshtein';
import { apiVersionOf, knownKindNames, resourceByKind, resourceByName, resources, type ResourceInfo } from '../api/resources.js';
import type { KObject } from '../api/types.js';
import { CliError } from './errors.js';

// Turning what users type (`po`, `deployments.apps`, `deploy/web`) and what manifests say
// (`kind: Deployment`) into entries of the resource table, with a suggestion when a name is close
// to a known one.

/** The nearest known spelling, if it is close enough to be a plausible typo. */
export function suggestKind(name: string, candidates: string[] = knownKindNames()): string | undefined {
  if (!name) return undefined;
  const lower = name.toLowerCase();
  const best = closest(lower, candidates.map((c) => c.toLowerCase()));
  const d = distance(lower, best);
  if (d > Math.max(2, Math.floor(lower.length / 3))) return undefined;
  return candidates.find((c) => c.toLowerCase() === best);
}

export function unknownKindError(name: string, candidates?: string[]): CliError {
  const hint = suggestKind(name, candidates);
  return new CliError(
    `no kind ${JSON.stringify(name)} is known; ${hint ? `did you mean ${JSON.stringify(hint)}?` : "run 'ctl api-resources' to list the kinds"}`,
  );
}

/** A kind as typed on the command line: any of kubectl's spellings. */
export function resolveResource(name: string): ResourceInfo {
  const info = resourceByName(name);
  if (info) return info;
  // Answer in the user's style: `pdos` → "pods", `Deploymnet` → "Deployment".
  const typedKind = /[A-Z]/.test(name);
  throw unknownKindError(name, typedKind ? resources.map((r) => r.kind) : resources.flatMap((r) => [r.plural, r.singular, ...r.shortNames]));
}

/** The kind a manifest object declares, checked against its apiVersion. */
export function resourceForObject(obj: KObject): ResourceInfo {
  const byKind = resources.filter((r) => r.kind === obj.kind);
  if (byKind.length === 0) throw unknownKindError(obj.kind, resources.map((r) => r.kind));
  const info = resourceByKind(obj.kind, obj.apiVersion);
  if (!info) {
    const want = byKind.map((r) => apiVersionOf(r)).join(' or ');
    throw new CliError(`no matches for kind ${JSON.stringify(obj.kind)} in version ${JSON.stringify(obj.apiVersion)}; use apiVersion: ${want}`);
  }
  return info;
}

/** `pod`, `deployment.apps`: the resource part of `-o name` and of apply's messages. */
export function qualifiedKind(info: ResourceInfo): string {
  return info.group ? `${info.kind.toLowerCase()}.${info.group}` : info.kind.toLowerCase();
}

/** `pod/web`, `deployment.apps/web`. */
export function objectRef(info: ResourceInfo, name: string): string {
  return `${qualifiedKind(info)}/${name}`;
}

export interface ResourceTarget {
  info: ResourceInfo;
  /** Empty: every object of the kind (subject to selectors). */
  names: string[];
}

/**
 * kubectl's `all` category: the workload kinds in the order kubectl prints them, which is
 * discovery's: the core group, then apps, then batch (each group's resources alphabetical).
 */
const allCategory = ['pods', 'replicationcontrollers', 'daemonsets', 'deployments', 'replicasets', 'cronjobs', 'jobs'];

/**
 * The positional arguments of get, describe and delete: `KIND [NAME...]`, `KIND1,KIND2`, or
 * `KIND/NAME [KIND/NAME...]`. Targets keep the order the user gave.
 */
export function parseTargets(args: string[]): ResourceTarget[] {
  if (args.length === 0) {
    throw new CliError("you must say which kind of resource, e.g. 'ctl get pods'; run 'ctl api-resources' to list the kinds");
  }
  if (args.some((a) => a.includes('/'))) {
    const targets: ResourceTarget[] = [];
    for (const a of args) {
      const slash = a.indexOf('/');
      if (slash <= 0 || slash === a.length - 1) {
        throw new CliError(`there is no need to give a kind apart from KIND/NAME arguments: ${JSON.stringify(a)} should be KIND/NAME too`);
      }
      const info = resolveResource(a.slice(0, slash));
      const name = a.slice(slash + 1);
      const same = targets.find((t) => t.info === info);
      if (same) same.names.push(name);
      else targets.push({ info, names: [name] });
    }
    return targets;
  }
  const [kinds, ...names] = args;
  const infos = kinds
    .split(',')
    .filter(Boolean)
    .flatMap((k) => (k === 'all' ? allCategory.map(resolveResource) : [resolveResource(k)]));
  if (infos.length > 1 && names.length > 0) {
    throw new CliError(`names cannot be given with several kinds (${kinds}); use KIND/NAME arguments instead`);
  }
  return infos.map((info) => ({ info, names: [...names] }));
}
