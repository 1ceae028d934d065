import { parse, stringify } from 'yaml';

// The client config file is a kubeconfig, so kubectl and other tools can read what `ctl server`
// writes. Only the fields Skiff writes are modelled; others are kept when read.

export interface ClientCredentials {
  /** Base64 PEM, as kubeconfig stores it. */
  'client-certificate-data'?: string;
  'client-key-data'?: string;
  'client-certificate'?: string;
  'client-key'?: string;
  token?: string;
}

export interface Kubeconfig {
  apiVersion: 'v1';
  kind: 'Config';
  clusters: { name: string; cluster: { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string } }[];
  users: { name: string; user: ClientCredentials }[];
  contexts: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  'current-context': string;
  preferences?: Record<string, unknown>;
}

export interface ResolvedClientConfig {
  server: string;
  caPem?: string;
  certPem?: string;
  keyPem?: string;
  namespace: string;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

export function buildKubeconfig(opts: { clusterName: string; server: string; caPem: string; userName: string; certPem: string; keyPem: string }): string {
  const context = `${opts.userName}@${opts.clusterName}`;
  const cfg: Kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: opts.clusterName, cluster: { server: opts.server, 'certificate-authority-data': b64(opts.caPem) } }],
    users: [{ name: opts.userName, user: { 'client-certificate-data': b64(opts.certPem), 'client-key-data': b64(opts.keyPem) } }],
    contexts: [{ name: context, context: { cluster: opts.clusterName, user: opts.userName } }],
    'current-context': context,
    preferences: {},
  };
  return stringify(cfg);
}

/**
 * Resolves the current context of a kubeconfig. `readFile` resolves file references
 * (client-certificate: path) relative to the config; it is passed in to keep this module free of I/O.
 */
export function resolveKubeconfig(text: string, source: string, readFile: (path: string) => string): ResolvedClientConfig {
  let cfg: Partial<Kubeconfig>;
  try {
    cfg = parse(text) as Partial<Kubeconfig>;
  } catch (e) {
    throw new Error(`${source}: not a valid kubeconfig: ${(e as Error).message}`);
  }
  if (!cfg || typeof cfg !== 'object') throw new Error(`${source}: not a valid kubeconfig: empty document`);
  const ctxName = cfg['current-context'];
  const ctx = cfg.contexts?.find((c) => c.name === ctxName)?.context;
  if (!ctx) throw new Error(`${source}: current-context "${ctxName ?? ''}" is not among its contexts`);
  const cluster = cfg.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster?.server) throw new Error(`${source}: cluster "${ctx.cluster}" has no server`);
  const user = cfg.users?.find((u) => u.name === ctx.user)?.user ?? {};
  const pick = (data: string | undefined, file: string | undefined) =>
    data !== undefined ? unb64(data) : file !== undefined ? readFile(file) : undefined;
  return {
    server: cluster.server,
    caPem: pick(cluster['certificate-authority-data'], cluster['certificate-authority']),
    certPem: pick(user['client-certificate-data'], user['client-certificate']),
    keyPem: pick(user['client-key-data'], user['client-key']),
    namespace: ctx.namespace ?? 'default',
  };
}
