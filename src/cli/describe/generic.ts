import type { Event, KObject } from '../../api/types.js';
import { eventSource } from '../printers/columns.js';
import type { DescribeWriter } from '../printers/describe-writer.js';
import { rfc1123z, writeAnnotations, writeLabels } from './common.js';

// describe for kinds without a describer of their own: kubectl's generic layout, every field
// under a readable label (`matchLabels` → `Match Labels`), nested by indentation.

/** `matchLabels` → `Match Labels`, `podCIDR` → `Pod CIDR`. */
export function smartLabel(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');
  return words
    .split(' ')
    .map((w) => (w ? w[0].toUpperCase() + w.slice(1) : w))
    .join(' ');
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalar(v: unknown): string {
  return v === null || v === undefined ? '' : String(v);
}

function writeValue(w: DescribeWriter, level: number, key: string, value: unknown): void {
  if (isMap(value)) {
    w.line(level, `${key}:`);
    for (const k of Object.keys(value).sort()) writeValue(w, level + 1, smartLabel(k), value[k]);
  } else if (Array.isArray(value)) {
    w.line(level, `${key}:`);
    for (const item of value) {
      if (isMap(item)) for (const k of Object.keys(item).sort()) writeValue(w, level + 1, smartLabel(k), item[k]);
      else w.line(level + 1, scalar(item));
    }
  } else {
    w.field(level, key, scalar(value));
  }
}

export function describeGeneric(w: DescribeWriter, obj: KObject): void {
  w.field(0, 'Name', obj.metadata.name);
  if (obj.metadata.namespace) w.field(0, 'Namespace', obj.metadata.namespace);
  writeLabels(w, 0, 'Labels', obj.metadata.labels);
  writeAnnotations(w, 0, obj.metadata.annotations);
  w.field(0, 'API Version', obj.apiVersion);
  w.field(0, 'Kind', obj.kind);
  w.field(0, 'CreationTimestamp', rfc1123z(obj.metadata.creationTimestamp));
  for (const key of Object.keys(obj).sort()) {
    if (key === 'apiVersion' || key === 'kind' || key === 'metadata') continue;
    writeValue(w, 0, smartLabel(key), obj[key]);
  }
}

/** An Event described: what happened to which object, when, and who said so. */
export function describeEvent(w: DescribeWriter, e: Event): void {
  w.field(0, 'Name', e.metadata.name);
  w.field(0, 'Namespace', e.metadata.namespace);
  writeLabels(w, 0, 'Labels', e.metadata.labels);
  writeAnnotations(w, 0, e.metadata.annotations);
  w.field(0, 'Type', e.type ?? '');
  w.field(0, 'Reason', e.reason ?? '');
  w.field(0, 'Message', e.message ?? '');
  w.line(0, 'Involved Object:');
  for (const k of ['kind', 'namespace', 'name', 'uid', 'fieldPath'] as const) {
    if (e.involvedObject?.[k]) w.field(1, smartLabel(k), e.involvedObject[k]);
  }
  w.field(0, 'Source', eventSource(e));
  w.field(0, 'First Timestamp', rfc1123z(e.firstTimestamp));
  w.field(0, 'Last Timestamp', rfc1123z(e.lastTimestamp));
  w.field(0, 'Count', e.count ?? 1);
}
