import type { ResourceInfo } from '../api/resources.js';
import type { KObject } from '../api/types.js';
import { CliError } from './errors.js';

// Which namespace a command acts in: `-n`, else the kubeconfig context's namespace; `-A` means all.

export interface NamespaceChoice {
  namespace: string;
  /** `-n` was given: an object naming another namespace is then an error, as in kubectl. */
  explicit: boolean;
}

/** The namespace an object from a manifest goes to. Cluster-scoped kinds have none (''). */
export function namespaceFor(info: ResourceInfo, obj: KObject, choice: NamespaceChoice): string {
  if (!info.namespaced) return '';
  const own = obj.metadata.namespace;
  if (own && choice.explicit && own !== choice.namespace) {
    throw new CliError(
      `the namespace from the provided object ${JSON.stringify(own)} does not match the namespace ${JSON.stringify(choice.namespace)}. ` +
        `You must pass '--namespace=${own}' to perform this operation.`,
    );
  }
  return own || choice.namespace;
}
