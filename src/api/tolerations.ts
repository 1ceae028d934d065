import type { Taint, Toleration } from './types.js';

// Tolerations against taints, with the semantics of k8s.io/api/core/v1 Toleration.ToleratesTaint;
// the scheduler's filter and the taint eviction controller share them.

/** An empty effect tolerates every effect; an empty key with Exists tolerates every taint. */
export function toleratesTaint(t: Toleration, taint: Pick<Taint, 'key' | 'value' | 'effect'>): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? 'Equal') {
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

export function tolerated(tolerations: readonly Toleration[], taint: Pick<Taint, 'key' | 'value' | 'effect'>): boolean {
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}
