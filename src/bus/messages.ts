import { z } from 'zod';
import { jsonCodec } from './codec.js';

// The messages of the NATS protocol between the control plane and nodes. Each carries `v: 1`;
// a change that old peers cannot read gets a new version and a new schema beside this one.

const v1 = z.literal(1);

export const tokenIdSchema = z.string().regex(/^[a-z0-9]{6}$/, 'must be 6 characters of [a-z0-9]');
const hmacHex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hexadecimal digits (HMAC-SHA256)');
export const nodeNameSchema = z
  .string()
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    "must be a lowercase RFC 1123 subdomain: lower case alphanumeric characters, '-' or '.', starting and ending with an alphanumeric character",
  );
const ipv4Cidr = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, 'must be an IPv4 CIDR like 10.42.1.0/24');
const ipv4 = z.string().regex(/^(\d{1,3}\.){3}\d{1,3}$/, 'must be an IPv4 address');
/** A user nkey: 'U' and 55 more base32 characters. */
const nkeyUserPublic = z.string().regex(/^U[A-Z2-7]{55}$/, 'must be an nkey user public key (U...)');
const pem = (label: string) => z.string().max(64 * 1024).includes(`-----BEGIN ${label}-----`, { message: `must be a PEM ${label}` });

/** Why the control plane refused a bootstrap request. */
export const bootstrapErrorReasons = ['TokenNotFound', 'TokenExpired', 'ProofMismatch', 'Invalid', 'Internal'] as const;
export type BootstrapErrorReason = (typeof bootstrapErrorReasons)[number];
const bootstrapError = z.object({ v: v1, ok: z.literal(false), error: z.object({ reason: z.enum(bootstrapErrorReasons), message: z.string() }) });
export type BootstrapError = z.infer<typeof bootstrapError>;

// ---- bootstrap (clients without credentials) -----------------------------------------------

export const clusterInfoRequestSchema = z.object({ v: v1, tokenId: tokenIdSchema });
export type ClusterInfoRequest = z.infer<typeof clusterInfoRequestSchema>;

/** Public by design: the bootstrap user may read every reply, so nothing here is secret. */
export const clusterInfoReplySchema = z.discriminatedUnion('ok', [
  z.object({
    v: v1,
    ok: z.literal(true),
    caPem: pem('CERTIFICATE'),
    /** HMAC-SHA256 of caPem keyed by the token: proves the control plane holds the token. */
    caHmac: hmacHex,
  }),
  bootstrapError,
]);
export type ClusterInfoReply = z.infer<typeof clusterInfoReplySchema>;

export const joinRequestSchema = z.object({
  v: v1,
  tokenId: tokenIdSchema,
  nodeName: nodeNameSchema,
  csrPem: pem('CERTIFICATE REQUEST'),
  nkeyPublic: nkeyUserPublic,
  /** HMAC-SHA256 over joinProofInput(request) keyed by the token: the secret itself never travels. */
  proof: hmacHex,
});
export type JoinRequest = z.infer<typeof joinRequestSchema>;

export const joinReplySchema = z.discriminatedUnion('ok', [
  z.object({
    v: v1,
    ok: z.literal(true),
    nodeName: nodeNameSchema,
    certPem: pem('CERTIFICATE'),
    caPem: pem('CERTIFICATE'),
    /** The node's pod subnet from --cluster-cidr; absent from control planes that assign none. */
    podCIDR: ipv4Cidr.optional(),
  }),
  bootstrapError,
]);
export type JoinReply = z.infer<typeof joinReplySchema>;

// ---- node → control plane ------------------------------------------------------------------

const quantity = z.union([z.string().max(64), z.number()]);
const stringMap = z.record(z.string().max(317), z.string().max(63));

/** What a node knows about itself; sent on connect, on every reconnect and when it changes. */
export const nodeStatusReportSchema = z.object({
  v: v1,
  nodeName: nodeNameSchema,
  labels: stringMap,
  addresses: z.array(z.object({ type: z.string().max(32), address: z.string().max(253) })).max(32),
  capacity: z.record(z.string().max(253), quantity),
  allocatable: z.record(z.string().max(253), quantity),
  nodeInfo: z.object({
    machineID: z.string().max(128).optional(),
    bootID: z.string().max(128).optional(),
    kernelVersion: z.string().max(256),
    osImage: z.string().max(256),
    containerRuntimeVersion: z.string().max(256),
    kubeletVersion: z.string().max(64),
    operatingSystem: z.string().max(32),
    architecture: z.string().max(32),
  }),
  /** Where the agent serves /metrics, for Node.status.daemonEndpoints and Prometheus discovery. */
  metricsEndpoint: z.object({ host: z.string().min(1).max(253), port: z.number().int().min(1).max(65535) }).optional(),
});
export type NodeStatusReport = z.infer<typeof nodeStatusReportSchema>;

