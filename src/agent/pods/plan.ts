import type { Pod } from '../../api/types.js';
import { containersNamed, formatDuration, newestSandbox, type ObservedContainer, type ObservedSandbox, type PodObservation, type WaitingReason } from './observation.js';
import { computePodStatus } from './status.js';

// What to do for one pod, computed as a value from the spec and what CRI shows (Nomad's
// reconciler-as-a-diff; kubelet's computePodActions): the worker only carries it out.

export interface StartAction {
  name: string;
  kind: 'init' | 'app';
  attempt: number;
}

export interface PodActions {
  /** Run a new sandbox with this attempt (every container then starts again in it). */
  createSandbox?: { attempt: number };
  /** The sandbox the containers run in (undefined when one is to be created). */
  sandboxId?: string;
  /** Old or surplus sandboxes to stop and remove. */
  removeSandboxes: string[];
  /** The pod has finished: stop its sandbox, start nothing. */
  stopSandbox?: string;
  /** Containers to stop (their sandbox is going, or they were created but never started). */
  kill: ObservedContainer[];
  /** In order; init containers one at a time. */
  start: StartAction[];
  /** Containers held back, with the waiting reason their status shows. */
  waiting: Record<string, WaitingReason>;
  /** When to look again for a back-off to end. */
  wakeInMs?: number;
  /** Exited containers older than the one kept for lastState. */
  garbage: string[];
}

export interface PlanInput {
  pod: Pod;
  observed: PodObservation;
  /** Milliseconds of restart back-off left for a container that finished at `finishedAt`. */
  backoffRemaining(name: string, finishedAt: number): number;
  /** The back-off delay in force for a container, for the CrashLoopBackOff message. */
  backoffDelay(name: string): number;
  /** Containers whose image could not be had, and why. */
  imageErrors?: Record<string, WaitingReason>;
}

const nextAttempt = (obs: PodObservation, name: string) => (containersNamed(obs, name)[0]?.attempt ?? -1) + 1;

export function isTerminalPhase(pod: Pod, obs: PodObservation): boolean {
  const phase = computePodStatus({ pod, observed: obs, now: new Date(0) }).phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

export function computePodActions(input: PlanInput): PodActions {
  const { pod, observed } = input;
  const policy = pod.spec.restartPolicy ?? 'Always';
  const actions: PodActions = { removeSandboxes: [], kill: [], start: [], waiting: {}, garbage: [] };

  // Keep the newest exited container of each name (for lastState and logs --previous) and the running one.
  for (const name of new Set(observed.containers.map((c) => c.name))) {
    const all = containersNamed(observed, name);
    for (const old of all.slice(2)) if (old.state === 'exited' || old.state === 'unknown') actions.garbage.push(old.id);
  }

  const sandbox: ObservedSandbox | undefined = newestSandbox(observed);
  for (const sb of observed.sandboxes) if (sb.id !== sandbox?.id) actions.removeSandboxes.push(sb.id);
  const terminal = policy !== 'Always' && isTerminalPhase(pod, observed);
  if (terminal) {
    if (sandbox?.ready) actions.stopSandbox = sandbox.id;
    return actions;
  }

  let current: PodObservation;
  if (!sandbox || !sandbox.ready) {
    actions.createSandbox = { attempt: sandbox ? sandbox.attempt + 1 : 0 };
    if (sandbox) actions.removeSandboxes.push(sandbox.id);
    actions.kill.push(...observed.containers.filter((c) => c.state === 'running' || c.state === 'created'));
    current = { sandboxes: [], containers: [] };
  } else {
    actions.sandboxId = sandbox.id;
    current = { sandboxes: [sandbox], containers: observed.containers.filter((c) => c.sandboxId === sandbox.id) };
  }

  const imageErrors = input.imageErrors ?? {};
  let earliestWake: number | undefined;
  const wake = (ms: number) => (earliestWake = earliestWake === undefined ? ms : Math.min(earliestWake, ms));

  /** Start a fresh attempt of `name` unless its back-off or an image error holds it. */
  const tryStart = (name: string, kind: 'init' | 'app', last: ObservedContainer | undefined): void => {
    if (imageErrors[name]) {
      actions.waiting[name] = imageErrors[name];
      return;
    }
    if (last && (last.state === 'exited' || last.state === 'unknown')) {
      const left = input.backoffRemaining(name, last.finishedAt || last.createdAt);
      if (left > 0) {
        actions.waiting[name] = {
          reason: 'CrashLoopBackOff',
          message: `back-off ${formatDuration(input.backoffDelay(name))} restarting failed container=${name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
        };
        wake(left);
        return;
      }
    }
    actions.start.push({ name, kind, attempt: nextAttempt(observed, name) });
  };

  const latestOf = (name: string) => containersNamed(current, name)[0];
  const appStarted = pod.spec.containers.some((c) => latestOf(c.name));
  if (!appStarted) {
    for (const init of pod.spec.initContainers ?? []) {
      const latest = latestOf(init.name);
      if (!latest) {
        tryStart(init.name, 'init', containersNamed(observed, init.name)[0]);
        return finish();
      }
      if (latest.state === 'running') return finish();
      if (latest.state === 'created') {
        actions.kill.push(latest);
        tryStart(init.name, 'init', undefined);
        return finish();
      }
      if (latest.exitCode === 0 && latest.state === 'exited') continue;
      // Failed: Never made the pod Failed above (terminal); Always and OnFailure retry it.
      tryStart(init.name, 'init', latest);
      return finish();
    }
  }

  for (const c of pod.spec.containers) {
    const latest = latestOf(c.name);
    if (!latest) {
      tryStart(c.name, 'app', containersNamed(observed, c.name)[0]);
      continue;
    }
    if (latest.state === 'running') continue;
    if (latest.state === 'created') {
      actions.kill.push(latest);
      tryStart(c.name, 'app', undefined);
      continue;
    }
    const restart = policy === 'Always' || (policy === 'OnFailure' && (latest.exitCode !== 0 || latest.state === 'unknown'));
    if (restart) tryStart(c.name, 'app', latest);
  }
  return finish();

  function finish(): PodActions {
    if (earliestWake !== undefined) actions.wakeInMs = earliestWake;
    return actions;
  }
}
