import { InvalidArgumentError } from 'commander';

// Go-style durations for flags (`15s`, `1m30s`, `24h`, `500ms`, `0`), as kubeadm and kubelet
// spell them.

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDurationMs(text: string): number {
  const t = text.trim();
  if (t === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of t.matchAll(re)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== t.length) {
    throw new InvalidArgumentError(`"${text}" is not a duration: use a number with a unit (ms, s, m, h), like 15s, 1m30s or 24h`);
  }
  return Math.round(total);
}
