import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { createUser, fromSeed } from 'nkeys.js';
import { connectBus, type NatsConnection } from '../bus/connection.js';
import { subjects } from '../bus/subjects.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/store.js';
import { BootstrapTokens } from './bootstrap-tokens.js';
import { CleanupStack } from './cleanup-stack.js';
import { NatsSupervisor } from './nats-supervisor.js';
import { NodeCredentials } from './node-credentials.js';
import { NodeJoinService, type NodeCertificateIssuer } from './node-join.js';
import { NodeNetworkPublisher } from './node-network.js';
import { DEFAULT_CLUSTER_CIDR, parseClusterCidr, PodCidrAllocator } from './pod-cidr.js';
import { NodeLifecycle } from './node-lifecycle.js';

// The control plane's NATS side, started by `ctl server`: nats-server under supervision, the
// control plane's own privileged connection, the join responder, node lifecycle and bootstrap
// tokens. Everything agents do goes through here, never through the HTTP API.

export interface NatsPlanePki extends NodeCertificateIssuer {
  /** `sha256:<hex>`: what joiners pin. */
  readonly caCertHash: string;
  /** A TLS server certificate for nats-server, valid for these DNS names and IP addresses. */
  issueServerCertificate(names: { dnsNames: string[]; ipAddresses: string[] }): Promise<{ certPem: string; keyPem: string }>;
}

export interface NatsPlaneOptions {
  /** The control plane's data dir; NATS files go to DATA_DIR/nats. */
  dataDir: string;
  bindAddress: string;
  natsPort: number;
  natsServerPath: string;
  natsMonitorPort?: number;
  nodeMonitorGracePeriodMs: number;
  store: Store;
  /** --cluster-cidr: each node gets a /24 of it. Default 10.42.0.0/16. */
  clusterCidr?: string;
  pki: NatsPlanePki;
  log: Logger;
}

export interface NatsPlane {
  /** Where this machine's clients reach NATS. */
  readonly localUrl: string;
  /** What to give joiners: a reachable address of this machine. */
  readonly advertisedUrl: string;
  readonly caCertHash: string;
  readonly tokens: BootstrapTokens;
  readonly supervisor: NatsSupervisor;
  readonly nc: NatsConnection;
  joinCommand(token: string): string;
  close(): Promise<void>;
}

const wildcard = (addr: string) => addr === '0.0.0.0' || addr === '::' || addr === '';
const urlHost = (addr: string) => (addr.includes(':') ? `[${addr}]` : addr);

/** This machine's non-loopback addresses, for the NATS certificate and the join command. */
function machineAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flatMap((l) => l ?? [])
    .filter((a) => !a.internal && !(a.family === 'IPv6' && a.address.startsWith('fe80')))
    .map((a) => a.address);
}

async function writePrivate(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  await chmod(path, 0o600);
}

/** The control plane's own nkey: made once, kept in DATA_DIR/nats (0600). */
async function controlPlaneSeed(dir: string): Promise<string> {
  const path = join(dir, 'control-plane.nk');
  if (existsSync(path)) return (await readFile(path, 'utf8')).trim();
  const seed = new TextDecoder().decode(createUser().getSeed());
  await writePrivate(path, `${seed}\n`);
  return seed;
}

export async function startNatsPlane(opts: NatsPlaneOptions): Promise<NatsPlane> {
  const { log, store, pki } = opts;
  const clusterCidr = parseClusterCidr(opts.clusterCidr ?? DEFAULT_CLUSTER_CIDR);
  const dir = join(opts.dataDir, 'nats');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);

  const seed = await controlPlaneSeed(dir);
  const cpPublic = fromSeed(new TextEncoder().encode(seed)).getPublicKey();

  const addresses = machineAddresses();
  const ips = [...new Set(['127.0.0.1', '::1', ...(wildcard(opts.bindAddress) ? addresses : [opts.bindAddress])])];
  const dnsNames = [...new Set(['localhost', os.hostname()])];
  const serverCert = await pki.issueServerCertificate({ dnsNames, ipAddresses: ips });
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  await writePrivate(certFile, serverCert.certPem);
  await writePrivate(keyFile, serverCert.keyPem);

  const supervisor = new NatsSupervisor({
    natsServerPath: opts.natsServerPath,
    dir,
    host: opts.bindAddress,
    port: opts.natsPort,
    monitorPort: opts.natsMonitorPort,
    certFile,
    keyFile,
    controlPlaneNkey: cpPublic,
    log: log.child({ component: 'nats-supervisor' }),
  });
  const credentials = new NodeCredentials(store, (users) => supervisor.setNodes(users), log.child({ component: 'node-credentials' }));
  const tokens = new BootstrapTokens(store, log.child({ component: 'bootstrap-tokens' }));

  const cleanups = new CleanupStack(log, 'the NATS plane');
  const close = cleanups.close;
  try {
    await supervisor.start(await credentials.users());
    cleanups.push(() => supervisor.stop());

    const localHost = opts.bindAddress === '::' ? '::1' : wildcard(opts.bindAddress) ? '127.0.0.1' : opts.bindAddress;
    const localUrl = `nats://${urlHost(localHost)}:${opts.natsPort}`;
    const nc = await connectBus({
      servers: localUrl,
      name: 'skiff-control-plane',
      trust: { kind: 'ca', caPem: pki.caPem },
      nkeySeed: seed,
      inboxPrefix: subjects.controlPlaneInboxPrefix,
      persistent: true,
      log: log.child({ component: 'nats-client' }),
    });
    cleanups.push(() => nc.drain().catch(() => nc.close()));

    const allocator = new PodCidrAllocator(store, clusterCidr, log.child({ component: 'pod-cidr' }));
    const joinService = new NodeJoinService({ nc, tokens, issuer: pki, credentials, store, allocator, log: log.child({ component: 'node-join' }) });
    joinService.start();
    cleanups.push(() => joinService.close());

    const lifecycle = new NodeLifecycle({ nc, store, credentials, gracePeriodMs: opts.nodeMonitorGracePeriodMs, log: log.child({ component: 'node-lifecycle' }) });
    await lifecycle.start();
    cleanups.push(() => lifecycle.close());

    const network = new NodeNetworkPublisher({ nc, store, allocator, log: log.child({ component: 'node-network' }) });
    await network.start();
    cleanups.push(() => network.close());

    const sweep = () => void tokens.sweepExpired().catch((e) => log.error({ err: e }, 'removing expired bootstrap tokens failed'));
    sweep();
    const sweeper = setInterval(sweep, 60_000);
    cleanups.push(() => clearInterval(sweeper));

    const advertisedHost = wildcard(opts.bindAddress) ? (addresses.find((a) => !a.includes(':')) ?? localHost) : opts.bindAddress;
    const advertisedUrl = `nats://${urlHost(advertisedHost)}:${opts.natsPort}`;
    log.info({ nats: advertisedUrl, caCertHash: pki.caCertHash }, `nodes join with: ctl join ${advertisedUrl} --token TOKEN --discovery-token-ca-cert-hash ${pki.caCertHash}`);
    return {
      localUrl,
      advertisedUrl,
      caCertHash: pki.caCertHash,
      tokens,
      supervisor,
      nc,
      joinCommand: (token) => `ctl join ${advertisedUrl} --token ${token} --discovery-token-ca-cert-hash ${pki.caCertHash}`,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
