import { isApiError } from '../api/errors.js';
import { resourceByKind } from '../api/resources.js';
import type { Pod } from '../api/types.js';
import { setUnschedulable } from './cordon.js';
import { CliError } from './errors.js';
import type { Io } from './io.js';
import type { RestClient } from './rest-client.js';

// `ctl drain NODE`: cordon, then delete the node's pods and wait until they are gone, with
// kubectl's safety rules. Pods a controller does not own would be lost for good, so they need
// --force; DaemonSet pods would be recreated on the same node at once, so they are skipped only
// with --ignore-daemonsets; pods with emptyDir volumes lose that data, so they need
// --delete-emptydir-data; static (mirror) pods cannot be deleted through the API and are skipped.
// Pods go through the Eviction API, as with kubectl, so they are marked DisruptionTarget before
// they are deleted (there are no PodDisruptionBudgets yet, so no eviction is refused).

export interface DrainOptions {
  force: boolean;
  ignoreDaemonSets: boolean;
  deleteEmptyDirData: boolean;
  /** Undefined: each pod's own terminationGracePeriodSeconds. */
  gracePeriodSeconds?: number;
  /** 0: wait as long as it takes. */
  timeoutMs: number;
  pollMs?: number;
}

export interface DrainPlan {
  /** Pods to delete, in the order listed. */
  evict: Pod[];
  /** What the user should know but does not stop the drain. */
  warnings: string[];
  /** Why the drain cannot go ahead; empty when it can. */
  errors: string[];
}

const mirrorAnnotation = 'kubernetes.io/config.mirror';

const podRef = (p: Pod) => `${p.metadata.namespace}/${p.metadata.name}`;
const isFinished = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

/** Sorts the node's pods into those to delete, warnings and refusals, as kubectl's drain filters do. */
export function planDrain(pods: Pod[], opts: Pick<DrainOptions, 'force' | 'ignoreDaemonSets' | 'deleteEmptyDirData'>): DrainPlan {
  const groups = { daemonSetRefused: [] as Pod[], daemonSetIgnored: [] as Pod[], unmanagedRefused: [] as Pod[], unmanagedForced: [] as Pod[], localRefused: [] as Pod[], localDeleted: [] as Pod[] };
  const evict: Pod[] = [];
  for (const pod of pods) {
    if (pod.metadata.annotations?.[mirrorAnnotation] !== undefined) continue;
    const controller = pod.metadata.ownerReferences?.find((r) => r.controller);
    if (controller?.kind === 'DaemonSet' && !isFinished(pod)) {
      (opts.ignoreDaemonSets ? groups.daemonSetIgnored : groups.daemonSetRefused).push(pod);
      continue;
    }
    let refused = false;
    if (!controller && !isFinished(pod)) {
      if (opts.force) groups.unmanagedForced.push(pod);
      else (groups.unmanagedRefused.push(pod), (refused = true));
    }
    if (pod.spec.volumes?.some((v) => v.emptyDir) && !isFinished(pod)) {
      if (opts.deleteEmptyDirData) groups.localDeleted.push(pod);
      else (groups.localRefused.push(pod), (refused = true));
    }
    if (!refused) evict.push(pod);
  }
  const line = (text: string, group: Pod[]) => (group.length ? [`${text}: ${group.map(podRef).join(', ')}`] : []);
  return {
    evict,
    warnings: [
      ...line('ignoring DaemonSet-managed Pods', groups.daemonSetIgnored),
      ...line('deleting Pods that declare no controller', groups.unmanagedForced),
      ...line('deleting Pods with local storage', groups.localDeleted),
    ],
    errors: [
      ...line('cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)', groups.daemonSetRefused),
      ...line('cannot delete Pods declare no controller (use --force to override)', groups.unmanagedRefused),
      ...line('cannot delete Pods with local storage (use --delete-emptydir-data to override)', groups.localRefused),
    ],
  };
}

const pods = resourceByKind('Pod')!;

async function podsOnNode(client: RestClient, node: string): Promise<Pod[]> {
  return (await client.list(pods, { fieldSelector: `spec.nodeName=${node}` })).items as Pod[];
}

export async function runDrain(client: RestClient, io: Io, node: string, opts: DrainOptions): Promise<number> {
  const cordoned = await setUnschedulable(client, node, true);
  io.out(`node/${node} ${cordoned ? 'cordoned' : 'already cordoned'}\n`);

  const plan = planDrain(await podsOnNode(client, node), opts);
  if (plan.errors.length) {
    throw new CliError(
      `unable to drain node "${node}": ${plan.errors.join('; ')}\n` +
        `the node stays cordoned; fix the above and run 'ctl drain ${node}' again, or 'ctl uncordon ${node}' to undo`,
    );
  }
  for (const w of plan.warnings) io.err(`Warning: ${w}\n`);

  const waiting = new Map<string, Pod>();
  for (const pod of plan.evict) {
    io.out(`evicting pod ${podRef(pod)}\n`);
    try {
      await client.evict(pod.metadata.namespace!, pod.metadata.name!, { gracePeriodSeconds: opts.gracePeriodSeconds });
      waiting.set(pod.metadata.uid ?? podRef(pod), pod);
    } catch (e) {
      if (!isApiError(e, 'NotFound')) throw e;
      io.out(`pod/${pod.metadata.name} evicted\n`);
    }
  }

  const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : Infinity;
  for (;;) {
    // One list per round answers for every pod: a pod is gone when its uid no longer appears.
    const present = new Set((await podsOnNode(client, node)).map((p) => p.metadata.uid ?? podRef(p)));
    for (const [key, pod] of waiting) {
      if (present.has(key)) continue;
      waiting.delete(key);
      io.out(`pod/${pod.metadata.name} evicted\n`);
    }
    if (waiting.size === 0) break;
    if (Date.now() >= deadline) {
      throw new CliError(
        `unable to drain node "${node}": timed out after ${opts.timeoutMs / 1000}s waiting for ${[...waiting.values()].map(podRef).join(', ')} to terminate; ` +
          `their node has not confirmed them stopped (is its agent running?). Run 'ctl drain ${node}' again, or with --grace-period 0 to remove them without waiting for the node`,
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(opts.pollMs ?? 250, Math.max(0, deadline - Date.now()))));
  }
  io.out(`node/${node} drained\n`);
  return 0;
}
