import type { Msg, NatsConnection, Subscription } from 'nats';
import { isApiError } from '../api/errors.js';
import type { Node } from '../api/types.js';
import { clusterInfoHmac, joinProof, sameDigest } from '../bus/bootstrap-auth.js';
import { receive } from '../bus/codec.js';
import { bootstrapFailure, codecs, type BootstrapError, type ClusterInfoReply, type JoinReply, type JoinRequest } from '../bus/messages.js';
import { subjects } from '../bus/subjects.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import type { BootstrapTokens } from './bootstrap-tokens.js';
import type { NodeCredentials } from './node-credentials.js';
import type { PodCidrAllocator } from './pod-cidr.js';

// The control plane's half of `ctl join`: answers cluster-info (the CA plus proof that the
// control plane holds the token) and join (checks the joiner's proof, signs its CSR, admits its
// nkey to nats-server, creates its Node). Both subjects are reachable without credentials, so
// every request is validated and every failure answered with a reason, never a crash.

export interface NodeCertificateIssuer {
  readonly caPem: string;
  /** Verifies the CSR's self-signature and issues a client certificate CN=system:node:NAME, O=system:nodes. */
  issueNodeCertificate(csrPem: string, nodeName: string): Promise<string>;
}

export interface NodeJoinDeps {
  nc: NatsConnection;
  tokens: BootstrapTokens;
  issuer: NodeCertificateIssuer;
  credentials: NodeCredentials;
  store: Store;
  /** Gives a joining node its pod subnet; without one, nodes get none. */
  allocator?: PodCidrAllocator;
  log: Logger;
}

export class NodeJoinService {
  private subs: Subscription[] = [];

  constructor(private readonly deps: NodeJoinDeps) {}

  start(): void {
    const { nc } = this.deps;
    this.subs.push(
      nc.subscribe(subjects.bootstrapClusterInfo, { callback: (err, msg) => !err && void this.respond(msg, codecs.clusterInfoReply, () => this.clusterInfo(msg)) }),
      nc.subscribe(subjects.bootstrapJoin, { callback: (err, msg) => !err && void this.respond(msg, codecs.joinReply, () => this.join(msg)) }),
    );
  }

  close(): void {
    for (const s of this.subs.splice(0)) s.unsubscribe();
  }

  private async respond<T>(msg: Msg, codec: { encode(v: T | BootstrapError): Uint8Array }, handle: () => Promise<T | BootstrapError>): Promise<void> {
    // Replies go only to a bootstrap inbox: a forged reply subject must not make this
    // privileged connection publish onto a node's subjects.
    if (!msg.reply?.startsWith(`${subjects.defaultInboxPrefix}.`)) {
      this.deps.log.warn({ subject: msg.subject, reply: msg.reply }, 'ignored a bootstrap request whose reply subject is not a bootstrap inbox');
      return;
    }
    let reply: T | BootstrapError;
    try {
      reply = await handle();
    } catch (e) {
      this.deps.log.error({ err: e, subject: msg.subject }, 'bootstrap request failed');
      reply = bootstrapFailure('Internal', `the control plane could not complete the request: ${(e as Error).message}; check the control plane's log and try again`);
    }
    msg.respond(codec.encode(reply));
  }

  private async clusterInfo(msg: Msg): Promise<ClusterInfoReply> {
    const req = receive(codecs.clusterInfoRequest, msg, this.deps.log);
    if (!req) return bootstrapFailure('Invalid', 'the cluster-info request is malformed; is the joining ctl the same version as the control plane?');
    const token = await this.deps.tokens.lookup(req.tokenId);
    if (!token.ok) {
      this.deps.log.warn({ tokenId: req.tokenId, reason: token.reason }, 'cluster-info refused');
      return bootstrapFailure(token.reason, token.message);
    }
    const caPem = this.deps.issuer.caPem;
    return { v: 1, ok: true, caPem, caHmac: clusterInfoHmac(token.secretHash, caPem) };
  }

  private async join(msg: Msg): Promise<JoinReply> {
    const { log } = this.deps;
    const req = receive(codecs.joinRequest, msg, log);
    if (!req) return bootstrapFailure('Invalid', 'the join request is malformed; is the joining ctl the same version as the control plane?');
    const token = await this.deps.tokens.lookup(req.tokenId);
    if (!token.ok) {
      log.warn({ tokenId: req.tokenId, node: req.nodeName, reason: token.reason }, 'join refused');
      return bootstrapFailure(token.reason, token.message);
    }
    const { proof, ...unsigned } = req;
    if (!sameDigest(proof, joinProof(token.secretHash, unsigned))) {
      log.warn({ tokenId: req.tokenId, node: req.nodeName }, 'join refused: proof does not match the token');
      return bootstrapFailure('ProofMismatch', `the join request's proof does not match bootstrap token "${req.tokenId}": the token secret is wrong`);
    }
    let certPem: string;
    try {
      certPem = await this.deps.issuer.issueNodeCertificate(req.csrPem, req.nodeName);
    } catch (e) {
      return bootstrapFailure('Invalid', `the certificate signing request was refused: ${(e as Error).message}`);
    }
    await this.ensureNode(req);
    let podCIDR: string | undefined;
    try {
      podCIDR = await this.deps.allocator?.allocate(req.nodeName);
    } catch (e) {
      return bootstrapFailure('Internal', (e as Error).message);
    }
    await this.deps.credentials.put(req.nodeName, req.nkeyPublic, req.tokenId);
    log.info({ node: req.nodeName, tokenId: req.tokenId, podCIDR }, 'node joined');
    return { v: 1, ok: true, nodeName: req.nodeName, certPem, caPem: this.deps.issuer.caPem, ...(podCIDR ? { podCIDR } : {}) };
  }

  /** Creates the Node, or keeps an existing one (the same node joining again keeps its object). */
  private async ensureNode(req: JoinRequest): Promise<void> {
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: req.nodeName, labels: {} },
      spec: {},
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'Unknown',
            reason: 'NodeStatusNeverUpdated',
            message: 'Kubelet never posted node status.',
            lastHeartbeatTime: new Date().toISOString(),
            lastTransitionTime: new Date().toISOString(),
          },
        ],
      },
    };
    try {
      await this.deps.store.create('nodes', node);
    } catch (e) {
      if (!isApiError(e, 'AlreadyExists')) throw e;
    }
  }
}