/** The heartbeat: cheap, frequent, never written to the store as such. */
export const leaseRenewalSchema = z.object({
  v: v1,
  nodeName: nodeNameSchema,
  /** The node's clock, for logs only: the control plane judges freshness by its own clock. */
  renewTime: z.iso.datetime(),
});
export type LeaseRenewal = z.infer<typeof leaseRenewalSchema>;

// ---- control plane → node ------------------------------------------------------------------

/** Asks a node to send everything again (after a control-plane restart, for example). */
export const resyncRequestSchema = z.object({ v: v1, reason: z.string().max(256) });
export type ResyncRequest = z.infer<typeof resyncRequestSchema>;


/**
 * The pod network, sent whole (level-triggered) and the same for every node, so it is built and
 * encoded once: every node with a pod subnet, with its IPv4 InternalIP when it has one. A node
 * takes its own subnet from its entry and keeps a route to every other node's; a subnet missing
 * here has its route removed.
 */
export const podNetworkSchema = z.object({
  v: v1,
  nodes: z.array(z.object({ name: nodeNameSchema, podCIDR: ipv4Cidr, internalIP: ipv4.optional() })).max(5000),
});
export type PodNetwork = z.infer<typeof podNetworkSchema>;

// ---- pods ----------------------------------------------------------------------------------

const podRef = {
  namespace: z.string().min(1).max(63),
  name: z.string().min(1).max(253),
  uid: z.string().min(1).max(64),
};

/**
 * A pod as the agent needs it. Only identity is checked here: the API server validated the
 * spec when it was written, and the agent reads the fields it knows.
 */
const desiredPod = z.looseObject({
  apiVersion: z.string(),
  kind: z.literal('Pod'),
  metadata: z.looseObject({ ...podRef, deletionTimestamp: z.string().optional(), deletionGracePeriodSeconds: z.number().int().min(0).optional() }),
  spec: z.looseObject({ containers: z.array(z.looseObject({ name: z.string() })).min(1), nodeName: z.string().optional() }),
  status: z.looseObject({}).optional(),
});

const revision = z.number().int().min(0);

/**
 * A node's pods, either whole (`pods`: a pod missing there is to be removed) or as the changes
 * since the message at revision `since` (`changed` replaces, `removed` goes). A node that does
 * not hold `since` asks for the whole list again; the control plane also resends it periodically.
 */
export const podAssignmentSchema = z.union([
  z.object({ v: v1, nodeName: nodeNameSchema, revision, pods: z.array(desiredPod) }),
  z.object({ v: v1, nodeName: nodeNameSchema, revision, since: revision, changed: z.array(desiredPod), removed: z.array(z.object({ namespace: podRef.namespace, name: podRef.name })) }),
]);
export type PodAssignment = z.infer<typeof podAssignmentSchema>;
export type DesiredPod = z.infer<typeof desiredPod>;

/** A node asks for its pods again: after it (re)connects. */
export const podSyncRequestSchema = z.object({ v: v1, nodeName: nodeNameSchema, reason: z.string().max(256) });
export type PodSyncRequest = z.infer<typeof podSyncRequestSchema>;

const containerState = z.object({
  waiting: z.object({ reason: z.string().max(128).optional(), message: z.string().max(4096).optional() }).optional(),
  running: z.object({ startedAt: z.string().optional() }).optional(),
  terminated: z
    .object({
      exitCode: z.number().int(),
      signal: z.number().int().optional(),
      reason: z.string().max(128).optional(),
      message: z.string().max(4096).optional(),
      startedAt: z.string().optional(),
      finishedAt: z.string().optional(),
      containerID: z.string().max(256).optional(),
    })
    .optional(),
});
const containerStatus = z.object({
  name: z.string().max(63),
  state: containerState.optional(),
  lastState: containerState.optional(),
  ready: z.boolean(),
  restartCount: z.number().int().min(0),
  image: z.string().max(1024),
  imageID: z.string().max(1024),
  containerID: z.string().max(256).optional(),
  started: z.boolean().optional(),
});
export const podStatusSchema = z.object({
  phase: z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']),
  conditions: z
    .array(
      z.object({
        type: z.string().max(64),
        status: z.enum(['True', 'False', 'Unknown']),
        reason: z.string().max(128).optional(),
        message: z.string().max(4096).optional(),
        lastProbeTime: z.string().nullable().optional(),
        lastTransitionTime: z.string().optional(),
      }),
    )
    .max(32),
  message: z.string().max(4096).optional(),
  reason: z.string().max(128).optional(),
  hostIP: z.string().max(64).optional(),
  podIP: z.string().max(64).optional(),
  podIPs: z.array(z.object({ ip: z.string().max(64) })).max(4).optional(),
  startTime: z.string().optional(),
  initContainerStatuses: z.array(containerStatus).max(64).optional(),
  containerStatuses: z.array(containerStatus).max(64).optional(),
  qosClass: z.enum(['Guaranteed', 'Burstable', 'BestEffort']).optional(),
});

