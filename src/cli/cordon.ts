import { resourceByKind } from '../api/resources.js';
import type { Node } from '../api/types.js';
import type { Io } from './io.js';
import type { RestClient } from './rest-client.js';

// `ctl cordon NODE` / `ctl uncordon NODE`: spec.unschedulable through a merge patch, so the
// scheduler stops (or resumes) placing new pods there; pods already on the node stay.

const nodes = resourceByKind('Node')!;

/** Sets spec.unschedulable; returns false when the node was already in that state. */
export async function setUnschedulable(client: RestClient, name: string, unschedulable: boolean): Promise<boolean> {
  const node = (await client.get(nodes, '', name)) as Node;
  if (Boolean(node.spec?.unschedulable) === unschedulable) return false;
  await client.patch(nodes, '', name, { spec: { unschedulable: unschedulable ? true : null } });
  return true;
}

export async function runCordon(client: RestClient, io: Io, names: string[], unschedulable: boolean): Promise<number> {
  const verb = unschedulable ? 'cordoned' : 'uncordoned';
  for (const name of names) {
    const changed = await setUnschedulable(client, name, unschedulable);
    io.out(`node/${name} ${changed ? verb : `already ${verb}`}\n`);
  }
  return 0;
}
