import type { PodExecReply, PodExecRequest } from '../../bus/messages.js';
import type { CriRuntime } from '../../cri/runtime.js';
import { labels } from './labels.js';

// `ctl exec` without a terminal: CRI ExecSync in the pod's running container, the whole output
// sent back in one reply. NATS carries at most 1 MB a message, so each stream is cut at
// `maxOutputBytes` (base64 grows it by a third) and the reply says so.

export const maxOutputBytes = 320 * 1024;

const failure = (reason: 'NotFound' | 'BadRequest' | 'InternalError', message: string): PodExecReply => ({ v: 1, ok: false, error: { reason, message } });

/** The id of the pod's newest running instance of `container` (a restarted one leaves older ones behind). */
export async function findRunningContainer(runtime: CriRuntime, podUid: string, container: string): Promise<string | undefined> {
  const containers = await runtime.listContainers({
    state: { state: 'CONTAINER_RUNNING' },
    labelSelector: { [labels.podUid]: podUid, [labels.containerName]: container },
  });
  return containers.sort((a, b) => b.createdAt - a.createdAt)[0]?.id;
}

/** The kubelet's words when the container to exec in is not running. */
export const containerNotFound = (container: string) => `unable to upgrade connection: container not found ("${container}")`;

export async function execInContainer(runtime: CriRuntime, req: PodExecRequest): Promise<PodExecReply> {
  const id = await findRunningContainer(runtime, req.uid, req.container);
  if (!id) return failure('BadRequest', containerNotFound(req.container));
  try {
    const r = await runtime.execSync(id, req.command, req.timeoutSeconds);
    const truncated = r.stdout.length > maxOutputBytes || r.stderr.length > maxOutputBytes;
    return {
      v: 1,
      ok: true,
      stdout: r.stdout.subarray(0, maxOutputBytes).toString('base64'),
      stderr: r.stderr.subarray(0, maxOutputBytes).toString('base64'),
      exitCode: r.exitCode,
      truncated,
    };
  } catch (e) {
    return failure('InternalError', `exec in container "${req.container}" of pod "${req.name}" failed: ${(e as Error).message}`);
  }
}
