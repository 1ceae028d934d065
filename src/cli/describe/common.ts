import { lastAppliedAnnotation } from '../apply-patch.js';
import type { Event, KObject, OwnerReference } from '../../api/types.js';
import { age } from '../printers/age.js';
import type { DescribeWriter } from '../printers/describe-writer.js';

// Pieces every describer shares, in kubectl's wording.

const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number) => String(n).padStart(2, '0');

/** Go's RFC1123Z in local time, as kubectl prints timestamps: `Mon, 02 Jan 2006 15:04:05 -0700`. */
export function rfc1123z(timestamp: string | undefined): string {
  if (!timestamp) return '<unknown>';
  const d = new Date(timestamp);
  if (Number.isNaN(d.getTime())) return '<unknown>';
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return (
    `${days[d.getDay()]}, ${pad2(d.getDate())} ${months[d.getMonth()]} ${d.getFullYear()} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${sign}${pad2(Math.trunc(abs / 60))}${pad2(abs % 60)}`
  );
}

/** `Labels:  a=b` then one `k=v` per line under it; `<none>` when empty. */
export function writeLabels(w: DescribeWriter, level: number, title: string, labels: Record<string, string> | undefined): void {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) {
    w.field(level, title, '<none>');
    return;
  }
  keys.forEach((k, i) => w.line(level, `${i === 0 ? `${title}:` : ''}\t${k}=${labels![k]}`));
}

/** Annotations as `key: value`, without the last-applied record (kubectl hides it too). */
export function writeAnnotations(w: DescribeWriter, level: number, annotations: Record<string, string> | undefined): void {
  const keys = Object.keys(annotations ?? {})
    .filter((k) => k !== lastAppliedAnnotation)
    .sort();
  if (keys.length === 0) {
    w.field(level, 'Annotations', '<none>');
    return;
  }
  keys.forEach((k, i) => w.line(level, `${i === 0 ? 'Annotations:' : ''}\t${k}: ${annotations![k].replace(/\n/g, ' ')}`));
}

export function controllerOf(obj: KObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller);
}

/** `ReplicaSet/web-5d9c`: the Controlled By line. */
export function writeControlledBy(w: DescribeWriter, obj: KObject): void {
  const c = controllerOf(obj);
  if (c) w.field(0, 'Controlled By', `${c.kind}/${c.name}`);
}

function eventTime(e: Event): string | undefined {
  return (e as Event & { eventTime?: string }).eventTime || e.firstTimestamp || e.lastTimestamp || e.metadata.creationTimestamp;
}

/** The closing Events section: `Type Reason Age From Message`, oldest first. */
export function writeEvents(w: DescribeWriter, events: Event[] | undefined, now: number): void {
  if (events === undefined) return;
  if (events.length === 0) {
    w.field(0, 'Events', '<none>');
    return;
  }
  const sorted = [...events].sort((a, b) => Date.parse(a.lastTimestamp ?? eventTime(a) ?? '') - Date.parse(b.lastTimestamp ?? eventTime(b) ?? ''));
  w.line(0, 'Events:');
  w.line(1, 'Type\tReason\tAge\tFrom\tMessage');
  w.line(1, '----\t------\t----\t----\t-------');
  for (const e of sorted) {
    const first = age(eventTime(e), now);
    const interval = (e.count ?? 1) > 1 ? `${age(e.lastTimestamp, now)} (x${e.count} over ${first})` : first;
    const from = e.source?.component || e.reportingComponent || '';
    w.line(1, `${e.type ?? ''}\t${e.reason ?? ''}\t${interval}\t${from}\t${(e.message ?? '').trim()}`);
  }
}
