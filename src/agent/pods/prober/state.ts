// One probe's result by kubelet's rules (prober worker.doProbe): a result counts only after
// successThreshold successes or failureThreshold failures in a row. Pure, so the thresholds,
// the initial values and the hold after a liveness or startup failure are unit tests.

export type ProbeType = 'Liveness' | 'Readiness' | 'Startup';
export type ProbeOutcome = 'success' | 'failure';
/** What one attempt gave; `unknown` (the prober itself failed) changes nothing. */
export type AttemptResult = ProbeOutcome | 'unknown';

export interface ProbeThresholds {
  successThreshold: number;
  failureThreshold: number;
}

/** Before the first counted attempt: a container is alive, not ready and not started. */
export function initialOutcome(type: ProbeType): ProbeOutcome | undefined {
  if (type === 'Liveness') return 'success';
  if (type === 'Readiness') return 'failure';
  return undefined;
}

export class ProbeState {
  /** The counted result; undefined for a startup probe that has not succeeded or failed yet. */
  result: ProbeOutcome | undefined;
  /** A failed liveness or startup probe stops probing: its container is about to be killed. */
  onHold = false;
  /** A startup probe that has succeeded is done for this container. */
  done = false;
  private last: AttemptResult | undefined;
  private run = 0;

  constructor(
    readonly type: ProbeType,
    private readonly thresholds: ProbeThresholds,
  ) {
    this.result = initialOutcome(type);
  }

  /** Counts one attempt; returns whether the counted result changed. */
  record(attempt: AttemptResult): boolean {
    if (this.onHold || this.done || attempt === 'unknown') return false;
    if (attempt === this.last) this.run++;
    else {
      this.last = attempt;
      this.run = 1;
    }
    const needed = attempt === 'success' ? this.thresholds.successThreshold : this.thresholds.failureThreshold;
    if (this.run < Math.max(1, needed)) return false;
    const changed = this.result !== attempt;
    this.result = attempt;
    if (attempt === 'failure' && this.type !== 'Readiness') {
      this.onHold = true;
      this.run = 0;
    }
    if (attempt === 'success' && this.type === 'Startup') this.done = true;
    return changed;
  }
}
