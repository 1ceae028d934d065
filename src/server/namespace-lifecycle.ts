import { errors } from '../api/errors.js';
import { groupResource } from '../api/resources.js';
import type { Store } from '../store/store.js';
import type { AdmissionPlugin } from './admission.js';

// Kubernetes' NamespaceLifecycle admission: objects are made only in namespaces that exist and
// are not being deleted, and the namespaces the cluster itself relies on cannot be deleted.

const undeletable = new Set(['default', 'kube-system', 'kube-public']);

export function namespaceLifecycle(store: Store): AdmissionPlugin {
  return {
    name: 'NamespaceLifecycle',
    async admit(req) {
      if (req.operation === 'DELETE' && req.info.kind === 'Namespace' && undeletable.has(req.name)) {
        throw errors.forbidden('namespaces', req.name, 'this namespace may not be deleted');
      }
      if (req.operation === 'CREATE' && req.info.namespaced) {
        const ns = await store.get({ resource: 'namespaces', namespace: '', name: req.namespace }, { frozen: true });
        if (!ns) throw errors.notFound('namespaces', req.namespace);
        if ((ns.status as { phase?: string } | undefined)?.phase === 'Terminating') {
          throw errors.forbidden(groupResource(req.info), req.name, `unable to create new content in namespace ${req.namespace} because it is being terminated`);
        }
      }
    },
  };
}
