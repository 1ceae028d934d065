import type { ServerResponse } from 'node:http';
import type { NatsConnection } from 'nats';
import { ApiError, errors } from '../api/errors.js';
import { podUidOnNode } from '../api/mirror-pods.js';
import type { ContainerStatus, Pod } from '../api/types.js';
import { codecs, type PodLogReply, type PodLogRequest } from '../bus/messages.js';
import { subjects } from '../bus/subjects.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';

// GET /api/v1/namespaces/NS/pods/NAME/log, as Kubernetes serves it. The pod and container are
// checked here against the stored status (with the kubelet's own messages), then the pod's node
// reads the CRI log file and replies over NATS (skiff.to.NODE.logs). `follow` polls the node:
// every reply carries the offset after its last complete line, and the next request continues
// from there. Polling keeps the node stateless: no stream to leak when a client or the link
// drops, and a node that restarts simply answers the next poll.

export interface PodLogQuery {
  container?: string;
  tailLines?: number;
  timestamps: boolean;
  previous: boolean;
  follow: boolean;
}

export interface PodLogsDeps {
  nc: NatsConnection;
  store: Store;
  log: Logger;
  /** How long a node may take to answer one read. Default 10 s. */
  requestTimeoutMs?: number;
  /** Pause between reads while following. Default 500 ms. */
  pollIntervalMs?: number;
}

const isTrue = (v: string | null) => v === '1' || v === 'true';

/** The query parameters of a log request; bad values are refused as the API server would. */
export function parsePodLogQuery(params: URLSearchParams): PodLogQuery {
  const tail = params.get('tailLines');
  let tailLines: number | undefined;
  if (tail !== null && tail !== '') {
    tailLines = Number(tail);
    if (!Number.isInteger(tailLines) || tailLines < 0) throw errors.badRequest(`tailLines: Invalid value: "${tail}": must be an integer greater than or equal to 0`);
  }
  const container = params.get('container') || undefined;
  return { container, tailLines, timestamps: isTrue(params.get('timestamps')), previous: isTrue(params.get('previous')), follow: isTrue(params.get('follow')) };
}

const goList = (names: string[]) => `[${names.join(' ')}]`;

/** Which container to read, refused in the words Kubernetes uses when it cannot tell. */
export function chooseContainer(pod: Pod, requested: string | undefined): string {
  const name = pod.metadata.name!;
  const apps = pod.spec.containers.map((c) => c.name);
  const inits = (pod.spec.initContainers ?? []).map((c) => c.name);
  if (requested === undefined) {
    if (apps.length === 1) return apps[0];
    const initPart = inits.length ? ` or one of the init containers: ${goList(inits)}` : '';
    throw errors.badRequest(`a container name must be specified for pod ${name}, choose one of: ${goList(apps)}${initPart}`);
  }
  if (!apps.includes(requested) && !inits.includes(requested)) throw errors.badRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}

/** The kubelet's check that a container has a log to read (validateContainerLogStatus). */
export function checkContainerLogStatus(pod: Pod, container: string, previous: boolean): void {
  const podName = pod.metadata.name!;
  const all: ContainerStatus[] = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  const status = all.find((s) => s.name === container);
  if (!status) throw errors.badRequest(`container "${container}" in pod "${podName}" is waiting to start: ContainerCreating`);
  const { waiting, running, terminated } = status.state ?? {};
  if (previous) {
    if (!status.lastState?.terminated) throw errors.badRequest(`previous terminated container "${container}" in pod "${podName}" not found`);
    return;
  }
  if (running || terminated || status.lastState?.terminated) return;
  const reason = waiting?.reason ?? 'ContainerCreating';
  const why = reason === 'ErrImagePull' ? "image can't be pulled" : reason === 'ImagePullBackOff' ? 'trying and failing to pull image' : reason;
  throw errors.badRequest(`container "${container}" in pod "${podName}" is waiting to start: ${why}`);
}

function isRunning(pod: Pod | undefined, uid: string, container: string): boolean {
  if (!pod || podUidOnNode(pod) !== uid) return false;
  const all = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  return !!all.find((s) => s.name === container)?.state?.running;
}

async function askNode(deps: PodLogsDeps, node: string, req: PodLogRequest): Promise<Extract<PodLogReply, { ok: true }>> {
  let data: Uint8Array;
  try {
    const msg = await deps.nc.request(subjects.toNode(node, 'logs'), codecs.podLogRequest.encode(req), { timeout: deps.requestTimeoutMs ?? 10_000 });
    data = msg.data;
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === '503' ? 'no agent is connected for it' : `it did not answer (${(e as Error).message})`;
    throw errors.unavailable(`cannot read logs from node "${node}": ${why}; check that its agent runs and reaches the control plane`);
  }
  const decoded = codecs.podLogReply.decode(data);
  if (!decoded.ok) throw errors.internal(`node "${node}" sent an unreadable log reply: ${decoded.reason}`);
  const reply = decoded.value;
  if (!reply.ok) throw new ApiError(reply.error.reason, reply.error.message);
  return reply;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Answers one log request on `res`. Errors found before anything is written are thrown (the
 * caller sends them as a Status); once the log is streaming, a failure ends the stream.
 */
export async function servePodLogs(deps: PodLogsDeps, res: ServerResponse, namespace: string, name: string, query: PodLogQuery): Promise<void> {
  const pod = (await deps.store.get({ resource: 'pods', namespace, name })) as Pod | undefined;
  if (!pod) throw errors.notFound('pods', name);
  const container = chooseContainer(pod, query.container);
  const node = pod.spec.nodeName;
  if (!node) throw errors.badRequest(`pod ${name} does not have a host assigned`);
  checkContainerLogStatus(pod, container, query.previous);
  const uid = podUidOnNode(pod)!;
  const base: PodLogRequest = { v: 1, namespace, name, uid, container, previous: query.previous, timestamps: query.timestamps };

  let reply = await askNode(deps, node, { ...base, ...(query.tailLines !== undefined ? { tailLines: query.tailLines } : {}) });
  let closed = false;
  res.once('close', () => (closed = true));
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'transfer-encoding': 'chunked' });
  try {
    for (;;) {
      if (reply.text) res.write(reply.text);
      if (closed) return;
      if (!reply.more) {
        if (!query.follow || query.previous) return;
        // One last read after the container stops, so its final lines are not lost.
        const running = isRunning((await deps.store.get({ resource: 'pods', namespace, name })) as Pod | undefined, uid, container);
        if (!running) {
          const last = await askNode(deps, node, { ...base, attempt: reply.attempt, offset: reply.offset });
          if (last.text) res.write(last.text);
          return;
        }
        await sleep(deps.pollIntervalMs ?? 500);
        if (closed) return;
      }
      reply = await askNode(deps, node, { ...base, attempt: reply.attempt, offset: reply.offset });
    }
  } catch (e) {
    deps.log.debug({ err: e, pod: `${namespace}/${name}`, container }, 'log stream ended early');
  } finally {
    res.end();
  }
}
