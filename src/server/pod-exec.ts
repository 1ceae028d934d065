import type { NatsConnection } from 'nats';
import { ApiError, errors } from '../api/errors.js';
import { podUidOnNode } from '../api/mirror-pods.js';
import type { Pod } from '../api/types.js';
import { codecs } from '../bus/messages.js';
import { subjects } from '../bus/subjects.js';
import type { Store } from '../store/store.js';
import { chooseContainer } from './pod-logs.js';

// POST /api/v1/namespaces/NS/pods/NAME/exec?container=C&command=A&command=B, without a
// terminal: the pod's node runs the command through CRI ExecSync (skiff.to.NODE.exec) and the
// answer is one JSON object with the output and the exit code. With stdin or a terminal the
// request is upgraded to a stream instead: see pod-exec-session.ts.

export interface PodExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  truncated: boolean;
}

export interface PodExecDeps {
  nc: NatsConnection;
  store: Store;
  /** How long a command may run. Default 60 s. */
  timeoutSeconds?: number;
}

export function parsePodExecQuery(params: URLSearchParams): { container?: string; command: string[] } {
  const command = params.getAll('command');
  if (!command.length) throw errors.badRequest('you must specify at least 1 command');
  return { container: params.get('container') || undefined, command };
}

/** The pod, container and node an exec goes to, refused as Kubernetes refuses it. */
export async function execTarget(store: Store, namespace: string, name: string, requested: string | undefined): Promise<{ pod: Pod; container: string; node: string }> {
  const pod = (await store.get({ resource: 'pods', namespace, name })) as Pod | undefined;
  if (!pod) throw errors.notFound('pods', name);
  const container = chooseContainer(pod, requested);
  const node = pod.spec.nodeName;
  if (!node) throw errors.badRequest(`pod ${name} does not have a host assigned`);
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
    throw errors.badRequest(`cannot exec into a container in a completed pod; current phase is ${pod.status.phase}`);
  }
  return { pod, container, node };
}

/** NATS request failures as the API error a user can act on. */
export function nodeUnreachable(node: string, e: unknown): ApiError {
  const code = (e as { code?: string }).code;
  const why = code === '503' ? 'no agent is connected for it' : `it did not answer (${(e as Error).message})`;
  return errors.unavailable(`cannot exec on node "${node}": ${why}; check that its agent runs and reaches the control plane`);
}

export async function execInPod(deps: PodExecDeps, namespace: string, name: string, query: { container?: string; command: string[] }): Promise<PodExecResult> {
  const { pod, container, node } = await execTarget(deps.store, namespace, name, query.container);
  const timeoutSeconds = deps.timeoutSeconds ?? 60;
  let data: Uint8Array;
  try {
    const msg = await deps.nc.request(
      subjects.toNode(node, 'exec'),
      codecs.podExecRequest.encode({ v: 1, namespace, name, uid: podUidOnNode(pod)!, container, command: query.command, timeoutSeconds }),
      { timeout: (timeoutSeconds + 5) * 1000 },
    );
    data = msg.data;
  } catch (e) {
    throw nodeUnreachable(node, e);
  }
  const decoded = codecs.podExecReply.decode(data);
  if (!decoded.ok) throw errors.internal(`node "${node}" sent an unreadable exec reply: ${decoded.reason}`);
  const reply = decoded.value;
  if (!reply.ok) throw new ApiError(reply.error.reason, reply.error.message);
  return { stdout: reply.stdout, stderr: reply.stderr, exitCode: reply.exitCode, truncated: reply.truncated };
}
