import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { isMap, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { KObject } from '../api/types.js';
import { CliError } from './errors.js';

// Reading what `-f` points at: files, directories (their .yaml, .yml and .json files) or stdin;
// multi-document YAML, JSON, and `kind: List` flattened into its items. Problems are reported as
// FILE:LINE:COL so an editor can jump to them.

export interface Manifest {
  obj: KObject;
  /** File name as given (or `STDIN`). */
  source: string;
  line: number;
  col: number;
}

export const stdinSource = 'STDIN';

const manifestExtensions = new Set(['.yaml', '.yml', '.json']);

function at(source: string, pos: { line: number; col: number }, problem: string): CliError {
  return new CliError(`${source}:${pos.line}:${pos.col}: ${problem}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the fields every object needs before it can be sent anywhere. */
function checkObject(v: unknown, source: string, pos: { line: number; col: number }): KObject {
  if (!isObject(v)) throw at(source, pos, `expected an object with apiVersion and kind, found ${Array.isArray(v) ? 'a list' : typeof v}`);
  const missing = ['apiVersion', 'kind'].filter((k) => typeof v[k] !== 'string' || v[k] === '');
  if (missing.length) throw at(source, pos, `${missing.join(' and ')} not set: every object needs apiVersion and kind`);
  if (v.metadata !== undefined && !isObject(v.metadata)) throw at(source, pos, 'metadata must be an object');
  v.metadata ??= {};
  return v as KObject;
}

function isListKind(v: Record<string, unknown>): boolean {
  return typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items);
}

/** Node reports JSON errors by character offset; editors want line and column. */
function jsonErrorPosition(text: string, err: Error): { line: number; col: number } {
  const m = /position (\d+)/.exec(err.message);
  const offset = m ? Number(m[1]) : 0;
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, col: before[before.length - 1].length + 1 };
}

function parseJson(text: string, source: string): Manifest[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message.replace(/ in JSON at position \d+.*$/, '').replace(/^JSON\.parse: /, '');
    throw at(source, jsonErrorPosition(text, e as Error), msg);
  }
  // JSON carries no positions; items are located by document only.
  const start = { line: 1, col: 1 };
  const values = Array.isArray(value) ? value : [value];
  return values.flatMap((v) => {
    if (isObject(v) && isListKind(v)) return (v.items as unknown[]).map((i) => ({ obj: checkObject(i, source, start), source, ...start }));
    return [{ obj: checkObject(v, source, start), source, ...start }];
  });
}

function parseYaml(text: string, source: string): Manifest[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  const out: Manifest[] = [];
  for (const doc of docs as Document.Parsed[]) {
    const err = doc.errors[0];
    if (err) throw at(source, lc.linePos(err.pos[0]), err.message.split('\n')[0]);
    const contents = doc.contents;
    if (contents === null) continue;
    const pos = lc.linePos(contents.range?.[0] ?? 0);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw at(source, pos, (e as Error).message);
    }
    if (value === null || value === undefined) continue;
    if (isObject(value) && isListKind(value)) {
      const items = isMap(contents) ? contents.get('items', true) : undefined;
      (value.items as unknown[]).forEach((item, i) => {
        const range = isSeq(items) ? (items.items[i] as { range?: [number, number, number] } | undefined)?.range : undefined;
        const ipos = range ? lc.linePos(range[0]) : pos;
        out.push({ obj: checkObject(item, source, ipos), source, ...ipos });
      });
      continue;
    }
    out.push({ obj: checkObject(value, source, pos), source, ...pos });
  }
  return out;
}

/** Every object in one file's text, in order. */
export function parseManifests(text: string, source: string): Manifest[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || (trimmed.startsWith('[') && extname(source) === '.json')) return parseJson(text, source);
  return parseYaml(text, source);
}

/** The files a `-f` argument names: the file itself, or a directory's manifest files, sorted. */
export function manifestFiles(path: string, recursive = false): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new CliError(`the path ${JSON.stringify(path)} does not exist`);
  }
  if (!st.isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => {
      const p = join(path, name);
      if (statSync(p).isDirectory()) return recursive ? manifestFiles(p, true) : [];
      return manifestExtensions.has(extname(name).toLowerCase()) ? [p] : [];
    });
}

/** All objects named by `-f` arguments (`-` reads stdin). */
export async function readManifests(paths: string[], opts: { recursive?: boolean; stdin?: NodeJS.ReadableStream } = {}): Promise<Manifest[]> {
  if (paths.length === 0) throw new CliError("must give -f FILENAME (a file, a directory, or - for stdin)");
  const out: Manifest[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push(...parseManifests(await readAll(opts.stdin ?? process.stdin), stdinSource));
      continue;
    }
    const files = manifestFiles(p, opts.recursive);
    for (const f of files) out.push(...parseManifests(readFileSync(f, 'utf8'), f));
  }
  if (out.length === 0) throw new CliError(`no objects found in ${paths.join(', ')}`);
  return out;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}
