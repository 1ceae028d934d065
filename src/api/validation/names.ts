// Name and label syntax, with Kubernetes' own messages (k8s.io/apimachinery/pkg/util/validation),
// and the checks of ObjectMeta that every kind shares.

import type { FieldError } from '../errors.js';
import {
  child,
  forbidden,
  index,
  invalid,
  type Obj,
  readBool,
  readList,
  readObj,
  readString,
  readStringList,
  readStringMap,
  required,
  tooLong,
} from './field.js';

function regexError(msg: string, fmt: string, ...examples: string[]): string {
  const e = examples.map((x) => `'${x}', `).join(' or ');
  return `${msg} (e.g. ${e}regex used for validation is '${fmt}')`;
}

const maxLen = (n: number) => `must be no more than ${n} characters`;

const dns1123LabelFmt = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const dns1123LabelRe = new RegExp(`^${dns1123LabelFmt}$`);
const dns1123SubdomainFmt = `${dns1123LabelFmt}(\\.${dns1123LabelFmt})*`;
const dns1123SubdomainRe = new RegExp(`^${dns1123SubdomainFmt}$`);
const qualifiedNameFmt = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const qualifiedNameRe = new RegExp(`^${qualifiedNameFmt}$`);
const labelValueRe = new RegExp(`^(${qualifiedNameFmt})?$`);
const qualifiedNameMsg = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

export function isDns1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLen(63));
  if (!dns1123LabelRe.test(value)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        dns1123LabelFmt,
        'my-name',
        '123-abc',
      ),
    );
  }
  return errs;
}

export function isDns1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push(maxLen(253));
  if (!dns1123SubdomainRe.test(value)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        dns1123SubdomainFmt,
        'example.com',
      ),
    );
  }
  return errs;
}

