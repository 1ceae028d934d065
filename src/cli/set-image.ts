import { isApiError } from '../api/errors.js';
import type { Container, KObject, PodSpec } from '../api/types.js';
import { CliError } from './errors.js';
import type { Io } from './io.js';
import { objectRef, parseTargets } from './kinds.js';
import type { RestClient } from './rest-client.js';

// `ctl set image KIND/NAME CONTAINER=IMAGE... ` (`*=IMAGE` for every container), as kubectl
// does it: the containers and init containers of the object's pod spec get the new images; a
// container name that matches none is an error that names it. The write is a whole-object
// update carrying the read resourceVersion, retried when someone else wrote in between.

export interface ImageChange {
  container: string;
  image: string;
}

/** Splits the arguments into targets (`KIND NAME` or `KIND/NAME`) and `CONTAINER=IMAGE` pairs. */
export function parseSetImageArgs(args: string[]): { targetArgs: string[]; changes: ImageChange[] } {
  const targetArgs = args.filter((a) => !a.includes('='));
  const changes: ImageChange[] = [];
  for (const a of args.filter((x) => x.includes('='))) {
    const eq = a.indexOf('=');
    const container = a.slice(0, eq);
    const image = a.slice(eq + 1);
    if (!container || !image) throw new CliError(`invalid image update ${JSON.stringify(a)}: use CONTAINER=IMAGE, or *=IMAGE for every container`);
    changes.push({ container, image });
  }
  if (changes.length === 0) throw new CliError("at least one image update is required, e.g. 'ctl set image deployment/web web=nginx:1.27'");
  if (targetArgs.length === 0) throw new CliError("you must say what to update, e.g. 'ctl set image deployment/web web=nginx:1.27'");
  return { targetArgs, changes };
}

/** The pod spec inside an object of a kind that has one. */
export function podSpecOf(obj: KObject): PodSpec | undefined {
  const path = podSpecPaths[obj.kind];
  if (!path) return undefined;
  const found = path.reduce<unknown>((o, k) => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined), obj);
  return typeof found === 'object' && found !== null ? (found as PodSpec) : undefined;
}

const podSpecPaths: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

/**
 * Applies the changes to `obj` in place; returns whether any image changed. Throws naming the
 * first container that matches none.
 */
export function applyImageChanges(obj: KObject, changes: ImageChange[]): boolean {
  const spec = podSpecOf(obj);
  if (!spec) throw new CliError(`a ${obj.kind} has no pod template, so it has no images to set`);
  const containers: Container[] = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  let changed = false;
  for (const { container, image } of changes) {
    const matched = containers.filter((c) => container === '*' || c.name === container);
    if (matched.length === 0) {
      const names = containers.map((c) => c.name).join(', ');
      throw new CliError(`unable to find container named ${JSON.stringify(container)} in ${obj.kind.toLowerCase()} ${JSON.stringify(obj.metadata.name)} (its containers: ${names})`);
    }
    for (const c of matched) {
      if (c.image !== image) changed = true;
      c.image = image;
    }
  }
  return changed;
}

export async function runSetImage(client: RestClient, io: Io, args: string[], opts: { namespace: string }): Promise<number> {
  const { targetArgs, changes } = parseSetImageArgs(args);
  const targets = parseTargets(targetArgs);
  if (targets.every((t) => t.names.length === 0)) throw new CliError(`you must name the ${targetArgs[0]} to update: 'ctl set image ${targetArgs[0]} NAME CONTAINER=IMAGE'`);
  for (const t of targets) {
    for (const name of t.names) {
      const ns = t.info.namespaced ? opts.namespace : '';
      for (let attempt = 0; ; attempt++) {
        const obj = await client.get(t.info, ns, name);
        if (!applyImageChanges(obj, changes)) break;
        try {
          await client.update(t.info, ns, obj);
          break;
        } catch (e) {
          if (!isApiError(e, 'Conflict') || attempt >= 4) throw e;
        }
      }
      io.out(`${objectRef(t.info, name)} image updated\n`);
    }
  }
  return 0;
}
