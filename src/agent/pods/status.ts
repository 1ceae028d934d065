import type { Container, ContainerState, ContainerStatus, Pod, PodCondition, PodPhase, PodStatus } from '../../api/types.js';
import { containersNamed, newestSandbox, type ObservedContainer, type PodObservation, type WaitingReason } from './observation.js';

// A pod's status computed from what CRI shows, by kubelet's rules (generateAPIPodStatus and
// getPhase): pure, so every phase and condition case is a unit test.

export interface StatusInput {
  pod: Pod;
  observed: PodObservation;
  /** Containers held back by the plan (back-off, image errors), by name. */
  waiting?: Record<string, WaitingReason>;
  hostIP?: string;
  /** The status last computed for this pod: keeps transition times, startTime and podIP. */
  previous?: PodStatus;
  now: Date;
  /** containerID scheme, `containerd`. */
  runtimeName?: string;
  /** Counted startup and readiness probe results of a running container, by its id. */
  probes?: (containerId: string) => { startup?: 'success' | 'failure'; readiness?: 'success' | 'failure' };
}

type ProbeLookup = NonNullable<StatusInput['probes']>;

export const rfc3339 = (ms: number | Date): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function terminatedOf(c: ObservedContainer, runtime: string): ContainerState {
  const startedAt = c.startedAt ? rfc3339(c.startedAt) : undefined;
  // containerd may stamp finishedAt a little before startedAt for very short runs.
  const finishedAt = c.finishedAt ? rfc3339(Math.max(c.finishedAt, c.startedAt)) : undefined;
  return {
    terminated: {
      exitCode: c.state === 'unknown' ? 137 : c.exitCode,
      reason: c.state === 'unknown' ? 'ContainerStatusUnknown' : c.reason || (c.exitCode === 0 ? 'Completed' : 'Error'),
      ...(c.message ? { message: c.message } : {}),
      ...(startedAt ? { startedAt } : {}),
      ...(finishedAt ? { finishedAt } : {}),
      containerID: `${runtime}://${c.id}`,
    },
  };
}

const isDone = (c: ObservedContainer) => c.state === 'exited' || c.state === 'unknown';

function containerStatus(spec: Container, all: ObservedContainer[], isInit: boolean, defaultWaiting: string, waiting: WaitingReason | undefined, runtime: string, probes: ProbeLookup): ContainerStatus {
  const [latest, previous] = all;
  const base = { name: spec.name, image: spec.image ?? '', imageID: latest?.imageRef ?? '', restartCount: latest?.attempt ?? 0 };
  if (!latest) {
    return { ...base, state: { waiting: waiting ?? { reason: defaultWaiting } }, lastState: {}, ready: false, started: false };
  }
  const containerID = `${runtime}://${latest.id}`;
  const prevState = previous && isDone(previous) ? terminatedOf(previous, runtime) : {};
  if (waiting && isDone(latest)) {
    return { ...base, containerID, state: { waiting }, lastState: terminatedOf(latest, runtime), ready: false, started: false };
  }
  if (latest.state === 'running') {
    // kubelet: started once a startup probe has succeeded; ready once started and the readiness probe passed.
    const results = isInit ? {} : probes(latest.id);
    const started = isInit || !spec.startupProbe || results.startup === 'success';
    const ready = !isInit && started && (!spec.readinessProbe || results.readiness === 'success');
    return { ...base, containerID, state: { running: { startedAt: rfc3339(latest.startedAt || latest.createdAt) } }, lastState: prevState, ready, started };
  }
  if (latest.state === 'created') {
    return { ...base, containerID, state: { waiting: waiting ?? { reason: 'ContainerCreating' } }, lastState: prevState, ready: false, started: false };
  }
  const state = terminatedOf(latest, runtime);
  return { ...base, containerID, state, lastState: prevState, ready: isInit && state.terminated!.exitCode === 0, started: false };
}