/**
 * One pod's status as the node sees it. `terminated: true` says the pod's containers and sandbox
 * are gone from the node, so a pod being deleted may now be removed from the store.
 */
export const podStatusReportSchema = z.object({ v: v1, nodeName: nodeNameSchema, ...podRef, status: podStatusSchema, terminated: z.boolean().optional() });
export type PodStatusReport = z.infer<typeof podStatusReportSchema>;

export const podEventSchema = z.object({
  ...podRef,
  /** `spec.containers{name}`, as Kubernetes names the part of the pod an event is about. */
  fieldPath: z.string().max(256).optional(),
  type: z.enum(['Normal', 'Warning']),
  reason: z.string().min(1).max(128),
  message: z.string().max(4096),
  timestamp: z.iso.datetime(),
});
export type PodEvent = z.infer<typeof podEventSchema>;
export const podEventsSchema = z.object({ v: v1, nodeName: nodeNameSchema, events: z.array(podEventSchema).max(1000) });
export type PodEvents = z.infer<typeof podEventsSchema>;

// ---- container logs (a request the control plane sends a node; the node replies) ----------

/**
 * One read of a container's CRI log file. Without `offset` it reads the file from the start
 * (or its last `tailLines`); with `offset` it continues from there, which is how `logs -f`
 * follows: the API server asks again with the offset of the last reply (no state on the node).
 */
export const podLogRequestSchema = z.object({
  v: v1,
  ...podRef,
  container: z.string().min(1).max(63),
  previous: z.boolean(),
  timestamps: z.boolean(),
  tailLines: z.number().int().min(0).optional(),
  /** Byte offset in the file of `attempt` to continue from. */
  offset: z.number().int().min(0).optional(),
  attempt: z.number().int().min(0).optional(),
});
export type PodLogRequest = z.infer<typeof podLogRequestSchema>;

export const podLogReplySchema = z.discriminatedUnion('ok', [
  z.object({
    v: v1,
    ok: z.literal(true),
    /** The log lines, already formatted (with timestamps when asked). */
    text: z.string(),
    /** The attempt whose file was read and the byte offset after its last complete line. */
    attempt: z.number().int().min(0),
    offset: z.number().int().min(0),
    /** More complete lines wait past `offset` (the reply was cut at its size limit). */
    more: z.boolean(),
  }),
  z.object({ v: v1, ok: z.literal(false), error: z.object({ reason: z.enum(['NotFound', 'BadRequest', 'InternalError']), message: z.string().max(4096) }) }),
]);
export type PodLogReply = z.infer<typeof podLogReplySchema>;

// ---- exec (non-interactive: the command runs to its end, then the node replies once) -------

export const podExecRequestSchema = z.object({
  v: v1,
  ...podRef,
  container: z.string().min(1).max(63),
  command: z.array(z.string().max(64 * 1024)).min(1).max(1024),
  /** 0: no limit but the request's own. */
  timeoutSeconds: z.number().int().min(0),
});
export type PodExecRequest = z.infer<typeof podExecRequestSchema>;

export const podExecReplySchema = z.discriminatedUnion('ok', [
  z.object({
    v: v1,
    ok: z.literal(true),
    /** Base64: a command's output need not be UTF-8. */
    stdout: z.string(),
    stderr: z.string(),
    exitCode: z.number().int(),
    /** Output beyond what one reply may carry was cut. */
    truncated: z.boolean(),
  }),
  z.object({ v: v1, ok: z.literal(false), error: z.object({ reason: z.enum(['NotFound', 'BadRequest', 'InternalError']), message: z.string().max(4096) }) }),
]);
export type PodExecReply = z.infer<typeof podExecReplySchema>;

