import { isApiError } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import type { NodeNatsUser } from './nats-config.js';

// Which nkey each joined node authenticates with on NATS. Kept in the store (outside the API's
// resource table) so nats-server's users survive a control-plane restart; every change is
// pushed to nats-server by `apply` (the supervisor's reload).

export const credentialsResource = 'nodecredentials';

interface StoredCredentials extends KObject {
  spec: { nkeyPublic: string; tokenId: string };
}

export class NodeCredentials {
  constructor(
    private readonly store: Store,
    private readonly apply: (users: NodeNatsUser[]) => Promise<void>,
    private readonly log: Logger,
  ) {}

  async users(): Promise<NodeNatsUser[]> {
    const { items } = await this.store.list(credentialsResource, { frozen: true });
    return (items as StoredCredentials[]).map((c) => ({ nodeName: c.metadata.name!, nkeyPublic: c.spec.nkeyPublic }));
  }

  /** Sets the node's nkey, replacing an earlier one (a node joining again), and reloads nats-server. */
  async put(nodeName: string, nkeyPublic: string, tokenId: string): Promise<void> {
    const obj: StoredCredentials = { apiVersion: 'v1', kind: 'NodeCredentials', metadata: { name: nodeName }, spec: { nkeyPublic, tokenId } };
    const key = { resource: credentialsResource, namespace: '', name: nodeName };
    if (await this.store.get(key)) await this.store.guaranteedUpdate(key, (cur) => ({ ...cur, spec: obj.spec }));
    else await this.store.create(credentialsResource, obj);
    await this.apply(await this.users());
    this.log.info({ node: nodeName, nkey: nkeyPublic, tokenId }, 'node credentials set');
  }

  /** Removes credentials whose Node no longer exists (`ctl delete node`); their connections are closed by the reload. */
  async removeOrphans(): Promise<string[]> {
    // Credentials first: a join creates the Node before its credentials, so every credential
    // read here has had its Node for longer than the node list below has existed.
    const creds = (await this.store.list(credentialsResource, { frozen: true })).items;
    const nodes = new Set((await this.store.list('nodes', { frozen: true })).items.map((n) => n.metadata.name));
    const removed: string[] = [];
    for (const c of creds) {
      if (nodes.has(c.metadata.name)) continue;
      try {
        await this.store.delete({ resource: credentialsResource, namespace: '', name: c.metadata.name! }, { expectedResourceVersion: c.metadata.resourceVersion });
        removed.push(c.metadata.name!);
      } catch (e) {
        if (!isApiError(e, 'NotFound') && !isApiError(e, 'Conflict')) throw e;
      }
    }
    if (removed.length) {
      await this.apply(await this.users());
      this.log.info({ nodes: removed }, 'revoked the NATS credentials of deleted nodes');
    }
    return removed;
  }
}
