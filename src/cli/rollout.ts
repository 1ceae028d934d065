import { deploymentOwnAnnotations, revisionAnnotation, templateHashLabel } from '../api/deployment-annotations.js';
import { isApiError } from '../api/errors.js';
import { resourceByKind, type ResourceInfo } from '../api/resources.js';
import type { Deployment, KObject, PodTemplateSpec, ReplicaSet } from '../api/types.js';
import { describeTemplate } from './describe/pod.js';
import { CliError } from './errors.js';
import type { Io } from './io.js';
import { objectRef, parseTargets } from './kinds.js';
import { alignTabs, DescribeWriter } from './printers/describe-writer.js';
import { reflect } from './reflector.js';
import type { RestClient } from './rest-client.js';

// `ctl rollout status|history|undo|restart|pause|resume` for Deployments, with kubectl's logic
// and words: status reads the Deployment's status the way kubectl's DeploymentStatusViewer
// does; history and undo work from the ReplicaSets the Deployment controls and their revision
// annotations; undo copies a ReplicaSet's pod template back into the Deployment.

export const changeCauseAnnotation = 'kubernetes.io/change-cause';
export const restartedAtAnnotation = 'kubectl.kubernetes.io/restartedAt';

export interface RolloutTarget {
  info: ResourceInfo;
  name: string;
}

// ---- pure pieces ---------------------------------------------------------------------------

