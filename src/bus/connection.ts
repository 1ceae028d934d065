import { connect, Events, nkeyAuthenticator, type ConnectionOptions, type NatsConnection, type TlsOptions } from 'nats';
import type { Logger } from '../log/logger.js';

export type { NatsConnection } from 'nats';

// The one place a NATS connection is opened, so every client gets the same TLS, reconnect and
// inbox settings. Connections reconnect forever with jittered backoff: a Pi on a flaky link or
// a restarted nats-server must never leave an agent or the control plane disconnected for good.

export type ServerTrust =
  /** Encrypted but unverified: only for fetching the CA during join, which is then pinned by hash. */
  | { kind: 'unverified' }
  | { kind: 'ca'; caPem: string };

export interface BusConnectOptions {
  /** `nats://host:port`; several for failover. */
  servers: string | string[];
  /** Shown in nats-server's connection list. */
  name: string;
  trust: ServerTrust;
  /** nkey seed (`SU...`) to authenticate with; none means the server's no-auth (bootstrap) user. */
  nkeySeed?: string;
  /** Replies land under this prefix; nodes must use their own (subjects.nodeInboxPrefix). */
  inboxPrefix?: string;
  /** Keep reconnecting forever (long-lived clients) or fail fast (one-shot bootstrap). */
  persistent: boolean;
  /** Called after every successful reconnect, to re-announce state the server side may have lost. */
  onReconnect?: () => void;
  log: Logger;
}

// nats.js hands its tls options to node's tls.connect, which reads rejectUnauthorized; its
// TlsOptions type just does not list it.
const unverifiedTls: TlsOptions & { rejectUnauthorized: boolean } = { rejectUnauthorized: false };

export async function connectBus(opts: BusConnectOptions): Promise<NatsConnection> {
  const options: ConnectionOptions = {
    servers: opts.servers,
    name: opts.name,
    tls: opts.trust.kind === 'ca' ? { ca: opts.trust.caPem } : unverifiedTls,
    inboxPrefix: opts.inboxPrefix,
    ignoreClusterUpdates: true,
    ...(opts.nkeySeed ? { authenticator: nkeyAuthenticator(new TextEncoder().encode(opts.nkeySeed)) } : {}),
    ...(opts.persistent
      ? {
          reconnect: true,
          maxReconnectAttempts: -1,
          waitOnFirstConnect: true,
          reconnectTimeWait: 1000,
          reconnectJitter: 500,
          reconnectJitterTLS: 1000,
          pingInterval: 10_000,
          maxPingOut: 2,
        }
      : { reconnect: false, timeout: 5000 }),
  };
  const nc = await connect(options);
  void watchStatus(nc, opts);
  return nc;
}

async function watchStatus(nc: NatsConnection, opts: BusConnectOptions): Promise<void> {
  for await (const s of nc.status()) {
    switch (s.type) {
      case Events.Disconnect:
        opts.log.warn({ server: s.data }, 'disconnected from NATS; reconnecting');
        break;
      case Events.Reconnect:
        opts.log.info({ server: s.data }, 'reconnected to NATS');
        opts.onReconnect?.();
        break;
      case Events.Error:
        opts.log.warn({ err: s.data }, 'NATS server reported an error');
        break;
      default:
        break;
    }
  }
}
