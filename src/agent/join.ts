import { createUser } from 'nkeys.js';
import type { NatsConnection } from 'nats';
import { clusterInfoHmac, joinProof, parseBootstrapToken, sameDigest, secretHash } from '../bus/bootstrap-auth.js';
import { connectBus, type ServerTrust } from '../bus/connection.js';
import type { Codec } from '../bus/codec.js';
import { codecs, nodeNameSchema, type JoinRequest } from '../bus/messages.js';
import { subjects } from '../bus/subjects.js';
import type { Logger } from '../log/logger.js';
import { isJoined, saveIdentity, type AgentIdentity } from './identity.js';

// The joining side of `ctl join`, in kubeadm's order: fetch the CA over an unverified TLS link,
// pin it by hash and check the control plane's proof that it holds the token, and only then,
// over TLS verified against that CA, send a CSR and an nkey made here. The token secret never
// travels, and nothing is written to disk unless every step succeeded.

export interface JoinCrypto {
  /** `sha256:<hex>` over the certificate's DER SubjectPublicKeyInfo, as kubeadm computes it. */
  caCertHash(caPem: string): string;
  /** A new private key (PEM) and a CSR for it naming the node. */
  nodeKeyAndCsr(nodeName: string): Promise<{ keyPem: string; csrPem: string }>;
}

export interface JoinOptions {
  server: string;
  token: string;
  caCertHash: string;
  nodeName: string;
  dataDir: string;
  labels: Record<string, string>;
  containerRuntimeEndpoint?: string;
  metricsBindAddress?: string;
  crypto: JoinCrypto;
  log: Logger;
  requestTimeoutMs?: number;
}

/** A refusal the user can act on; its message says which check failed. */
export class JoinError extends Error {
  override name = 'JoinError';
}

const caHashPattern = /^sha256:[0-9a-f]{64}$/;

/** `nats://host:port`; a bare host:port gets the scheme, a bare host the default port. */
export function normalizeServerUrl(text: string): string {
  const withScheme = /^[a-z]+:\/\//.test(text) ? text : `nats://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new JoinError(`"${text}" is not a NATS address: expected nats://HOST:PORT, like nats://10.0.0.2:4222`);
  }
  if (url.protocol !== 'nats:' && url.protocol !== 'tls:') throw new JoinError(`"${text}" is not a NATS address: use nats://HOST:PORT`);
  return `nats://${url.hostname}:${url.port || '4222'}`;
}