/** A label or annotation key: an optional DNS subdomain prefix and `/`, then a name of at most 63 characters. */
export function isQualifiedName(value: string): string[] {
  const errs: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else errs.push(...isDns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else {
    return [
      `a qualified name ${regexError(qualifiedNameMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLen(63)}`);
  if (!qualifiedNameRe.test(name)) errs.push(`name part ${regexError(qualifiedNameMsg, qualifiedNameFmt, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

export function isLabelValue(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLen(63));
  if (!labelValueRe.test(value)) {
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        `(${qualifiedNameFmt})?`,
        'MyValue',
        'my_value',
        '12345',
      ),
    );
  }
  return errs;
}

/** A named port (IANA service name). */
export function isPortName(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 15) errs.push(maxLen(15));
  if (!/^[-a-z0-9]+$/.test(value)) errs.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(value)) errs.push('must contain at least one letter (a-z)');
  if (value.includes('--')) errs.push('must not contain consecutive hyphens');
  if (value.startsWith('-') || value.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

export function isPercent(value: string): string[] {
  return /^[0-9]+%$/.test(value)
    ? []
    : [regexError("a valid percent string must be a numeric string followed by an ending '%'", '[0-9]+%', '1%', '93%')];
}

export function isEnvVarName(value: string): string[] {
  return /^[\x20-\x3c\x3e-\x7e]+$/.test(value)
    ? []
    : ["a valid environment variable name must consist only of printable ASCII characters other than '='"];
}

export function isHttpHeaderName(value: string): string[] {
  return /^[-A-Za-z0-9]+$/.test(value)
    ? []
    : [regexError("a valid HTTP header must consist of alphanumeric characters or '-'", '[-A-Za-z0-9]+', 'X-Header-Name')];
}

/** Pushes one Invalid error per message of `check`. */
export function checkWith(check: (v: string) => string[], value: string, path: string, errs: FieldError[]): boolean {
  const msgs = check(value);
  for (const m of msgs) errs.push(invalid(path, value, m));
  return msgs.length === 0;
}

/** Label maps are reported at the map's path, as Kubernetes does: `metadata.labels: Invalid value: "a b": ...`. */
export function validateLabels(v: unknown, path: string, errs: FieldError[]): Record<string, string> | undefined {
  const labels = readStringMap(v, path, errs);
  if (!labels) return undefined;
  for (const [k, val] of Object.entries(labels)) {
    checkWith(isQualifiedName, k, path, errs);
    checkWith(isLabelValue, val, path, errs);
  }
  return labels;
}

const totalAnnotationSizeLimit = 256 * 1024;

export function validateAnnotations(v: unknown, path: string, errs: FieldError[]): void {
  const annotations = readStringMap(v, path, errs);
  if (!annotations) return;
  let size = 0;
  for (const [k, val] of Object.entries(annotations)) {
    checkWith(isQualifiedName, k.toLowerCase(), path, errs);
    size += Buffer.byteLength(k) + Buffer.byteLength(val);
  }
  if (size > totalAnnotationSizeLimit) errs.push(tooLong(path, `may not be more than ${totalAnnotationSizeLimit} bytes`));
}

export interface MetaRules {
  /** Checks a name; for generateName the trailing '-' is ignored. */
  nameCheck: (v: string) => string[];
  /** Longest name the kind allows, when it is stricter than the name check's own limit. */
  maxNameLength?: number;
  namespaced: boolean;
}

/** ObjectMeta checks every kind shares: name or generateName, namespace, labels, annotations, owners, finalizers. */
export function validateObjectMeta(v: unknown, path: string, rules: MetaRules, errs: FieldError[]): Obj | undefined {
  if (v === undefined || v === null) {
    errs.push(required(child(path, 'name'), 'name or generateName is required'));
    return undefined;
  }
  const meta = readObj(v, path, errs);
  if (!meta) return undefined;
  const name = readString(meta.name, child(path, 'name'), errs);
  const generateName = readString(meta.generateName, child(path, 'generateName'), errs);
  if (generateName) checkWith(rules.nameCheck, generateName.replace(/-$/, 'a'), child(path, 'generateName'), errs);
  if (!name) {
    if (!generateName && (name === '' || meta.name == null)) errs.push(required(child(path, 'name'), 'name or generateName is required'));
  } else {
    const ok = checkWith(rules.nameCheck, name, child(path, 'name'), errs);
    if (ok && rules.maxNameLength !== undefined && name.length > rules.maxNameLength) {
      errs.push(invalid(child(path, 'name'), name, maxLen(rules.maxNameLength)));
    }
  }
  const namespace = readString(meta.namespace, child(path, 'namespace'), errs);
  if (namespace) {
    if (!rules.namespaced) errs.push(forbidden(child(path, 'namespace'), 'not allowed on this type'));
    else checkWith(isDns1123Label, namespace, child(path, 'namespace'), errs);
  }
  validateLabels(meta.labels, child(path, 'labels'), errs);
  validateAnnotations(meta.annotations, child(path, 'annotations'), errs);
  validateOwnerReferences(meta.ownerReferences, child(path, 'ownerReferences'), errs);
  const finalizers = readStringList(meta.finalizers, child(path, 'finalizers'), errs);
  finalizers?.forEach((f, i) => checkWith(isQualifiedName, f, index(child(path, 'finalizers'), i), errs));
  return meta;
}

function validateOwnerReferences(v: unknown, path: string, errs: FieldError[]): void {
  const refs = readList(v, path, errs);
  if (!refs) return;
  let controllers = 0;
  refs.forEach((item, i) => {
    const p = index(path, i);
    const ref = readObj(item, p, errs);
    if (!ref) return;
    for (const f of ['apiVersion', 'kind', 'name', 'uid']) {
      if (readString(ref[f], child(p, f), errs) === '' || ref[f] == null) errs.push(required(child(p, f)));
    }
    if (readBool(ref.controller, child(p, 'controller'), errs)) controllers++;
  });
  if (controllers > 1) errs.push(invalid(path, v, 'Only one reference can have Controller set to true'));
}
