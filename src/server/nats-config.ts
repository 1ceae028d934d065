import { subjects } from '../bus/subjects.js';

// nats-server's configuration, built from the cluster's state. Least privilege lives here and is
// enforced by nats-server itself: a client without credentials reaches only the bootstrap
// subjects, and each joined node publishes and subscribes only on its own subjects.

export interface NodeNatsUser {
  nodeName: string;
  nkeyPublic: string;
}

export interface NatsConfigInput {
  host: string;
  port: number;
  /** Omitted: no HTTP monitoring endpoint at all. */
  monitorPort?: number;
  certFile: string;
  keyFile: string;
  controlPlaneNkey: string;
  nodes: readonly NodeNatsUser[];
}

interface Permissions {
  publish: { allow: string[] };
  subscribe: { allow: string[] };
  allow_responses?: boolean;
}

export const bootstrapUser = 'bootstrap';

export function controlPlanePermissions(): Permissions {
  return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
}

/** Bootstrap replies go to `_INBOX.>`, which every credential-less client may read: they carry nothing secret. */
export function bootstrapPermissions(): Permissions {
  return { publish: { allow: [subjects.bootstrapAll] }, subscribe: { allow: [subjects.defaultInboxAll] } };
}

export function nodePermissions(nodeName: string): Permissions {
  return {
    publish: { allow: [subjects.fromNodeAll(nodeName)] },
    subscribe: { allow: [subjects.toNodeAll(nodeName), subjects.toAllNodesAll, subjects.nodeInboxAll(nodeName)] },
    // Lets the node answer requests the control plane sends it, and nothing else.
    allow_responses: true,
  };
}

const q = (s: string) => JSON.stringify(s);

export function renderNatsConfig(c: NatsConfigInput): string {
  const users = [
    { nkey: c.controlPlaneNkey, permissions: controlPlanePermissions() },
    { user: bootstrapUser, permissions: bootstrapPermissions() },
    ...[...c.nodes]
      .sort((a, b) => a.nodeName.localeCompare(b.nodeName))
      .map((n) => ({ nkey: n.nkeyPublic, permissions: nodePermissions(n.nodeName) })),
  ];
  const lines = [
    '# Written by the skiff control plane on every start, join and node removal; edits are lost.',
    `host: ${q(c.host)}`,
    `port: ${c.port}`,
    ...(c.monitorPort !== undefined ? [`http: ${q(`${c.host}:${c.monitorPort}`)}`] : []),
    'tls {',
    `  cert_file: ${q(c.certFile)}`,
    `  key_file: ${q(c.keyFile)}`,
    '  timeout: 5',
    '}',
    'authorization {',
    '  users: [',
    // The config format accepts JSON objects, which keeps quoting in one place.
    ...users.map((u) => `    ${JSON.stringify(u)}`),
    '  ]',
    '}',
    `no_auth_user: ${q(bootstrapUser)}`,
    '',
  ];
  return lines.join('\n');
}
