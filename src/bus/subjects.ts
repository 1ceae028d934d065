// Every NATS subject Skiff uses is spelled here and nowhere else. nats-server permissions
// (see natsAuthorization in src/server) are built from the same functions, so a subject a
// module publishes on and the permission that allows it cannot drift apart.

const root = 'skiff';

/** What a node sends the control plane: `skiff.from.NODE.TOPIC`. */
export type FromNodeTopic = 'status' | 'lease' | 'podstatus' | 'events' | 'podsync' | 'staticpods';
/** What the control plane sends a node: `skiff.to.NODE.TOPIC`. */
export type ToNodeTopic = 'resync' | 'pods' | 'logs' | 'exec' | 'session' | 'images' | 'stats' | 'network';

/**
 * Node names are DNS subdomains, whose dots would split a NATS subject token. `_` is never in a
 * DNS name, so mapping `.` to `_` keeps one token per node and stays reversible.
 */
export function nodeToken(nodeName: string): string {
  return nodeName.replaceAll('.', '_');
}

export function nodeNameFromToken(token: string): string {
  return token.replaceAll('_', '.');
}

export const subjects = {
  /** Everything a client without credentials may publish on. */
  bootstrapAll: `${root}.bootstrap.>`,
  bootstrapClusterInfo: `${root}.bootstrap.cluster-info`,
  bootstrapJoin: `${root}.bootstrap.join`,

  fromNode: (nodeName: string, topic: FromNodeTopic) => `${root}.from.${nodeToken(nodeName)}.${topic}`,
  /** The control plane's subscription for one topic from every node. */
  fromAnyNode: (topic: FromNodeTopic) => `${root}.from.*.${topic}`,
  fromNodeAll: (nodeName: string) => `${root}.from.${nodeToken(nodeName)}.>`,

  toNode: (nodeName: string, topic: ToNodeTopic) => `${root}.to.${nodeToken(nodeName)}.${topic}`,
  toNodeAll: (nodeName: string) => `${root}.to.${nodeToken(nodeName)}.>`,

  /** What the control plane sends every node at once, in one publish: `skiff.all.TOPIC`. */
  toAllNodes: (topic: 'network') => `${root}.all.${topic}`,
  toAllNodesAll: `${root}.all.>`,

  /** One interactive exec session: the control plane's input to the node... */
  sessionToNode: (nodeName: string, session: string) => `${root}.to.${nodeToken(nodeName)}.session.${session}`,
  /** ...and the node's output back. Both sit under the node's own subjects, so its permissions cover them. */
  sessionFromNode: (nodeName: string, session: string) => `${root}.from.${nodeToken(nodeName)}.session.${session}`,

  /** Reply inbox of clients without a node identity (joiners): nats.js's default prefix. */
  defaultInboxPrefix: '_INBOX',
  defaultInboxAll: '_INBOX.>',
  /**
   * Each node gets its own inbox prefix, so a node can subscribe to its own replies only and
   * never read another node's or the control plane's.
   */
  nodeInboxPrefix: (nodeName: string) => `_INBOX_${nodeToken(nodeName)}`,
  nodeInboxAll: (nodeName: string) => `_INBOX_${nodeToken(nodeName)}.>`,
  /** Upper case: node names are lower case, so this never equals a node's prefix. */
  controlPlaneInboxPrefix: '_INBOX_CP',
} as const;

/** The node a `skiff.from.NODE.TOPIC` subject was published by, or undefined for any other subject. */
export function nodeOfFromSubject(subject: string): string | undefined {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== root || parts[1] !== 'from') return undefined;
  return nodeNameFromToken(parts[2]);
}
