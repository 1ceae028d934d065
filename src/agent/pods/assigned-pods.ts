import type { DesiredPod, PodAssignment } from '../../bus/messages.js';

// The node's copy of what the control plane assigned it. Whole lists replace it; changes apply
// only on top of the revision they were computed from, so a lost message is noticed and the
// whole list asked for, never silently skipped.

const key = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

/** Asking again for a whole list that is on its way would only make the control plane send it twice. */
const askAgainAfterMs = 1000;

export class AssignedPods {
  private readonly pods = new Map<string, DesiredPod>();
  private revision: number | undefined;
  private askedAt = -Infinity;

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Applies a message. Returns the whole assigned list, or `{ ask: true }` when the message does
   * not follow what this node holds and the whole list should be requested (`ask: false` while
   * a request is already on its way).
   */
  apply(a: PodAssignment): { pods: DesiredPod[] } | { ask: boolean } {
    if ('pods' in a) {
      this.pods.clear();
      for (const p of a.pods) this.pods.set(key(p.metadata), p);
    } else {
      if (this.revision !== a.since) {
        const ask = this.now() - this.askedAt >= askAgainAfterMs;
        if (ask) this.askedAt = this.now();
        return { ask };
      }
      for (const r of a.removed) this.pods.delete(key(r));
      for (const p of a.changed) this.pods.set(key(p.metadata), p);
    }
    this.revision = a.revision;
    this.askedAt = -Infinity;
    return { pods: [...this.pods.values()] };
  }
}
