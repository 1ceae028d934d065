import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { deploymentController } from './deployment.js';
import { garbageCollector } from './garbage-collector.js';
import type { PodAdmission, ReplicaSetAdmission } from './pods.js';
import { replicaController, replicaSetKind, replicationControllerKind } from './replicaset.js';
import { NamespaceLocks, resourceQuotaController } from './resource-quota.js';
import { Controller, Informer } from './runtime.js';
import { taintEvictionController } from './taint-eviction.js';

// Starts every controller over shared informers; the control plane stops them on close.

export interface ControllersOptions {
  /** Run on each pod a controller creates, after defaulting (the API server's admission and create-time fields). */
  admitPod?: PodAdmission;
  /** Run on each ReplicaSet a Deployment creates (the API server's admission). */
  admitReplicaSet?: ReplicaSetAdmission;
  /** Shared with the API server's quota admission; default: the controller's own. */
  quotaLocks?: NamespaceLocks;
  resyncMs?: number;
}

export interface Controllers {
  /** Resolves once every informer has its first list. */
  readonly ready: Promise<void>;
  /** True when no controller has work queued or running. */
  idle(): boolean;
  stop(): Promise<void>;
}

export function startControllers(store: Store, log: Logger, opts: ControllersOptions = {}): Controllers {
  const informer = (resource: string) => new Informer(store, resource, log.child({ informer: resource }));
  const informers = {
    pods: informer('pods'),
    replicasets: informer('replicasets'),
    replicationcontrollers: informer('replicationcontrollers'),
    deployments: informer('deployments'),
    nodes: informer('nodes'),
    resourcequotas: informer('resourcequotas'),
  };
  const common = { store, pods: informers.pods, admitPod: opts.admitPod, resyncMs: opts.resyncMs };
  const controllers: Controller[] = [
    replicaController({ ...common, log: log.child({ controller: 'replicaset' }), owners: informers.replicasets, kind: replicaSetKind }),
    replicaController({ ...common, log: log.child({ controller: 'replicationcontroller' }), owners: informers.replicationcontrollers, kind: replicationControllerKind }),
    deploymentController({ store, log: log.child({ controller: 'deployment' }), deployments: informers.deployments, replicasets: informers.replicasets, admitReplicaSet: opts.admitReplicaSet, resyncMs: opts.resyncMs }),
    garbageCollector({
      store,
      log: log.child({ controller: 'garbage-collector' }),
      dependents: [informers.pods, informers.replicasets],
      owners: [informers.deployments, informers.replicasets, informers.replicationcontrollers],
      resyncMs: opts.resyncMs,
    }),
    resourceQuotaController({ store, log: log.child({ controller: 'resourcequota' }), quotas: informers.resourcequotas, pods: informers.pods, locks: opts.quotaLocks ?? new NamespaceLocks(), resyncMs: opts.resyncMs }),
    taintEvictionController({ store, log: log.child({ controller: 'taint-eviction' }), nodes: informers.nodes, pods: informers.pods }),
  ];
  for (const c of controllers) c.start();
  for (const i of Object.values(informers)) i.start();
  return {
    ready: Promise.all(Object.values(informers).map((i) => i.ready)).then(() => undefined),
    idle: () => controllers.every((c) => c.idle),
    async stop() {
      await Promise.all(controllers.map((c) => c.stop()));
      await Promise.all(Object.values(informers).map((i) => i.stop()));
    },
  };
}
