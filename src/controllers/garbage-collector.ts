import { isApiError } from '../api/errors.js';
import { resourceByKind } from '../api/resources.js';
import type { KObject, OwnerReference } from '../api/types.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { deletePod } from './pods.js';
import { Controller, Informer, keyOf, splitKey, type ReconcileResult } from './runtime.js';

// Garbage collection through ownerReferences with background propagation: once none of an
// object's owners exists (same name and uid), the object is deleted, which in turn lets its own
// dependents go (a Deployment's ReplicaSets, then their pods). References to owners that are gone
// while another owner remains are removed.

export interface GarbageCollectorOptions {
  store: Store;
  log: Logger;
  /** Informers of the resources whose objects may have owners. */
  dependents: Informer[];
  /** Informers whose deletions may orphan dependents (owners and dependents may overlap). */
  owners: Informer[];
  resyncMs?: number;
}

const workKey = (resource: string, obj: KObject) => `${resource}|${keyOf(obj)}`;

export function garbageCollector(opts: GarbageCollectorOptions): Controller {
  const { store, log } = opts;
  const byResource = new Map(opts.dependents.map((i) => [i.resource, i]));
  const controller = new Controller({
    name: 'garbage-collector',
    log,
    reconcile,
    resyncMs: opts.resyncMs ?? 60_000,
    resyncKeys: () => opts.dependents.flatMap((i) => i.list().filter((o) => o.metadata.ownerReferences?.length).map((o) => workKey(i.resource, o))),
  });

  for (const i of opts.dependents) {
    i.onEvent((type, obj) => {
      if (type !== 'DELETED' && obj.metadata.ownerReferences?.length) controller.enqueue(workKey(i.resource, obj));
    });
  }
  for (const i of opts.owners) {
    i.onEvent((type, owner) => {
      if (type !== 'DELETED') return;
      const uid = owner.metadata.uid;
      for (const d of opts.dependents) {
        for (const obj of d.list(owner.metadata.namespace ?? '')) {
          if (obj.metadata.ownerReferences?.some((r) => r.uid === uid)) controller.enqueue(workKey(d.resource, obj));
        }
      }
    });
  }

  const ownerCaches = new Map(opts.owners.map((i) => [i.resource, i]));

  async function ownerExists(namespace: string, ref: OwnerReference): Promise<boolean> {
    const info = resourceByKind(ref.kind, ref.apiVersion);
    // An owner of a kind this cluster does not know is left alone rather than guessed gone.
    if (!info) return true;
    const ns = info.namespaced ? namespace : '';
    // Seen in the cache settles it; absent from the cache may only mean the cache lags, so the store decides.
    if (ownerCaches.get(info.plural)?.get(ns ? `${ns}/${ref.name}` : ref.name)?.metadata.uid === ref.uid) return true;
    const owner = await store.get({ resource: info.plural, namespace: ns, name: ref.name });
    return owner?.metadata.uid === ref.uid;
  }

  async function reconcile(key: string): Promise<ReconcileResult> {
    const [resource, objKey] = key.split('|') as [string, string];
    const obj = byResource.get(resource)?.get(objKey);
    const refs = obj?.metadata.ownerReferences ?? [];
    if (!obj || !refs.length) return;
    const { namespace, name } = splitKey(objKey);
    const gone: string[] = [];
    for (const ref of refs) if (!(await ownerExists(namespace, ref))) gone.push(ref.uid);
    if (!gone.length) return;

    if (gone.length === refs.length) {
      log.info({ resource, object: objKey, owners: refs.map((r) => `${r.kind}/${r.name}`) }, 'deleting an object whose owners are gone');
      if (resource === 'pods') return deletePod(store, namespace, name);
      try {
        await store.delete({ resource, namespace, name }, { expectedResourceVersion: obj.metadata.resourceVersion });
      } catch (e) {
        // Changed since the cache saw it: its event queues it again. Gone: done.
        if (!isApiError(e, 'NotFound') && !isApiError(e, 'Conflict')) throw e;
      }
      return;
    }
    await store.guaranteedUpdate({ resource, namespace, name }, (cur) => {
      if (cur.metadata.uid !== obj.metadata.uid) return undefined;
      return { ...cur, metadata: { ...cur.metadata, ownerReferences: (cur.metadata.ownerReferences ?? []).filter((r) => !gone.includes(r.uid)) } };
    });
  }

  return controller;
}

/** The resources whose objects the controllers give owners. */
export const dependentResources = ['pods', 'replicasets'];

/**
 * DELETE with propagationPolicy=Orphan: removes references to `owner` from its dependents, so
 * the garbage collector keeps them once the owner is gone. Returns how many were orphaned.
 */
export async function orphanDependents(store: Store, owner: KObject, resources: string[] = dependentResources): Promise<number> {
  const uid = owner.metadata.uid;
  let count = 0;
  for (const resource of resources) {
    const { items } = await store.list(resource, { namespace: owner.metadata.namespace ?? '', frozen: true, filter: (o) => !!o.metadata.ownerReferences?.some((r) => r.uid === uid) });
    for (const obj of items) {
      try {
        await store.guaranteedUpdate({ resource, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name! }, (cur) => {
          const refs = cur.metadata.ownerReferences ?? [];
          if (!refs.some((r) => r.uid === uid)) return undefined;
          return { ...cur, metadata: { ...cur.metadata, ownerReferences: refs.filter((r) => r.uid !== uid) } };
        });
        count++;
      } catch (e) {
        if (!isApiError(e, 'NotFound')) throw e;
      }
    }
  }
  return count;
}