export async function joinCluster(opts: JoinOptions): Promise<AgentIdentity> {
  const { log } = opts;
  const token = parseBootstrapToken(opts.token);
  if ('error' in token) throw new JoinError(`--token: ${token.error}`);
  const pin = opts.caCertHash.trim().toLowerCase();
  if (!caHashPattern.test(pin)) {
    throw new JoinError(
      `--discovery-token-ca-cert-hash "${opts.caCertHash}" is malformed: expected "sha256:" and 64 hexadecimal digits, as printed by 'ctl token create --print-join-command' or logged by 'ctl server'`,
    );
  }
  const nodeName = nodeNameSchema.safeParse(opts.nodeName);
  if (!nodeName.success) throw new JoinError(`--node-name "${opts.nodeName}": ${nodeName.error.issues[0].message}`);
  if (isJoined(opts.dataDir)) {
    throw new JoinError(`this machine has already joined a cluster (identity in ${opts.dataDir}); start it with 'ctl agent', or run 'ctl reset' first to join again`);
  }
  const server = normalizeServerUrl(opts.server);
  const hash = secretHash(token.secret);

  // 1. Discovery: the CA, over TLS that cannot be verified yet.
  const info = await withConnection(server, { kind: 'unverified' }, log, async (nc) => {
    const reply = await request(nc, subjects.bootstrapClusterInfo, codecs.clusterInfoRequest, { v: 1, tokenId: token.id }, codecs.clusterInfoReply, opts);
    if (!reply.ok) throw new JoinError(`the control plane refused the token: ${reply.error.message}`);
    return reply;
  });
  const { caPem } = info;

  // 2. Pin the CA, then check the control plane's proof of the token.
  const actual = opts.crypto.caCertHash(caPem);
  if (actual !== pin) {
    throw new JoinError(
      `CA certificate hash mismatch: the control plane at ${server} presented a CA with hash ${actual}, but --discovery-token-ca-cert-hash is ${pin}; ` +
        'check the hash (ctl server logs it) or the address: this may not be your control plane',
    );
  }
  if (!sameDigest(info.caHmac, clusterInfoHmac(hash, caPem))) {
    throw new JoinError(
      `token secret mismatch: the control plane could not prove it holds bootstrap token "${token.id}" (its signature on the cluster CA does not match this token's secret); check the token`,
    );
  }
  log.info({ caCertHash: actual }, 'cluster CA matches the pinned hash and the control plane holds the token');

  return withConnection(server, { kind: 'ca', caPem }, log, async (nc) => {
    // 3. Identity made here: a key pair with a CSR and an nkey pair.
    const { keyPem, csrPem } = await opts.crypto.nodeKeyAndCsr(nodeName.data);
    const nkey = createUser();
    const unsigned: Omit<JoinRequest, 'proof'> = { v: 1, tokenId: token.id, nodeName: nodeName.data, csrPem, nkeyPublic: nkey.getPublicKey() };
    const joined = await request(nc, subjects.bootstrapJoin, codecs.joinRequest, { ...unsigned, proof: joinProof(hash, unsigned) }, codecs.joinReply, opts);
    if (!joined.ok) throw new JoinError(`the control plane refused to join this node: ${joined.error.message}`);

    // 4. Saved only now that everything succeeded.
    const identity: AgentIdentity = {
      nodeName: nodeName.data,
      server,
      labels: opts.labels,
      ...(opts.containerRuntimeEndpoint ? { containerRuntimeEndpoint: opts.containerRuntimeEndpoint } : {}),
      ...(opts.metricsBindAddress ? { metricsBindAddress: opts.metricsBindAddress } : {}),
      ...(joined.podCIDR ? { assignedPodCidr: joined.podCIDR } : {}),
      joinedAt: new Date().toISOString(),
      caPem,
      certPem: joined.certPem,
      keyPem,
      nkeySeed: new TextDecoder().decode(nkey.getSeed()),
    };
    await saveIdentity(opts.dataDir, identity);
    log.info({ node: identity.nodeName, dataDir: opts.dataDir }, 'joined the cluster; identity saved');
    return identity;
  });
}

async function withConnection<T>(
  server: string,
  trust: ServerTrust,
  log: Logger,
  body: (nc: NatsConnection) => Promise<T>,
): Promise<T> {
  let nc: NatsConnection;
  try {
    nc = await connectBus({ servers: server, name: 'skiff-join', trust, persistent: false, log });
  } catch (e) {
    const why = (e as Error).message;
    if (trust.kind === 'ca' && /certificate|self.signed|altname|verify/i.test(why)) {
      throw new JoinError(`the control plane at ${server} is not serving a certificate from the pinned CA: ${why}`);
    }
    throw new JoinError(`cannot reach the control plane's NATS at ${server}: ${why}; check the address and that 'ctl server' is running and reachable`);
  }
  try {
    return await body(nc);
  } finally {
    await nc.close();
  }
}

async function request<Q, R>(nc: NatsConnection, subject: string, reqCodec: Codec<Q>, req: Q, replyCodec: Codec<R>, opts: JoinOptions): Promise<R> {
  let data: Uint8Array;
  try {
    data = (await nc.request(subject, reqCodec.encode(req), { timeout: opts.requestTimeoutMs ?? 10_000 })).data;
  } catch (e) {
    throw new JoinError(`no answer from the control plane on ${subject}: ${(e as Error).message}; is 'ctl server' running behind this NATS address?`);
  }
  const d = replyCodec.decode(data);
  if (!d.ok) throw new JoinError(`the control plane sent an unreadable reply (${d.reason}); are ctl versions on both machines the same?`);
  return d.value;
}