/** A ReplicaSet's revision, or undefined when its annotation is missing or not a number. */
export function revisionOf(rs: KObject): number | undefined {
  const v = rs.metadata.annotations?.[revisionAnnotation];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** The ReplicaSets whose controller is `d`. */
export function ownedReplicaSets(d: KObject, replicaSets: KObject[]): ReplicaSet[] {
  return replicaSets.filter((rs) => rs.metadata.ownerReferences?.some((r) => r.controller && r.uid === d.metadata.uid)) as ReplicaSet[];
}

/** Revision → ReplicaSet, in ascending order of revision. */
export function revisionHistory(replicaSets: ReplicaSet[]): Map<number, ReplicaSet> {
  const byRevision = new Map<number, ReplicaSet>();
  for (const rs of replicaSets) {
    const r = revisionOf(rs);
    if (r !== undefined) byRevision.set(r, rs);
  }
  return new Map([...byRevision].sort((a, b) => a[0] - b[0]));
}

/**
 * The ReplicaSet undo goes back to, as kubectl chooses it: revision `toRevision`, or with 0 the
 * newest revision before the current one.
 */
export function rollbackTarget(deploymentName: string, replicaSets: ReplicaSet[], toRevision: number): ReplicaSet {
  if (toRevision < 0) throw new CliError(`unable to find specified revision ${toRevision} in history`);
  const history = revisionHistory(replicaSets);
  if (toRevision > 0) {
    const rs = history.get(toRevision);
    if (!rs) throw new CliError(`unable to find specified revision ${toRevision} in history; 'ctl rollout history deployment/${deploymentName}' lists the revisions`);
    return rs;
  }
  const revisions = [...history.keys()];
  if (revisions.length < 2) throw new CliError(`no rollout history found for deployment ${JSON.stringify(deploymentName)}: there is no earlier revision to go back to`);
  return history.get(revisions[revisions.length - 2])!;
}

/** A template without the pod-template-hash label the controller adds to its ReplicaSets. */
export function withoutHash(template: PodTemplateSpec | undefined): PodTemplateSpec {
  const t = structuredClone(template ?? { spec: { containers: [] } });
  if (t.metadata?.labels) {
    delete t.metadata.labels[templateHashLabel];
  }
  return t;
}

/** JSON with sorted keys, so two objects compare by content. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export function sameTemplate(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return canonical(withoutHash(a)) === canonical(withoutHash(b));
}

/**
 * What undo writes into the Deployment: the ReplicaSet's template without the hash label, and
 * the ReplicaSet's annotations plus the Deployment's own ones kubectl keeps. Undefined when
 * the Deployment already has that template.
 */
export function rollbackChange(d: Deployment, rs: ReplicaSet): { template: PodTemplateSpec; annotations: Record<string, string> } | undefined {
  if (sameTemplate(rs.spec.template, d.spec.template)) return undefined;
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (deploymentOwnAnnotations.has(k)) annotations[k] = v;
  for (const [k, v] of Object.entries(rs.metadata.annotations ?? {})) if (!deploymentOwnAnnotations.has(k)) annotations[k] = v;
  return { template: withoutHash(rs.spec.template), annotations };
}

/**
 * kubectl's DeploymentStatusViewer: the line to print and whether the rollout is complete;
 * throws once the Progressing condition says the progress deadline passed.
 */
export function deploymentRolloutStatus(d: Deployment): { message: string; done: boolean } {
  const name = JSON.stringify(d.metadata.name ?? '');
  const st = d.status ?? {};
  if ((d.metadata.generation ?? 0) > (st.observedGeneration ?? 0)) {
    return { message: 'Waiting for deployment spec update to be observed...', done: false };
  }
  const progressing = st.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') throw new CliError(`deployment ${name} exceeded its progress deadline`);
  const replicas = d.spec.replicas ?? 1;
  const updated = st.updatedReplicas ?? 0;
  const total = st.replicas ?? 0;
  const available = st.availableReplicas ?? 0;
  const waiting = (what: string) => ({ message: `Waiting for deployment ${name} rollout to finish: ${what}...`, done: false });
  if (updated < replicas) return waiting(`${updated} out of ${replicas} new replicas have been updated`);
  if (total > updated) return waiting(`${total - updated} old replicas are pending termination`);
  if (available < updated) return waiting(`${available} of ${updated} updated replicas are available`);
  return { message: `deployment ${name} successfully rolled out`, done: true };
}

/** `REVISION  CHANGE-CAUSE` lines, as kubectl's history viewer prints them. */
export function formatHistory(history: Map<number, ReplicaSet>): string {
  if (history.size === 0) return 'No rollout history found.\n';
  const lines = ['REVISION\tCHANGE-CAUSE'];
  for (const [revision, rs] of history) lines.push(`${revision}\t${rs.metadata.annotations?.[changeCauseAnnotation] || '<none>'}`);
  return `${alignTabs(lines).join('\n')}\n`;
}

// ---- commands ------------------------------------------------------------------------------

/** `deployment/web`, `deployment web`, `deploy web api`: every named object, in order. */
export function rolloutTargets(args: string[], usage: string): RolloutTarget[] {
  const targets = parseTargets(args).flatMap((t) => t.names.map((name) => ({ info: t.info, name })));
  if (targets.length === 0) throw new CliError(`you must name a deployment, e.g. '${usage}'`);
  return targets;
}

/** `deployments.apps "web"`: how kubectl names the object in these errors. */
const qualifiedName = (t: RolloutTarget) => `${t.info.plural}${t.info.group ? `.${t.info.group}` : ''} ${JSON.stringify(t.name)}`;

function requireDeployment(t: RolloutTarget, what: string): void {
  if (t.info.kind !== 'Deployment') throw new CliError(`no ${what} has been implemented for ${t.info.plural}${t.info.group ? `.${t.info.group}` : ''}: only deployments have rollouts here`);
}

async function getDeployment(client: RestClient, t: RolloutTarget, namespace: string): Promise<Deployment> {
  return (await client.get(t.info, namespace, t.name)) as Deployment;
}

async function replicaSetsOf(client: RestClient, d: Deployment, namespace: string): Promise<ReplicaSet[]> {
  const rsInfo = resourceByKind('ReplicaSet', 'apps/v1')!;
  const list = await client.list(rsInfo, { namespace });
  return ownedReplicaSets(d, list.items);
}

export interface RolloutStatusOptions {
  namespace: string;
  watch: boolean;
  /** 0: wait as long as it takes. */
  timeoutMs: number;
}

/** Prints progress lines until the rollout is complete (exit 0); fails past the deadline, on timeout, or if the Deployment goes. */
export async function runRolloutStatus(client: RestClient, io: Io, t: RolloutTarget, opts: RolloutStatusOptions, signal?: AbortSignal): Promise<number> {
  requireDeployment(t, 'status viewer');
  let last = '';
  const show = (d: Deployment): boolean => {
    const { message, done } = deploymentRolloutStatus(d);
    if (message !== last) io.out(`${message}\n`);
    last = message;
    return done;
  };
  const first = await getDeployment(client, t, opts.namespace);
  if (!opts.watch) {
    show(first);
    return 0;
  }
  if (show(first)) return 0;

  const stop = new AbortController();
  let timedOut = false;
  const timer = opts.timeoutMs > 0 ? setTimeout(() => ((timedOut = true), stop.abort()), opts.timeoutMs) : undefined;
  const onAbort = () => stop.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const events = reflect(client, t.info, { namespace: opts.namespace, fieldSelector: `metadata.name=${t.name}` }, stop.signal);
    for await (const ev of events) {
      if (ev.type === 'DELETED') throw new CliError(`${qualifiedName(t)} was deleted while waiting for its rollout`);
      const d = (ev.type === 'LIST' ? ev.items[0] : ev.object) as Deployment | undefined;
      if (!d) throw new CliError(`${qualifiedName(t)} was deleted while waiting for its rollout`);
      if (show(d)) return 0;
    }
    if (timedOut) throw new CliError('timed out waiting for the condition');
    return 1;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

export async function runRolloutHistory(client: RestClient, io: Io, t: RolloutTarget, opts: { namespace: string; revision?: number }): Promise<number> {
  requireDeployment(t, 'history viewer');
  const d = await getDeployment(client, t, opts.namespace);
  const history = revisionHistory(await replicaSetsOf(client, d, opts.namespace));
  if (opts.revision !== undefined && opts.revision > 0) {
    const rs = history.get(opts.revision);
    if (!rs) throw new CliError(`unable to find the specified revision ${opts.revision}; 'ctl rollout history ${objectRef(t.info, t.name)}' lists the revisions`);
    const w = new DescribeWriter();
    describeTemplate(w, 0, rs.spec.template);
    io.out(`${objectRef(t.info, t.name)} with revision #${opts.revision}\n${w.toString()}\n`);
    return 0;
  }
  io.out(`${objectRef(t.info, t.name)}\n${formatHistory(history)}\n`);
  return 0;
}

/** Updates with the read resourceVersion; a concurrent writer makes it read and try again. */
async function retryOnConflict(fn: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isApiError(e, 'Conflict') || attempt >= 4) throw e;
    }
  }
}

