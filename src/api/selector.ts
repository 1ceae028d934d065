// Label selectors (the `-l` string form and the LabelSelector object) and field selectors,
// with the semantics of k8s.io/apimachinery/pkg/labels and pkg/fields.

import { errors, type FieldError } from './errors.js';
import type { KObject, LabelSelector } from './types.js';
import { child, index, invalid, isObj, readList, readObj, readString, required, forbidden } from './validation/field.js';
import { checkWith, isLabelValue, isQualifiedName, validateLabels } from './validation/names.js';

export interface Selector {
  matches(labels: Record<string, string> | undefined): boolean;
  /** True when the selector has no requirements and so matches everything. */
  readonly empty: boolean;
  toString(): string;
}

type Operator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | '>' | '<';

interface Requirement {
  key: string;
  op: Operator;
  values: string[];
}

function requirementMatches(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.op) {
    case '=':
    case '==':
    case 'in':
      return has && r.values.includes(value as string);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(value as string);
    case 'exists':
      return has;
    case '!':
      return !has;
    case '>':
    case '<': {
      if (!has || !/^-?[0-9]+$/.test(value as string)) return false;
      const n = Number(value);
      const bound = Number(r.values[0]);
      return r.op === '>' ? n > bound : n < bound;
    }
  }
}

function requirementString(r: Requirement): string {
  switch (r.op) {
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case 'in':
    case 'notin':
      return `${r.key} ${r.op} (${[...r.values].sort().join(',')})`;
    default:
      return `${r.key}${r.op}${r.values[0]}`;
  }
}

class RequirementSelector implements Selector {
  private readonly reqs: Requirement[];

  constructor(reqs: Requirement[]) {
    // Sorted by key, as Kubernetes does, so equal selectors print the same.
    this.reqs = [...reqs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  get empty(): boolean {
    return this.reqs.length === 0;
  }

  matches(labels: Record<string, string> | undefined): boolean {
    const l = labels ?? {};
    return this.reqs.every((r) => requirementMatches(r, l));
  }

  toString(): string {
    return this.reqs.map(requirementString).join(',');
  }
}

// ---- the string form -------------------------------------------------------------------------

type Token =
  | { kind: 'id'; text: string; at: number }
  | { kind: 'op'; text: '=' | '==' | '!=' | '!' | '(' | ')' | ',' | '>' | '<'; at: number }
  | { kind: 'end'; text: ''; at: number };

const special = new Set(['=', '!', '(', ')', ',', '>', '<']);

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '=' || c === '!') {
      if (text[i + 1] === '=') {
        out.push({ kind: 'op', text: c === '=' ? '==' : '!=', at: i });
        i += 2;
      } else {
        out.push({ kind: 'op', text: c, at: i });
        i++;
      }
    } else if (special.has(c)) {
      out.push({ kind: 'op', text: c as '(' | ')' | ',' | '>' | '<', at: i });
      i++;
    } else {
      const start = i;
      while (i < text.length && !special.has(text[i]) && !/\s/.test(text[i])) i++;
      out.push({ kind: 'id', text: text.slice(start, i), at: start });
    }
  }
  out.push({ kind: 'end', text: '', at: text.length });
  return out;
}

function describe(t: Token): string {
  return t.kind === 'end' ? 'end of input' : JSON.stringify(t.text);
}

/**
 * Parses kubectl's `-l` form: `app=web,tier!=db,env in (a,b),env notin (c),key,!key` (`==` too,
 * and `key>1`, `key<1` for integer values). Throws a BadRequest ApiError naming the bad part.
 */
