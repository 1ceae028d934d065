import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { JoinRequest } from './messages.js';

// Message authentication of the join protocol, shared by the joiner and the control plane.
// Bootstrap tokens look like kubeadm's: `abcdef.0123456789abcdef` (id.secret). The control plane
// keeps only secretHash(secret); both sides key their HMACs with that hash, so the secret
// itself is never stored or sent, while the hash still proves possession of the token.

export const bootstrapTokenPattern = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

export interface BootstrapToken {
  id: string;
  secret: string;
}

/** Parses `id.secret`; returns an error text naming the expected format when malformed. */
export function parseBootstrapToken(text: string): BootstrapToken | { error: string } {
  const m = bootstrapTokenPattern.exec(text.trim());
  if (!m) {
    return { error: `token "${redact(text)}" is malformed: expected 6 and 16 characters of [a-z0-9] joined by a dot, like "abcdef.0123456789abcdef"` };
  }
  return { id: m[1], secret: m[2] };
}

/** Shows a token without its secret, for messages. */
export function redact(text: string): string {
  const dot = text.indexOf('.');
  return dot < 0 ? text.slice(0, 6) : `${text.slice(0, dot)}.<secret>`;
}

/** The only form of the secret the control plane stores: `sha256:` + hex. */
export function secretHash(secret: string): string {
  return `sha256:${createHash('sha256').update(`skiff-bootstrap-token-secret:${secret}`).digest('hex')}`;
}

function hmac(key: string, purpose: string, data: string): string {
  return createHmac('sha256', key).update(purpose).update('\n').update(data).digest('hex');
}

/** Proof, sent with cluster-info, that the control plane holds the token the joiner was given. */
export function clusterInfoHmac(hash: string, caPem: string): string {
  return hmac(hash, 'skiff cluster-info v1', caPem);
}

/** The canonical bytes a join proof covers: every field of the request but the proof. */
export function joinProofInput(req: Omit<JoinRequest, 'proof'>): string {
  return JSON.stringify(['skiff join v1', req.v, req.tokenId, req.nodeName, req.csrPem, req.nkeyPublic]);
}

export function joinProof(hash: string, req: Omit<JoinRequest, 'proof'>): string {
  return hmac(hash, 'skiff join v1', joinProofInput(req));
}

/** Constant-time comparison of two hex digests. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
