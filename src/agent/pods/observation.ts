// What CRI says about one pod, reduced to what the plan and the status need. Times are
// milliseconds since the epoch, 0 when not reached.

export type ObservedState = 'created' | 'running' | 'exited' | 'unknown';

export interface ObservedContainer {
  id: string;
  sandboxId: string;
  name: string;
  kind: 'init' | 'app';
  attempt: number;
  state: ObservedState;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  /** CRI's reason once exited: Completed, Error, OOMKilled. */
  reason: string;
  message: string;
  image: string;
  imageRef: string;
}

export interface ObservedSandbox {
  id: string;
  attempt: number;
  ready: boolean;
  ip: string;
  createdAt: number;
}

export interface PodObservation {
  /** Newest first. */
  sandboxes: ObservedSandbox[];
  containers: ObservedContainer[];
}

/** A container the plan wants to wait on instead of starting, and why (shown as its waiting state). */
export interface WaitingReason {
  reason: string;
  message: string;
}

/** Containers of one name, newest attempt first. */
export function containersNamed(obs: PodObservation, name: string, sandboxId?: string): ObservedContainer[] {
  return obs.containers
    .filter((c) => c.name === name && (sandboxId === undefined || c.sandboxId === sandboxId))
    .sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt);
}

export function newestSandbox(obs: PodObservation): ObservedSandbox | undefined {
  return [...obs.sandboxes].sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt)[0];
}

/** kubelet's duration spelling in back-off messages: 10s, 1m20s, 5m0s. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  return `${Math.floor(s / 60)}m${s % 60}s`;
}