export function parseSelector(text: string): Selector {
  const fail = (why: string): never => {
    throw errors.badRequest(`unable to parse label selector ${JSON.stringify(text)}: ${why}`);
  };
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const reqs: Requirement[] = [];

  const readKey = (after?: string): string => {
    const t = next();
    if (t.kind !== 'id') fail(`expected a label key${after ? ` after ${after}` : ''}, found ${describe(t)}`);
    for (const m of isQualifiedName(t.text)) fail(`invalid label key ${JSON.stringify(t.text)}: ${m}`);
    return t.text;
  };
  const checkValue = (k: string, v: string): string => {
    for (const m of isLabelValue(v)) fail(`invalid value ${JSON.stringify(v)} for label ${JSON.stringify(k)}: ${m}`);
    return v;
  };

  if (peek().kind === 'end') return new RequirementSelector([]);
  for (;;) {
    const first = peek();
    if (first.kind === 'op' && first.text === '!') {
      next();
      reqs.push({ key: readKey('"!"'), op: '!', values: [] });
    } else {
      const k = readKey();
      const t = peek();
      if (t.kind === 'end' || (t.kind === 'op' && t.text === ',')) {
        reqs.push({ key: k, op: 'exists', values: [] });
      } else if (t.kind === 'op' && (t.text === '=' || t.text === '==' || t.text === '!=')) {
        next();
        const v = peek();
        // `key=` selects an empty value.
        const value = v.kind === 'id' ? (next(), v.text) : '';
        if (v.kind === 'op' && v.text !== ',') fail(`expected a value after "${k}${t.text}", found ${describe(v)}`);
        reqs.push({ key: k, op: t.text, values: [checkValue(k, value)] });
      } else if (t.kind === 'op' && (t.text === '>' || t.text === '<')) {
        next();
        const v = next();
        if (v.kind !== 'id' || !/^-?[0-9]+$/.test(v.text)) fail(`expected an integer after "${k}${t.text}", found ${describe(v)}`);
        reqs.push({ key: k, op: t.text, values: [v.text] });
      } else if (t.kind === 'id' && (t.text === 'in' || t.text === 'notin')) {
        next();
        reqs.push({ key: k, op: t.text, values: readValueSet(k, t.text) });
      } else {
        fail(`expected one of "=", "==", "!=", "in", "notin", ">", "<", "," or the end after label key ${JSON.stringify(k)}, found ${describe(t)}`);
      }
    }
    const sep = next();
    if (sep.kind === 'end') break;
    if (!(sep.kind === 'op' && sep.text === ',')) fail(`expected "," or the end after ${JSON.stringify(requirementString(reqs[reqs.length - 1]))}, found ${describe(sep)}`);
    if (peek().kind === 'end') fail('trailing ","');
  }
  return new RequirementSelector(reqs);

  function readValueSet(k: string, op: string): string[] {
    const open = next();
    if (!(open.kind === 'op' && open.text === '(')) fail(`expected "(" after "${k} ${op}", found ${describe(open)}`);
    const values: string[] = [];
    // Kubernetes reads `()` and an empty item such as `(a,)` as the empty value.
    let expectValue = true;
    for (;;) {
      const t = next();
      if (t.kind === 'id') {
        if (!expectValue) fail(`expected "," or ")" in the values of "${k} ${op}", found ${describe(t)}`);
        values.push(checkValue(k, t.text));
        expectValue = false;
      } else if (t.kind === 'op' && t.text === ',') {
        if (expectValue) values.push('');
        expectValue = true;
      } else if (t.kind === 'op' && t.text === ')') {
        if (expectValue) values.push('');
        return values;
      } else {
        fail(`expected a value, "," or ")" in the values of "${k} ${op}", found ${describe(t)}`);
      }
    }
  }
}

// ---- the object form -------------------------------------------------------------------------

/**
 * matchLabels AND matchExpressions. An undefined or empty selector matches everything.
 * A malformed selector (validation reports it) matches nothing, so it can never select too much.
 */
export function selectorFromLabelSelector(sel: LabelSelector | undefined): Selector {
  if (sel === undefined || sel === null) return new RequirementSelector([]);
  if (!isObj(sel)) return nothing;
  const reqs: Requirement[] = [];
  const matchLabels: unknown = sel.matchLabels;
  if (matchLabels !== undefined && matchLabels !== null) {
    if (!isObj(matchLabels)) return nothing;
    for (const [k, v] of Object.entries(matchLabels)) {
      if (typeof v !== 'string') return nothing;
      reqs.push({ key: k, op: '=', values: [v] });
    }
  }
  const exprs: unknown = sel.matchExpressions;
  if (exprs !== undefined && exprs !== null) {
    if (!Array.isArray(exprs)) return nothing;
    for (const e of exprs) {
      if (!isObj(e) || typeof e.key !== 'string') return nothing;
      const values = Array.isArray(e.values) ? e.values : [];
      if (!values.every((v): v is string => typeof v === 'string')) return nothing;
      switch (e.operator) {
        case 'In':
          reqs.push({ key: e.key, op: 'in', values });
          break;
        case 'NotIn':
          reqs.push({ key: e.key, op: 'notin', values });
          break;
        case 'Exists':
          reqs.push({ key: e.key, op: 'exists', values: [] });
          break;
        case 'DoesNotExist':
          reqs.push({ key: e.key, op: '!', values: [] });
          break;
        default:
          return nothing;
      }
    }
  }
  return new RequirementSelector(reqs);
}

