import type { KObject } from '../api/types.js';

// `ctl apply` as a three-way merge, so fields that controllers and defaulting set are kept:
//
//   original  what the user applied last time (the last-applied-configuration annotation)
//   modified  what the user applies now (plus the new annotation)
//   current   what the server holds
//
// The result is a JSON merge patch (what the server accepts): a field the user dropped since
// last time is set to null; a field whose wanted value differs from the live one is set; a field
// only the server knows about is left alone. Maps merge key by key.
//
// How far this goes: lists are atomic, as in JSON merge patch (kubectl's strategic merge would
// merge containers by name). A list is sent whole when the user changed it since the last apply,
// or when the live list no longer holds what the user asked for; it is left alone when the live
// list holds every wanted element and field (in order), so values defaulted inside list elements
// (a container's imagePullPolicy) do not make every apply look like a change.

export const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonMap = { [k: string]: Json };

export function isMap(v: unknown): v is JsonMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Whether `have` holds everything `want` says: same scalars, every wanted key, lists element by element. */
export function contains(have: unknown, want: unknown): boolean {
  if (isMap(want)) return isMap(have) && Object.entries(want).every(([k, v]) => (v === null ? !(k in have) : contains(have[k], v)));
  if (Array.isArray(want)) return Array.isArray(have) && have.length === want.length && want.every((w, i) => contains(have[i], w));
  return deepEqual(have, want);
}

/** JSON with keys sorted at every level, so the same object always serialises the same way. */
export function canonicalJson(v: unknown): string {
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (isMap(x)) return Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort(x[k])]));
    return x;
  };
  return JSON.stringify(sort(v));
}

/** The merge patch turning `current` into what `modified` wants, given what `original` wanted. */
export function threeWayMergePatch(original: unknown, modified: unknown, current: unknown): JsonMap {
  return diffMaps(isMap(original) ? original : undefined, isMap(modified) ? modified : {}, isMap(current) ? current : {});
}

function diffMaps(original: JsonMap | undefined, modified: JsonMap, current: JsonMap): JsonMap {
  const patch: JsonMap = {};
  for (const k of Object.keys(original ?? {})) {
    if (!(k in modified) && k in current) patch[k] = null;
  }
  for (const [k, want] of Object.entries(modified)) {
    const have = current[k];
    const before = original?.[k];
    if (want === null) {
      if (k in current) patch[k] = null;
    } else if (isMap(want) && isMap(have)) {
      const sub = diffMaps(isMap(before) ? before : undefined, want, have);
      if (Object.keys(sub).length) patch[k] = sub;
    } else if (isMap(want)) {
      patch[k] = want;
    } else if (Array.isArray(want)) {
      if (!deepEqual(want, before) || !contains(have, want)) {
        if (!deepEqual(want, have)) patch[k] = want;
      }
    } else if (!deepEqual(want, have)) {
      patch[k] = want;
    }
  }
  return patch;
}

/** The object as the user wrote it, minus what never belongs in the annotation. */
function withoutAnnotation(obj: KObject): KObject {
  const copy = structuredClone(obj);
  const ann = copy.metadata?.annotations;
  if (ann && lastAppliedAnnotation in ann) {
    delete ann[lastAppliedAnnotation];
    if (Object.keys(ann).length === 0) delete copy.metadata.annotations;
  }
  return copy;
}

/** `desired` carrying its own last-applied annotation: what create sends and what apply compares. */
export function withLastApplied(desired: KObject): KObject {
  const base = withoutAnnotation(desired);
  const out = structuredClone(base);
  out.metadata.annotations = { ...(out.metadata.annotations ?? {}), [lastAppliedAnnotation]: canonicalJson(base) };
  return out;
}

/** What the user applied last time, if the live object records it. */
export function lastAppliedOf(live: KObject): unknown {
  const text = live.metadata?.annotations?.[lastAppliedAnnotation];
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface ApplyPlan {
  /** Empty when nothing would change: apply prints `unchanged`. */
  patch: JsonMap;
  /** The live object had no annotation (made by `create`): nothing can be pruned this time. */
  missingAnnotation: boolean;
}

/**
 * The patch for applying `desired` over `live`. `status` is left out when the kind has a status
 * subresource: the server ignores status there, and comparing it would make every apply a change.
 */
export function planApply(desired: KObject, live: KObject, opts: { ignoreStatus: boolean }): ApplyPlan {
  const wanted = structuredClone(desired);
  if (opts.ignoreStatus) delete wanted.status;
  const modified = withLastApplied(wanted);
  const original = lastAppliedOf(live);
  const current = structuredClone(live) as KObject;
  if (opts.ignoreStatus) delete current.status;
  return { patch: threeWayMergePatch(original, modified, current), missingAnnotation: original === undefined };
}
