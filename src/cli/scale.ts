import { CliError } from './errors.js';
import type { Io } from './io.js';
import { objectRef, type ResourceTarget } from './kinds.js';
import type { RestClient } from './rest-client.js';

// `ctl scale KIND/NAME --replicas=N [--current-replicas=M]`, through the `/scale` subresource
// as kubectl does: a plain merge patch of spec.replicas, or with a precondition a read of the
// Scale, the check, and a write that carries the read resourceVersion, so a change made in
// between fails with Conflict instead of being overwritten.

export interface ScaleOptions {
  namespace: string;
  replicas: number;
  /** Scale only if the current spec.replicas is this. */
  currentReplicas?: number;
  /** Scale only if the object is still at this resourceVersion. */
  resourceVersion?: string;
}

/** The Scale's spec.replicas, or the error kubectl gives when it differs from --current-replicas. */
export function checkCurrentReplicas(scale: { spec?: { replicas?: number } }, want: number | undefined): void {
  const have = scale.spec?.replicas ?? 0;
  if (want !== undefined && have !== want) throw new CliError(`Expected replicas to be ${want}, was ${have}`);
}

export async function runScale(client: RestClient, io: Io, targets: ResourceTarget[], opts: ScaleOptions): Promise<number> {
  if (!Number.isInteger(opts.replicas) || opts.replicas < 0) {
    throw new CliError('The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0');
  }
  if (targets.every((t) => t.names.length === 0)) {
    throw new CliError(`resource(s) were provided, but no name was specified: use KIND NAME or KIND/NAME, e.g. 'ctl scale deployment/web --replicas=3'`);
  }
  for (const t of targets) {
    if (!t.info.hasScale) {
      throw new CliError(`${t.info.plural} cannot be scaled: only deployments, replicasets and replicationcontrollers have a scale subresource`);
    }
  }
  for (const t of targets) {
    for (const name of t.names) {
      if (opts.currentReplicas === undefined && opts.resourceVersion === undefined) {
        await client.patchScale(t.info, opts.namespace, name, { spec: { replicas: opts.replicas } });
      } else {
        const scale = (await client.getScale(t.info, opts.namespace, name)) as { metadata: { resourceVersion?: string }; spec?: { replicas?: number } };
        checkCurrentReplicas(scale, opts.currentReplicas);
        if (opts.resourceVersion !== undefined && opts.resourceVersion !== scale.metadata.resourceVersion) {
          throw new CliError(`Expected resource version to be ${opts.resourceVersion}, was ${scale.metadata.resourceVersion}`);
        }
        await client.updateScale(t.info, opts.namespace, name, {
          apiVersion: 'autoscaling/v1',
          kind: 'Scale',
          metadata: { name, namespace: opts.namespace, resourceVersion: scale.metadata.resourceVersion },
          spec: { replicas: opts.replicas },
        });
      }
      io.out(`${objectRef(t.info, name)} scaled\n`);
    }
  }
  return 0;
}
