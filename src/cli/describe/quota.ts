import type { LimitRange, LimitRangeItem, ResourceQuota } from '../../api/types.js';
import type { DescribeWriter } from '../printers/describe-writer.js';

// describe for resource quotas and limit ranges, as kubectl lays them out (neither shows events).

const scopeHelp: Record<string, string> = {
  Terminating: 'Matches all pods that have an active deadline. These pods have a limited lifespan on a node before being actively terminated by the system.',
  NotTerminating: 'Matches all pods that do not have an active deadline. These pods usually include long running pods whose container command is not expected to terminate.',
  BestEffort: 'Matches all pod that do not have resource requirements set. These pods have a best effort quality of service.',
  NotBestEffort: 'Matches all pods that have at least one resource requirement set. These pods have a burstable or guaranteed quality of service.',
};

/** The `Resource Used Hard` rows; the spec stands in for a status the quota controller has not written yet. */
export function writeQuotaUsage(w: DescribeWriter, level: number, q: ResourceQuota, rule: string): void {
  w.line(level, 'Resource\tUsed\tHard');
  w.line(level, `--------\t${rule}\t${rule}`);
  const hard = q.status?.hard ?? q.spec?.hard ?? {};
  for (const k of Object.keys(hard).sort()) w.line(level, `${k}\t${q.status?.used?.[k] ?? '0'}\t${hard[k]}`);
}

export function describeResourceQuota(w: DescribeWriter, q: ResourceQuota): void {
  w.field(0, 'Name', q.metadata.name);
  w.field(0, 'Namespace', q.metadata.namespace);
  const scopes = [...(q.spec?.scopes ?? [])].sort();
  if (scopes.length) {
    w.field(0, 'Scopes', scopes.join(', '));
    for (const s of scopes) if (scopeHelp[s]) w.line(0, ` * ${scopeHelp[s]}`);
  }
  writeQuotaUsage(w, 0, q, '----');
}

/** One row per resource an item names, `-` where it sets nothing. */
export function writeLimitRangeItems(w: DescribeWriter, level: number, items: readonly LimitRangeItem[]): void {
  for (const item of items) {
    const names = new Set([item.min, item.max, item.default, item.defaultRequest, item.maxLimitRequestRatio].flatMap((x) => Object.keys(x ?? {})));
    for (const r of [...names].sort()) {
      const v = (x: Record<string, string | number> | undefined) => (x?.[r] !== undefined ? String(x[r]) : '-');
      w.line(level, `${item.type}\t${r}\t${v(item.min)}\t${v(item.max)}\t${v(item.defaultRequest)}\t${v(item.default)}\t${v(item.maxLimitRequestRatio)}`);
    }
  }
}

export function writeLimitRangeHeader(w: DescribeWriter, level: number): void {
  w.line(level, 'Type\tResource\tMin\tMax\tDefault Request\tDefault Limit\tMax Limit/Request Ratio');
  w.line(level, '----\t--------\t---\t---\t---------------\t-------------\t-----------------------');
}

export function describeLimitRange(w: DescribeWriter, l: LimitRange): void {
  w.field(0, 'Name', l.metadata.name);
  w.field(0, 'Namespace', l.metadata.namespace);
  writeLimitRangeHeader(w, 0);
  writeLimitRangeItems(w, 0, l.spec?.limits ?? []);
}