// ---- exec sessions (stdin and/or a terminal: a stream both ways until the process ends) ---

/** A session id is one subject token: letters, digits and dashes only. */
const sessionId = z.string().regex(/^[A-Za-z0-9-]{8,64}$/);

export const execSessionOpenSchema = z.object({
  v: v1,
  ...podRef,
  container: z.string().min(1).max(63),
  command: z.array(z.string().max(64 * 1024)).min(1).max(1024),
  tty: z.boolean(),
  session: sessionId,
});
export type ExecSessionOpen = z.infer<typeof execSessionOpenSchema>;

export const execSessionOpenReplySchema = z.discriminatedUnion('ok', [
  z.object({ v: v1, ok: z.literal(true) }),
  z.object({ v: v1, ok: z.literal(false), error: z.object({ reason: z.enum(['NotFound', 'BadRequest', 'InternalError']), message: z.string().max(4096) }) }),
]);
export type ExecSessionOpenReply = z.infer<typeof execSessionOpenReplySchema>;

/** Base64 of at most 256 KiB of a stream. */
const streamData = z.string().max(350 * 1024);

/** Control plane → node. `keepalive` tells the node its peer is still there. */
export const execSessionInputSchema = z.discriminatedUnion('kind', [
  z.object({ v: v1, kind: z.literal('stdin'), data: streamData }),
  z.object({ v: v1, kind: z.literal('resize'), cols: z.number().int().min(1).max(10_000), rows: z.number().int().min(1).max(10_000) }),
  z.object({ v: v1, kind: z.literal('eof') }),
  z.object({ v: v1, kind: z.literal('close') }),
  z.object({ v: v1, kind: z.literal('keepalive') }),
]);
export type ExecSessionInput = z.infer<typeof execSessionInputSchema>;

/** Node → control plane; `exit` or `error` ends the session. */
export const execSessionOutputSchema = z.discriminatedUnion('kind', [
  z.object({ v: v1, kind: z.enum(['stdout', 'stderr']), data: streamData }),
  z.object({ v: v1, kind: z.literal('exit'), exitCode: z.number().int() }),
  z.object({ v: v1, kind: z.literal('error'), message: z.string().max(4096) }),
  z.object({ v: v1, kind: z.literal('keepalive') }),
]);
export type ExecSessionOutput = z.infer<typeof execSessionOutputSchema>;
// ---- static pods (a node's own manifests; the control plane keeps their mirror pods) -------

/**
 * Every static pod the node runs, sent whole (level-triggered): on connect, when a manifest
 * changes and periodically. A mirror pod missing here is removed.
 */
export const staticPodsReportSchema = z.object({ v: v1, nodeName: nodeNameSchema, pods: z.array(desiredPod).max(256) });
export type StaticPodsReport = z.infer<typeof staticPodsReportSchema>;

// ---- images (ctl image load / ctl image ls, relayed by the control plane) -----------------

/**
 * Bytes of archive per chunk (~88 KB as base64, far under NATS's 1 MB max_payload). Measured
 * (scripts/bench/image-relay.ts): several small messages in flight beat fewer large ones.
 */
export const imageChunkBytes = 64 * 1024;
const transferId = z.string().regex(/^[a-z0-9-]{8,64}$/, 'must be 8 to 64 characters of [a-z0-9-]');

/**
 * One step of an image upload or a listing. An upload is `begin`, then `chunk`s in order
 * (each acknowledged, which is the flow control), then `end` with the SHA-256 of the whole
 * archive, after which the node imports it; `abort` drops a transfer the sender gave up.
 */
