import { isLabelValue, isQualifiedName } from '../api/validation/names.js';

// --labels k=v,k2=v2 (kubelet's --node-labels). Every problem is reported, not just the first.

const reserved = ['kubernetes.io/arch', 'kubernetes.io/os', 'kubernetes.io/hostname'];

export function parseNodeLabels(text: string | undefined): { labels: Record<string, string>; errors: string[] } {
  const labels: Record<string, string> = {};
  const errors: string[] = [];
  for (const item of (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq < 0) {
      errors.push(`--labels: "${item}" is not key=value`);
      continue;
    }
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    for (const m of isQualifiedName(key)) errors.push(`--labels: key "${key}": ${m}`);
    for (const m of isLabelValue(value)) errors.push(`--labels: value "${value}" of ${key}: ${m}`);
    if (reserved.includes(key)) errors.push(`--labels: ${key} is set by the agent itself and cannot be given`);
    labels[key] = value;
  }
  return { labels, errors };
}
