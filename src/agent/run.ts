import type { Logger } from '../log/logger.js';
import { Agent, type AgentOptions, type PodManager } from './agent.js';
import { loadIdentity, saveSettings, type AgentIdentity } from './identity.js';

// Runs an already-joined node's agent in the foreground until a signal or a fatal error.

export interface RunAgentOptions {
  dataDir: string;
  version: string;
  log: Logger;
  /** Given: replaces the labels saved at join (kubelet's --node-labels is given on every start). */
  labels?: Record<string, string>;
  heartbeatIntervalMs?: number;
  /** Already loaded (right after `ctl join`); otherwise read from dataDir. */
  identity?: AgentIdentity;
  podManager?: PodManager;
  onNetwork?: AgentOptions['onNetwork'];
  /** Reported as nodeInfo.containerRuntimeVersion. */
  containerRuntimeVersion?: () => Promise<string>;
  /** The bound /metrics listener, reported in the node's status. */
  metrics?: { host: string; port: number };
  statsSummary?: AgentOptions['statsSummary'];
  signal: AbortSignal;
}

export async function runAgent(opts: RunAgentOptions): Promise<void> {
  let identity = opts.identity ?? (await loadIdentity(opts.dataDir));
  if (opts.labels && JSON.stringify(opts.labels) !== JSON.stringify(identity.labels)) {
    identity = { ...identity, labels: opts.labels };
    const { caPem: _ca, certPem: _cert, keyPem: _key, nkeySeed: _seed, ...settings } = identity;
    await saveSettings(opts.dataDir, settings);
  }
  const agent = new Agent({
    identity,
    version: opts.version,
    log: opts.log,
    heartbeatIntervalMs: opts.heartbeatIntervalMs,
    podManager: opts.podManager,
    onNetwork: opts.onNetwork,
    containerRuntimeVersion: opts.containerRuntimeVersion,
    metrics: opts.metrics,
    statsSummary: opts.statsSummary,
  });
  const stopped = new Promise<void>((resolve) => opts.signal.addEventListener('abort', () => resolve(), { once: true }));
  opts.log.info({ node: identity.nodeName, server: identity.server }, 'agent starting');
  await Promise.race([agent.start(), stopped]);
  try {
    if (!opts.signal.aborted) {
      await Promise.race([
        stopped,
        agent.closed().catch((e: Error) => {
          throw new Error(
            `the connection to the control plane ended: ${e.message}. If the credentials were refused, this node was deleted ('ctl delete node') or joined again elsewhere: run 'ctl reset' and join again`,
          );
        }),
      ]);
    }
  } finally {
    await agent.stop();
    opts.log.info({ node: identity.nodeName }, 'agent stopped');
  }
}
