import type { Container, ContainerStatus, Pod, PodCondition } from '../../api/types.js';
import { age } from './age.js';

// The READY, STATUS and RESTARTS columns of `get pods`, computed the way kubectl's printPod
// does, so a status read here means what it means under kubectl.

export interface PodSummary {
  /** `1/2`: ready containers over all containers (sidecar init containers included). */
  ready: string;
  status: string;
  /** `3`, or `3 (5m ago)` when the last restart time is known. */
  restarts: string;
}

/** Set when the node holding a pod stopped answering; the pod then prints as Unknown. */
const nodeUnreachablePodReason = 'NodeLost';

/** Sidecars (KEP-753): init containers with restartPolicy Always keep running with the main ones. */
function isRestartableInitContainer(c: Container | undefined): boolean {
  return (c as (Container & { restartPolicy?: string }) | undefined)?.restartPolicy === 'Always';
}

function conditionTrue(conditions: PodCondition[] | undefined, type: string): boolean {
  return conditions?.find((c) => c.type === type)?.status === 'True';
}

function terminatedReason(t: { reason?: string; signal?: number; exitCode: number }, prefix: string): string {
  if (t.reason) return prefix + t.reason;
  return t.signal ? `${prefix}Signal:${t.signal}` : `${prefix}ExitCode:${t.exitCode}`;
}

function lastFinish(cs: ContainerStatus): number {
  const finished = cs.lastState?.terminated?.finishedAt;
  return finished ? Date.parse(finished) || 0 : 0;
}

export function summarizePod(pod: Pod, now: number = Date.now()): PodSummary {
  const spec = pod.spec ?? { containers: [] };
  const status = pod.status ?? {};
  let restarts = 0;
  let restartableInitRestarts = 0;
  let totalContainers = spec.containers?.length ?? 0;
  let readyContainers = 0;
  let lastRestart = 0;
  let lastRestartableInitRestart = 0;

  const phase = status.phase ?? '';
  let reason: string = status.reason || phase;
  if (status.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')) reason = 'SchedulingGated';

  const initContainers = new Map((spec.initContainers ?? []).map((c) => [c.name, c]));
  for (const c of spec.initContainers ?? []) if (isRestartableInitContainer(c)) totalContainers++;

  let initializing = false;
  const initStatuses = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i];
    const restartable = isRestartableInitContainer(initContainers.get(cs.name));
    restarts += cs.restartCount ?? 0;
    lastRestart = Math.max(lastRestart, lastFinish(cs));
    if (restartable) {
      restartableInitRestarts += cs.restartCount ?? 0;
      lastRestartableInitRestart = Math.max(lastRestartableInitRestart, lastFinish(cs));
    }
    const state = cs.state ?? {};
    if (state.terminated && state.terminated.exitCode === 0) continue;
    if (restartable && cs.started) {
      if (cs.ready) readyContainers++;
      continue;
    }
    if (state.terminated) reason = terminatedReason(state.terminated, 'Init:');
    else if (state.waiting?.reason && state.waiting.reason !== 'PodInitializing') reason = `Init:${state.waiting.reason}`;
    else reason = `Init:${i}/${spec.initContainers?.length ?? 0}`;
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(status.conditions, 'Initialized')) {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      const state = cs.state ?? {};
      restarts += cs.restartCount ?? 0;
      lastRestart = Math.max(lastRestart, lastFinish(cs));
      if (state.waiting?.reason) reason = state.waiting.reason;
      else if (state.terminated) reason = terminatedReason(state.terminated, '');
      else if (cs.ready && state.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    // A pod whose last-listed container completed but another still runs is not done.
    if (reason === 'Completed' && hasRunning) reason = conditionTrue(status.conditions, 'Ready') ? 'Running' : 'NotReady';
  }

  if (pod.metadata.deletionTimestamp && status.reason === nodeUnreachablePodReason) reason = 'Unknown';
  else if (pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';

  const restartText =
    restarts !== 0 && lastRestart > 0 ? `${restarts} (${age(new Date(lastRestart).toISOString(), now)} ago)` : String(restarts);
  return { ready: `${readyContainers}/${totalContainers}`, status: reason, restarts: restartText };
}
