import { errors } from '../api/errors.js';

// PATCH bodies. JSON merge patch (RFC 7386) and JSON patch (RFC 6902) are implemented as their
// RFCs say. A strategic merge patch is applied as a merge patch: Skiff has no per-field merge
// keys, so lists in it replace the stored list whole (kubectl's `patch --type merge` behaviour);
// `$patch`/`$retainKeys` directives are refused rather than silently ignored.

export type PatchType = 'merge' | 'json' | 'strategic';

const patchContentTypes: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
  'application/strategic-merge-patch+json': 'strategic',
};

/** The patch type a Content-Type names; throws UnsupportedMediaType for others. */
export function patchTypeOf(contentType: string | undefined): PatchType {
  const base = (contentType ?? '').split(';')[0].trim().toLowerCase();
  const t = patchContentTypes[base];
  if (!t) {
    throw errors.unsupportedMediaType(
      `the body of the request was in an unknown format ${JSON.stringify(base)}; accepted media types: ${Object.keys(patchContentTypes).join(', ')}`,
    );
  }
  return t;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7386: objects merge recursively, `null` removes a member, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

function rejectDirectives(patch: unknown, path: string): void {
  if (Array.isArray(patch)) patch.forEach((v, i) => rejectDirectives(v, `${path}[${i}]`));
  if (!isPlainObject(patch)) return;
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) {
      throw errors.badRequest(`strategic merge patch directive ${k} at ${path || '<root>'} is not supported; send a JSON merge patch or a JSON patch instead`);
    }
    rejectDirectives(v, path ? `${path}.${k}` : k);
  }
}

export function applyStrategicMergePatch(target: unknown, patch: unknown): unknown {
  rejectDirectives(patch, '');
  return applyMergePatch(target, patch);
}

interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

/** RFC 6901 pointer to its reference tokens. */
function parsePointer(pointer: string, where: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw errors.badRequest(`${where}: JSON pointer ${JSON.stringify(pointer)} must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = Record<string, unknown> | unknown[];

function arrayIndex(token: string, arr: unknown[], forAdd: boolean, where: string): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw errors.badRequest(`${where}: ${JSON.stringify(token)} is not an array index`);
  const i = Number(token);
  if (i > arr.length || (!forAdd && i === arr.length)) throw errors.badRequest(`${where}: index ${i} is out of range (length ${arr.length})`);
  return i;
}

/** The container holding the last token, walking from `doc`. */
function parentOf(doc: unknown, tokens: string[], where: string): Container {
  let cur: unknown = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur, false, where)];
    else if (isPlainObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t];
    else throw errors.badRequest(`${where}: path does not exist`);
  }
  if (!Array.isArray(cur) && !isPlainObject(cur)) throw errors.badRequest(`${where}: path does not exist`);
  return cur;
}

function getAt(doc: unknown, tokens: string[], where: string): unknown {
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, where);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) return parent[arrayIndex(last, parent, false, where)];
  if (!Object.prototype.hasOwnProperty.call(parent, last)) throw errors.badRequest(`${where}: path does not exist`);
  return parent[last];
}

function removeAt(doc: unknown, tokens: string[], where: string): unknown {
  if (tokens.length === 0) throw errors.badRequest(`${where}: cannot remove the whole document`);
  const parent = parentOf(doc, tokens, where);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) return parent.splice(arrayIndex(last, parent, false, where), 1)[0];
  if (!Object.prototype.hasOwnProperty.call(parent, last)) throw errors.badRequest(`${where}: path does not exist`);
  const old = parent[last];
  delete parent[last];
  return old;
}

/** Returns the new document (the root may be replaced). */
function addAt(doc: unknown, tokens: string[], value: unknown, where: string, replace: boolean): unknown {
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, where);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    const i = arrayIndex(last, parent, !replace, where);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
  } else {
    if (replace && !Object.prototype.hasOwnProperty.call(parent, last)) throw errors.badRequest(`${where}: path does not exist`);
    parent[last] = value;
  }
  return doc;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 6902: operations apply in order to a copy; any failure leaves the target untouched. */
export function applyJsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw errors.badRequest('a JSON patch must be an array of operations such as [{"op": "replace", "path": "/spec/replicas", "value": 3}]');
  let doc = structuredClone(target);
  patch.forEach((raw, i) => {
    const where = `JSON patch operation ${i}`;
    if (!isPlainObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw errors.badRequest(`${where}: needs string "op" and "path" members`);
    }
    const op = raw as unknown as JsonPatchOp;
    const tokens = parsePointer(op.path, where);
    const needValue = () => {
      if (!('value' in raw)) throw errors.badRequest(`${where} (${op.op}): needs a "value" member`);
      return structuredClone(op.value);
    };
    const from = () => {
      if (typeof op.from !== 'string') throw errors.badRequest(`${where} (${op.op}): needs a string "from" member`);
      return parsePointer(op.from, where);
    };
    switch (op.op) {
      case 'add':
        doc = addAt(doc, tokens, needValue(), where, false);
        break;
      case 'replace':
        doc = addAt(doc, tokens, needValue(), where, true);
        break;
      case 'remove':
        removeAt(doc, tokens, where);
        break;
      case 'copy':
        doc = addAt(doc, tokens, structuredClone(getAt(doc, from(), where)), where, false);
        break;
      case 'move': {
        const f = from();
        if (op.path.startsWith(`${op.from}/`)) throw errors.badRequest(`${where}: cannot move a value into itself`);
        const value = f.length === 0 ? doc : removeAt(doc, f, where);
        doc = addAt(doc, tokens, value, where, false);
        break;
      }
      case 'test':
        if (!deepEqual(getAt(doc, tokens, where), needValue())) throw errors.invalid('JSONPatch', op.path, [{ field: op.path, type: 'FieldValueInvalid', detail: `${where}: test failed` }]);
        break;
      default:
        throw errors.badRequest(`${where}: unknown op ${JSON.stringify(op.op)}; use add, remove, replace, move, copy or test`);
    }
  });
  return doc;
}

export function applyPatch(type: PatchType, target: unknown, patch: unknown): unknown {
  switch (type) {
    case 'merge':
      return applyMergePatch(target, patch);
    case 'strategic':
      return applyStrategicMergePatch(target, patch);
    case 'json':
      return applyJsonPatch(target, patch);
  }
}