const nothing: Selector = {
  matches: () => false,
  empty: false,
  toString: () => '<error>',
};

/** The equality selector a ReplicationController's `spec.selector` map means. */
export function selectorFromSet(labels: Record<string, string>): Selector {
  return new RequirementSelector(Object.entries(labels ?? {}).map(([k, v]) => ({ key: k, op: '=' as const, values: [v] })));
}

/** kubectl's display form, e.g. `app=web,env in (a,b)`; `<none>` when empty, `<error>` when malformed. */
export function labelSelectorToString(sel: LabelSelector): string {
  const s = selectorFromLabelSelector(sel).toString();
  return s === '' ? '<none>' : s;
}

const operators = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** Kubernetes' ValidateLabelSelector: matchLabels as labels, each expression's key, operator and values. */
export function validateLabelSelector(sel: LabelSelector, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const s = readObj(sel, path, errs);
  if (!s) return errs;
  validateLabels(s.matchLabels, child(path, 'matchLabels'), errs);
  const exprsPath = child(path, 'matchExpressions');
  readList(s.matchExpressions, exprsPath, errs)?.forEach((item, i) => {
    const p = index(exprsPath, i);
    const e = readObj(item, p, errs);
    if (!e) return;
    const k = readString(e.key, child(p, 'key'), errs);
    if (k !== undefined) checkWith(isQualifiedName, k, child(p, 'key'), errs);
    else if (e.key == null) errs.push(required(child(p, 'key')));
    const values = readList(e.values, child(p, 'values'), errs) ?? [];
    values.forEach((v, j) => {
      const vp = index(child(p, 'values'), j);
      const val = readString(v, vp, errs);
      if (val !== undefined) checkWith(isLabelValue, val, vp, errs);
    });
    const op = readString(e.operator, child(p, 'operator'), errs);
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0) errs.push(required(child(p, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (values.length > 0) errs.push(forbidden(child(p, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else if (op !== undefined) {
      errs.push(invalid(child(p, 'operator'), op, `not a valid selector operator; use one of ${operators.join(', ')}`));
    } else if (e.operator == null) {
      errs.push(required(child(p, 'operator')));
    }
  });
  return errs;
}

// ---- field selectors -------------------------------------------------------------------------

interface FieldTerm {
  path: string[];
  negate: boolean;
  value: string;
}

/** Splits on an unescaped separator; `\,` `\=` `\!` `\\` escape. */
function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && i + 1 < text.length) {
      cur += text[i] + text[i + 1];
      i++;
    } else if (text[i] === sep) {
      parts.push(cur);
      cur = '';
    } else cur += text[i];
  }
  parts.push(cur);
  return parts;
}

function unescapeValue(v: string): string {
  return v.replace(/\\(.)/g, '$1');
}

const fieldPathRe = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/;

/**
 * Parses `metadata.name=x,metadata.namespace!=y,spec.nodeName=` into a predicate. Any dotted path
 * works; a missing field reads as the empty string. Throws a BadRequest ApiError on bad syntax.
 */
export function parseFieldSelector(text: string): (obj: KObject) => boolean {
  const fail = (why: string): never => {
    throw errors.badRequest(`unable to parse field selector ${JSON.stringify(text)}: ${why}`);
  };
  const terms: FieldTerm[] = [];
  if (text.trim() !== '') {
    for (const raw of splitUnescaped(text, ',')) {
      const term = raw.trim();
      if (term === '') fail('empty term (two commas in a row, or one at an end)');
      const m = /^((?:[^\\!=]|\\.)*)(!=|==|=)(.*)$/s.exec(term);
      if (!m) fail(`${JSON.stringify(term)} has no operator; use field=value, field==value or field!=value`);
      const [, field, op, value] = m as RegExpExecArray;
      const name = field.trim();
      if (!fieldPathRe.test(name)) fail(`${JSON.stringify(name)} is not a field path; use a dotted path such as metadata.name`);
      terms.push({ path: name.split('.'), negate: op === '!=', value: unescapeValue(value.trim()) });
    }
  }
  return (obj) => terms.every((t) => (fieldValue(obj, t.path) === t.value) !== t.negate);
}

function fieldValue(obj: unknown, path: string[]): string {
  let cur: unknown = obj;
  for (const p of path) {
    if (!isObj(cur)) return '';
    cur = cur[p];
  }
  if (cur === undefined || cur === null) return '';
  if (typeof cur === 'string') return cur;
  if (typeof cur === 'number' || typeof cur === 'boolean') return String(cur);
  return JSON.stringify(cur);
}
