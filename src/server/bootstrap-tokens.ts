import { randomInt } from 'node:crypto';
import { errors, isApiError, type FieldError } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import { secretHash } from '../bus/bootstrap-auth.js';
import type { BootstrapErrorReason } from '../bus/messages.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';

// Bootstrap tokens (kubeadm's format, `abcdef.0123456789abcdef`). The store keeps only a hash
// of the secret, under a resource name that is not in the API's resource table, so no generic
// list route can serve it; the token routes answer without the hash.

export const tokenResource = 'bootstraptokens';
export const tokenApiVersion = 'bootstrap.skiff.io/v1';
export const defaultTokenTtlSeconds = 24 * 3600;

interface StoredToken extends KObject {
  spec: { secretHash: string; expiration?: string; description?: string };
}

/** What the API shows about a token: never the secret, never its hash. */
export interface TokenInfo {
  id: string;
  created: string;
  /** Absent: never expires (ttl 0). */
  expires?: string;
  description: string;
}

export interface CreatedToken extends TokenInfo {
  /** `id.secret`: returned once, at creation, and never again. */
  token: string;
}

export type TokenLookup =
  | { ok: true; id: string; secretHash: string }
  | { ok: false; reason: Extract<BootstrapErrorReason, 'TokenNotFound' | 'TokenExpired'>; message: string };

const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
const randomText = (n: number) => Array.from({ length: n }, () => alphabet[randomInt(alphabet.length)]).join('');

export class BootstrapTokens {
  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  async create(opts: { ttlSeconds?: number; description?: string }): Promise<CreatedToken> {
    const ttl = opts.ttlSeconds ?? defaultTokenTtlSeconds;
    const errs: FieldError[] = [];
    if (!Number.isInteger(ttl) || ttl < 0) errs.push({ field: 'spec.ttlSeconds', type: 'FieldValueInvalid', value: ttl, detail: 'must be a whole number of seconds, 0 for a token that never expires' });
    if ((opts.description ?? '').length > 256) errs.push({ field: 'spec.description', type: 'FieldValueTooLong', detail: 'must be no more than 256 characters' });
    if (errs.length) throw errors.invalid('BootstrapToken', '', errs);
    for (;;) {
      const id = randomText(6);
      const secret = randomText(16);
      const obj: StoredToken = {
        apiVersion: tokenApiVersion,
        kind: 'BootstrapToken',
        metadata: { name: id },
        spec: {
          secretHash: secretHash(secret),
          ...(ttl > 0 ? { expiration: new Date(this.now() + ttl * 1000).toISOString() } : {}),
          ...(opts.description ? { description: opts.description } : {}),
        },
      };
      try {
        const stored = (await this.store.create(tokenResource, obj)) as StoredToken;
        this.log.info({ tokenId: id, expires: obj.spec.expiration ?? 'never' }, 'bootstrap token created');
        return { ...info(stored), token: `${id}.${secret}` };
      } catch (e) {
        // One in 2 billion: the id is taken; draw another.
        if (!isApiError(e, 'AlreadyExists')) throw e;
      }
    }
  }

  async list(): Promise<TokenInfo[]> {
    const { items } = await this.store.list(tokenResource);
    return (items as StoredToken[]).filter((t) => !this.expired(t)).map(info).sort((a, b) => a.created.localeCompare(b.created) || a.id.localeCompare(b.id));
  }

  async delete(id: string): Promise<TokenInfo> {
    try {
      const gone = (await this.store.delete({ resource: tokenResource, namespace: '', name: id })) as StoredToken;
      this.log.info({ tokenId: id }, 'bootstrap token deleted');
      return info(gone);
    } catch (e) {
      if (isApiError(e, 'NotFound')) throw errors.notFound('bootstraptokens', id);
      throw e;
    }
  }

  /** The check behind every bootstrap request: the token exists and has not expired. */
  async lookup(id: string): Promise<TokenLookup> {
    const t = (await this.store.get({ resource: tokenResource, namespace: '', name: id })) as StoredToken | undefined;
    if (!t) {
      return { ok: false, reason: 'TokenNotFound', message: `bootstrap token "${id}" was not found: it was never created or has been deleted; create a new one with 'ctl token create' on the control plane` };
    }
    if (this.expired(t)) {
      return { ok: false, reason: 'TokenExpired', message: `bootstrap token "${id}" expired at ${t.spec.expiration}; create a new one with 'ctl token create' on the control plane` };
    }
    return { ok: true, id, secretHash: t.spec.secretHash };
  }

  /** Deletes expired tokens; returns how many. */
  async sweepExpired(): Promise<number> {
    const { items } = await this.store.list(tokenResource);
    let n = 0;
    for (const t of items as StoredToken[]) {
      if (!this.expired(t)) continue;
      try {
        await this.store.delete({ resource: tokenResource, namespace: '', name: t.metadata.name! }, { expectedResourceVersion: t.metadata.resourceVersion });
        n++;
        this.log.info({ tokenId: t.metadata.name }, 'expired bootstrap token removed');
      } catch (e) {
        if (!isApiError(e, 'NotFound') && !isApiError(e, 'Conflict')) throw e;
      }
    }
    return n;
  }

  private expired(t: StoredToken): boolean {
    return t.spec.expiration !== undefined && Date.parse(t.spec.expiration) <= this.now();
  }
}

function info(t: StoredToken): TokenInfo {
  return {
    id: t.metadata.name!,
    created: t.metadata.creationTimestamp ?? '',
    ...(t.spec.expiration ? { expires: t.spec.expiration } : {}),
    description: t.spec.description ?? '',
  };
}
