// Resource lists (`requests`, `limits`, `hard`, LimitRange bounds): names and quantity values.

import type { FieldError } from '../errors.js';
import { parseQuantity, quantityProblem } from '../quantity.js';
import { invalid, key, readObj } from './field.js';
import { isQualifiedName } from './names.js';

export interface QuantityValue {
  /** As the user wrote it, for messages. */
  text: string;
  /** In base units. */
  value: number;
}

/** Native resources have no domain prefix, or a kubernetes.io one; all others are extended resources. */
export function isNativeResource(name: string): boolean {
  return !name.includes('/') || name.includes('kubernetes.io/');
}

export function isHugePages(name: string): boolean {
  return name.startsWith('hugepages-');
}

/** Requests may stay below limits only for native resources other than huge pages. */
export function isOvercommitAllowed(name: string): boolean {
  return isNativeResource(name) && !isHugePages(name);
}

/** Checks one quantity; returns it when valid and not negative. */
export function readQuantity(v: unknown, path: string, errs: FieldError[], opts: { integer?: boolean } = {}): QuantityValue | undefined {
  const problem = quantityProblem(v);
  if (problem) {
    errs.push(invalid(path, v ?? null, problem));
    return undefined;
  }
  const value = parseQuantity(v as string | number);
  const text = String(v);
  if (value < 0) {
    errs.push(invalid(path, text, 'must be greater than or equal to 0'));
    return undefined;
  }
  if (opts.integer && !Number.isInteger(value)) {
    errs.push(invalid(path, text, 'must be an integer'));
    return undefined;
  }
  return { text, value };
}

/**
 * A map of resource name → quantity. `checkName` returns why a name is not allowed here (or
 * undefined); `isInteger` names the resources counted in whole units (by default the extended
 * resources, those with a domain prefix).
 */
export function readResourceList(
  v: unknown,
  path: string,
  errs: FieldError[],
  checkName: (name: string) => string | undefined,
  isInteger: (name: string) => boolean = (name) => !isNativeResource(name),
): Map<string, QuantityValue> {
  const out = new Map<string, QuantityValue>();
  const list = readObj(v, path, errs);
  if (!list) return out;
  for (const [name, raw] of Object.entries(list)) {
    const p = key(path, name);
    const nameMsgs = isQualifiedName(name);
    for (const m of nameMsgs) errs.push(invalid(p, name, m));
    const why = nameMsgs.length === 0 ? checkName(name) : undefined;
    if (why) errs.push(invalid(p, name, why));
    const q = readQuantity(raw, p, errs, { integer: isInteger(name) });
    if (q) out.set(name, q);
  }
  return out;
}

const standardContainerResources = ['cpu', 'memory', 'ephemeral-storage'];

export function checkContainerResourceName(name: string): string | undefined {
  if (!isNativeResource(name)) return undefined;
  if (standardContainerResources.includes(name) || isHugePages(name)) return undefined;
  return 'must be a standard resource for containers (cpu, memory, ephemeral-storage, hugepages-<size>) or an extended resource with a domain prefix (example.com/gpu)';
}
