import { stringify } from 'yaml';
import { resourceByKind } from '../../api/resources.js';
import type { KObject } from '../../api/types.js';
import { CliError } from '../errors.js';
import { objectRef } from '../kinds.js';

// The `-o` formats other than tables. A single named object prints as itself; anything else
// prints as a `List`, as kubectl does.

export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name';

const formats: OutputFormat[] = ['wide', 'json', 'yaml', 'name'];

export function parseOutputFormat(o: string | undefined): OutputFormat {
  if (o === undefined || o === '') return 'table';
  if ((formats as string[]).includes(o)) return o as OutputFormat;
  throw new CliError(`unable to match a printer suitable for the output format ${JSON.stringify(o)}, allowed formats are: ${formats.join(',')}`);
}

function asListOrSingle(objs: KObject[], single: boolean): unknown {
  if (single && objs.length === 1) return objs[0];
  return { apiVersion: 'v1', items: objs, kind: 'List', metadata: { resourceVersion: '' } };
}

export function formatJson(objs: KObject[], single: boolean): string {
  return `${JSON.stringify(asListOrSingle(objs, single), null, 4)}\n`;
}

/** Keys sorted and list items not indented under their key, as kubectl's YAML has them. */
export function formatYaml(objs: KObject[], single: boolean): string {
  return stringify(asListOrSingle(objs, single), { sortMapEntries: true, lineWidth: 0, indentSeq: false });
}

export function nameOf(obj: KObject): string {
  const info = resourceByKind(obj.kind, obj.apiVersion) ?? resourceByKind(obj.kind);
  return info ? objectRef(info, obj.metadata.name ?? '') : `${obj.kind.toLowerCase()}/${obj.metadata.name ?? ''}`;
}

export function formatNames(objs: KObject[]): string {
  return objs.map((o) => `${nameOf(o)}\n`).join('');
}