export async function runRolloutUndo(client: RestClient, io: Io, t: RolloutTarget, opts: { namespace: string; toRevision: number }): Promise<number> {
  requireDeployment(t, 'rollbacker');
  let outcome = '';
  await retryOnConflict(async () => {
    const d = await getDeployment(client, t, opts.namespace);
    if (d.spec.paused) {
      throw new CliError(`you cannot rollback a paused deployment; resume it first with 'ctl rollout resume ${objectRef(t.info, t.name)}' and try again`);
    }
    const rs = rollbackTarget(t.name, await replicaSetsOf(client, d, opts.namespace), opts.toRevision);
    const change = rollbackChange(d, rs);
    if (!change) {
      outcome = `skipped rollback (current template already matches revision ${opts.toRevision || revisionOf(rs)})`;
      return;
    }
    d.spec.template = change.template;
    d.metadata.annotations = change.annotations;
    await client.update(t.info, opts.namespace, d);
    outcome = 'rolled back';
  });
  io.out(`${objectRef(t.info, t.name)} ${outcome}\n`);
  return 0;
}

/** RFC 3339 in UTC without fractions, as kubectl writes restartedAt. */
export function restartStamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export async function runRolloutRestart(client: RestClient, io: Io, t: RolloutTarget, opts: { namespace: string; now?: Date }): Promise<number> {
  requireDeployment(t, 'restarter');
  const d = await getDeployment(client, t, opts.namespace);
  if (d.spec.paused) throw new CliError(`${qualifiedName(t)} can't restart paused deployment (run rollout resume first)`);
  const stamp = restartStamp(opts.now ?? new Date());
  await client.patch(t.info, opts.namespace, t.name, { spec: { template: { metadata: { annotations: { [restartedAtAnnotation]: stamp } } } } });
  io.out(`${objectRef(t.info, t.name)} restarted\n`);
  return 0;
}

export async function runRolloutPause(client: RestClient, io: Io, t: RolloutTarget, opts: { namespace: string; pause: boolean }): Promise<number> {
  requireDeployment(t, opts.pause ? 'pauser' : 'resumer');
  const d = await getDeployment(client, t, opts.namespace);
  if (Boolean(d.spec.paused) === opts.pause) throw new CliError(`${qualifiedName(t)} ${opts.pause ? 'is already paused' : 'is not paused'}`);
  // resourceVersion makes it a compare-and-swap against the state checked above.
  await client.patch(t.info, opts.namespace, t.name, { metadata: { resourceVersion: d.metadata.resourceVersion }, spec: { paused: opts.pause ? true : null } });
  io.out(`${objectRef(t.info, t.name)} ${opts.pause ? 'paused' : 'resumed'}\n`);
  return 0;
}