/** kubelet's getPhase. */
export function podPhase(pod: Pod, initStatuses: ContainerStatus[], statuses: ContainerStatus[]): PodPhase {
  const policy = pod.spec.restartPolicy ?? 'Always';
  const lastExit = (s: ContainerStatus) => s.state?.terminated ?? s.lastState?.terminated;
  const anyAppStarted = statuses.some((s) => s.state?.running || s.state?.terminated || s.lastState?.terminated);
  let pendingInit = 0;
  for (const s of initStatuses) {
    if (s.state?.terminated?.exitCode === 0) continue;
    const t = lastExit(s);
    if (t && t.exitCode !== 0 && policy === 'Never') return 'Failed';
    pendingInit++;
  }
  if (pendingInit > 0 && !anyAppStarted) return 'Pending';
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of statuses) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState?.terminated) {
      stopped++;
      if (s.lastState.terminated.exitCode === 0) succeeded++;
    } else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function condition(type: string, ok: boolean, previous: PodStatus | undefined, now: Date, reason?: string, message?: string): PodCondition {
  const status = ok ? 'True' : 'False';
  const prev = previous?.conditions?.find((c) => c.type === type);
  const lastTransitionTime = prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : rfc3339(now);
  return { type, status, lastProbeTime: null, lastTransitionTime, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
}

export function computePodStatus(input: StatusInput): PodStatus {
  const { pod, observed, previous, now } = input;
  const runtime = input.runtimeName ?? 'containerd';
  const waiting = input.waiting ?? {};
  const inits = pod.spec.initContainers ?? [];
  const defaultWaiting = inits.length ? 'PodInitializing' : 'ContainerCreating';
  const probes: ProbeLookup = input.probes ?? (() => ({}));
  const initContainerStatuses = inits.map((c) => containerStatus(c, containersNamed(observed, c.name), true, defaultWaiting, waiting[c.name], runtime, probes));
  const containerStatuses = pod.spec.containers.map((c) => containerStatus(c, containersNamed(observed, c.name), false, defaultWaiting, waiting[c.name], runtime, probes));
  const phase = podPhase(pod, initContainerStatuses, containerStatuses);

  const anyAppStarted = containerStatuses.some((s) => s.state?.running || s.state?.terminated || s.lastState?.terminated);
  const incompleteInit = initContainerStatuses.filter((s) => s.state?.terminated?.exitCode !== 0).map((s) => s.name);
  const initialized = incompleteInit.length === 0 || anyAppStarted;
  const unready = containerStatuses.filter((s) => !s.ready).map((s) => s.name);
  const completed = phase === 'Succeeded';
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const conditions: PodCondition[] = [
    completed
      ? condition('Initialized', true, previous, now, 'PodCompleted')
      : condition('Initialized', initialized, previous, now, initialized ? undefined : 'ContainersNotInitialized', initialized ? undefined : `containers with incomplete status: [${incompleteInit.join(' ')}]`),
    ...['Ready', 'ContainersReady'].map((type) =>
      completed
        ? condition(type, false, previous, now, 'PodCompleted')
        : condition(type, unready.length === 0, previous, now, unready.length ? 'ContainersNotReady' : undefined, unready.length ? `containers with unready status: [${unready.join(' ')}]` : undefined),
    ),
    scheduled ?? { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: previous?.startTime ?? rfc3339(now) },
  ];

  const sandbox = newestSandbox(observed);
  const podIP = pod.spec.hostNetwork ? input.hostIP : sandbox?.ready && sandbox.ip ? sandbox.ip : previous?.podIP;
  const startTime = previous?.startTime ?? pod.status?.startTime ?? rfc3339(sandbox?.createdAt || now);
  return {
    phase,
    conditions,
    ...(input.hostIP ? { hostIP: input.hostIP } : {}),
    ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}),
    startTime,
    ...(initContainerStatuses.length ? { initContainerStatuses } : {}),
    containerStatuses,
    ...(pod.status?.qosClass ? { qosClass: pod.status.qosClass } : {}),
  };
}