export const imageRequestSchema = z.discriminatedUnion('op', [
  z.object({ v: v1, op: z.literal('list') }),
  z.object({ v: v1, op: z.literal('begin'), transfer: transferId, size: z.number().int().min(0).optional() }),
  z.object({ v: v1, op: z.literal('chunk'), transfer: transferId, seq: z.number().int().min(0), data: z.base64().max(Math.ceil(imageChunkBytes / 3) * 4) }),
  z.object({ v: v1, op: z.literal('end'), transfer: transferId, sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hexadecimal digits'), size: z.number().int().min(0) }),
  z.object({ v: v1, op: z.literal('abort'), transfer: transferId }),
]);
export type ImageRequest = z.infer<typeof imageRequestSchema>;

export const nodeImageSchema = z.object({
  id: z.string().max(256),
  repoTags: z.array(z.string().max(1024)).max(256),
  repoDigests: z.array(z.string().max(1024)).max(256),
  size: z.number().int().min(0),
});
export type NodeImage = z.infer<typeof nodeImageSchema>;

export const imageReplySchema = z.discriminatedUnion('ok', [
  z.object({
    v: v1,
    ok: z.literal(true),
    /** `chunk`: bytes received so far. */
    received: z.number().int().min(0).optional(),
    /** `end`: the image names the archive held, as imported. */
    imported: z.array(z.string().max(1024)).max(1024).optional(),
    /** `list`: the runtime's images. */
    images: z.array(nodeImageSchema).max(10_000).optional(),
  }),
  z.object({ v: v1, ok: z.literal(false), error: z.object({ reason: z.enum(['NotFound', 'BadRequest', 'InternalError']), message: z.string().max(8192) }) }),
]);
export type ImageReply = z.infer<typeof imageReplySchema>;

// ---- resource usage (metrics.k8s.io, `ctl top`: the control plane asks, the node replies) ------

/** Asks a node for its and its pods' current CPU and memory use. */
export const statsSummaryRequestSchema = z.object({ v: v1 });
export type StatsSummaryRequest = z.infer<typeof statsSummaryRequestSchema>;

const usage = {
  /** CPU in use, in billionths of a core, averaged over the window. */
  cpuNanoCores: z.number().min(0),
  memoryWorkingSetBytes: z.number().min(0),
};
export const statsSummaryReplySchema = z.object({
  v: v1,
  nodeName: nodeNameSchema,
  /** When the numbers were read, and over how many seconds CPU use was averaged. */
  timestamp: z.iso.datetime(),
  windowSeconds: z.number().positive(),
  node: z.object(usage),
  pods: z
    .array(z.object({ namespace: podRef.namespace, name: podRef.name, containers: z.array(z.object({ name: z.string().max(63), ...usage })).max(64) }))
    .max(1000),
});
export type StatsSummaryReply = z.infer<typeof statsSummaryReplySchema>;

export const codecs = {
  clusterInfoRequest: jsonCodec('ClusterInfoRequest', clusterInfoRequestSchema),
  clusterInfoReply: jsonCodec('ClusterInfoReply', clusterInfoReplySchema),
  joinRequest: jsonCodec('JoinRequest', joinRequestSchema),
  joinReply: jsonCodec('JoinReply', joinReplySchema),
  nodeStatusReport: jsonCodec('NodeStatusReport', nodeStatusReportSchema),
  leaseRenewal: jsonCodec('LeaseRenewal', leaseRenewalSchema),
  resyncRequest: jsonCodec('ResyncRequest', resyncRequestSchema),
  podNetwork: jsonCodec('PodNetwork', podNetworkSchema),
  podAssignment: jsonCodec('PodAssignment', podAssignmentSchema),
  podSyncRequest: jsonCodec('PodSyncRequest', podSyncRequestSchema),
  podStatusReport: jsonCodec('PodStatusReport', podStatusReportSchema),
  podEvents: jsonCodec('PodEvents', podEventsSchema),
  podLogRequest: jsonCodec('PodLogRequest', podLogRequestSchema),
  podLogReply: jsonCodec('PodLogReply', podLogReplySchema),
  podExecRequest: jsonCodec('PodExecRequest', podExecRequestSchema),
  podExecReply: jsonCodec('PodExecReply', podExecReplySchema),
  execSessionOpen: jsonCodec('ExecSessionOpen', execSessionOpenSchema),
  execSessionOpenReply: jsonCodec('ExecSessionOpenReply', execSessionOpenReplySchema),
  execSessionInput: jsonCodec('ExecSessionInput', execSessionInputSchema),
  execSessionOutput: jsonCodec('ExecSessionOutput', execSessionOutputSchema),
  staticPodsReport: jsonCodec('StaticPodsReport', staticPodsReportSchema),
  imageRequest: jsonCodec('ImageRequest', imageRequestSchema),
  imageReply: jsonCodec('ImageReply', imageReplySchema),
  statsSummaryRequest: jsonCodec('StatsSummaryRequest', statsSummaryRequestSchema),
  statsSummaryReply: jsonCodec('StatsSummaryReply', statsSummaryReplySchema),
};

export function bootstrapFailure(reason: BootstrapErrorReason, message: string): BootstrapError {
  return { v: 1, ok: false, error: { reason, message } };
}
