import { ApiError, errors } from '../api/errors.js';
import type { ResourceInfo } from '../api/resources.js';
import type { KObject } from '../api/types.js';
import type { UserInfo } from './authn.js';

// Admission: an ordered list of plugins every write passes after defaulting and validation and
// before the store. A plugin may change `request.object` (mutating, e.g. LimitRange defaults)
// or refuse the write by throwing an ApiError (validating, e.g. ResourceQuota). The first
// refusal stops the chain.

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface AdmissionRequest {
  operation: AdmissionOperation;
  info: ResourceInfo;
  /** '' for cluster-scoped kinds. */
  namespace: string;
  name: string;
  subresource?: 'status' | 'scale';
  /** The object to be stored (for DELETE: the object being deleted). Plugins may change it. */
  object: KObject;
  /** The stored object, on UPDATE and DELETE. */
  oldObject?: KObject;
  user: UserInfo;
  /** `?dryRun=All`: nothing will be stored, so a plugin must leave no side effects (e.g. quota usage). */
  dryRun?: boolean;
}

export interface AdmissionPlugin {
  /** Named in logs and in errors a plugin fails with unexpectedly. */
  readonly name: string;
  admit(request: AdmissionRequest): void | Promise<void>;
}

export class AdmissionChain {
  constructor(
    private readonly plugins: readonly AdmissionPlugin[] = [],
    private readonly dryRun = false,
  ) {}

  /** The same plugins for dry-run requests: each request they see has `dryRun` set. */
  forDryRun(): AdmissionChain {
    return new AdmissionChain(this.plugins, true);
  }

  get names(): string[] {
    return this.plugins.map((p) => p.name);
  }

  /** Runs every plugin in order; an ApiError passes through, anything else becomes an InternalError naming the plugin. */
  async admit(request: AdmissionRequest): Promise<void> {
    if (this.dryRun) request.dryRun = true;
    for (const plugin of this.plugins) {
      try {
        await plugin.admit(request);
      } catch (e) {
        if (e instanceof ApiError) throw e;
        throw errors.internal(`admission plugin ${plugin.name} failed: ${(e as Error)?.message ?? String(e)}`, e);
      }
    }
  }
}
