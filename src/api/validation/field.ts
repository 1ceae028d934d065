// Field paths, FieldError constructors, and readers that check the type of untrusted input: a
// reader returns the value when it has the expected type, and otherwise records an error and
// returns undefined, so a validator walks any input without throwing.

import type { FieldError } from '../errors.js';

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- paths: `spec.containers[0].image`, `spec.hard[cpu]` -------------------------------------

export function child(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}

export function key(path: string, k: string): string {
  return `${path}[${k}]`;
}

// ---- errors ----------------------------------------------------------------------------------

export function required(field: string, detail?: string): FieldError {
  return { field, type: 'FieldValueRequired', ...(detail ? { detail } : {}) };
}

export function invalid(field: string, value: unknown, detail: string): FieldError {
  return { field, type: 'FieldValueInvalid', value, detail };
}

export function notSupported(field: string, value: unknown, supported: readonly string[]): FieldError {
  return {
    field,
    type: 'FieldValueNotSupported',
    value,
    detail: `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  };
}

export function duplicate(field: string, value: unknown): FieldError {
  return { field, type: 'FieldValueDuplicate', value };
}

export function forbidden(field: string, detail: string): FieldError {
  return { field, type: 'FieldValueForbidden', detail };
}

export function notFound(field: string, value: unknown): FieldError {
  return { field, type: 'FieldValueNotFound', value };
}

export function tooLong(field: string, detail: string): FieldError {
  return { field, type: 'FieldValueTooLong', detail };
}

/** Go's %#v of a string map, as Kubernetes prints it in messages: `map[string]string{"app":"web"}`. */
export function goStringMap(m: Record<string, string>): string {
  const body = Object.keys(m)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k])}`)
    .join(', ');
  return `map[string]string{${body}}`;
}

// ---- typed readers ---------------------------------------------------------------------------
// YAML `key:` with nothing after it reads as null; Kubernetes treats null as absent, and so do these.

export function readObj(v: unknown, path: string, errs: FieldError[]): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (isObj(v)) return v;
  errs.push(invalid(path, v, 'must be an object'));
  return undefined;
}

export function readList(v: unknown, path: string, errs: FieldError[]): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v;
  errs.push(invalid(path, v, 'must be a list'));
  return undefined;
}

export function readString(v: unknown, path: string, errs: FieldError[]): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  errs.push(invalid(path, v, 'must be a string'));
  return undefined;
}

export function readInt(v: unknown, path: string, errs: FieldError[]): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  errs.push(invalid(path, v, 'must be an integer'));
  return undefined;
}

export function readBool(v: unknown, path: string, errs: FieldError[]): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  errs.push(invalid(path, v, 'must be a boolean (true or false)'));
  return undefined;
}

/** A list whose items must all be strings; wrong items are reported by index and left out. */
export function readStringList(v: unknown, path: string, errs: FieldError[]): string[] | undefined {
  const list = readList(v, path, errs);
  if (!list) return undefined;
  const out: string[] = [];
  list.forEach((item, i) => {
    const s = readString(item, index(path, i), errs);
    if (s !== undefined) out.push(s);
  });
  return out;
}

/**
 * A map of strings (labels, annotations, nodeSelector). A number or boolean value is the usual
 * YAML slip (`version: 1.0`), so the message says how to quote it.
 */
export function readStringMap(v: unknown, path: string, errs: FieldError[]): Record<string, string> | undefined {
  const m = readObj(v, path, errs);
  if (!m) return undefined;
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(m)) {
    if (typeof val === 'string') out[k] = val;
    else if (typeof val === 'number' || typeof val === 'boolean') {
      errs.push(invalid(key(path, k), val, `must be a string; quote it in YAML: ${k}: "${String(val)}"`));
    } else errs.push(invalid(key(path, k), val ?? null, 'must be a string'));
  }
  return out;
}

/** An integer that must be at least `min`; `what` overrides the usual message. */
export function readIntAtLeast(v: unknown, path: string, errs: FieldError[], min: number, what?: string): number | undefined {
  const n = readInt(v, path, errs);
  if (n === undefined) return undefined;
  if (n < min) {
    errs.push(invalid(path, n, what ?? `must be greater than or equal to ${min}`));
    return undefined;
  }
  return n;
}

export function readEnum<T extends string>(v: unknown, path: string, errs: FieldError[], allowed: readonly T[]): T | undefined {
  const s = readString(v, path, errs);
  if (s === undefined) return undefined;
  if ((allowed as readonly string[]).includes(s)) return s as T;
  errs.push(notSupported(path, s, allowed));
  return undefined;
}

/** Structural equality of JSON-like values; an absent key equals an undefined one. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObj(a) && isObj(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!deepEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}
