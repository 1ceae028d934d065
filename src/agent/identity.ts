import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

// A joined node's identity in its data dir: the cluster CA it trusts, its certificate and key,
// its NATS nkey seed and where the control plane is. Everything is 0600 in a 0700 directory;
// the private key and seed were made on this machine and never left it.

export const defaultAgentDataDir = '/var/lib/skiff/agent';

export interface AgentSettings {
  nodeName: string;
  /** nats://host:port of the control plane's NATS. */
  server: string;
  labels: Record<string, string>;
  containerRuntimeEndpoint?: string;
  metricsBindAddress?: string;
  /** The node's pod subnet for its own containerd (--pod-cidr); overrides assignedPodCidr. */
  podCidr?: string;
  /** The pod subnet the control plane assigned at join (Node spec.podCIDR). */
  assignedPodCidr?: string;
  /** --node-ip: the InternalIP this node reports, which peers route pod traffic to. */
  nodeIp?: string;
  /** The CNI bridge of its own containerd (--cni-bridge). */
  cniBridge?: string;
  joinedAt: string;
}

export interface AgentIdentity extends AgentSettings {
  caPem: string;
  certPem: string;
  keyPem: string;
  nkeySeed: string;
}

const settingsSchema = z.object({
  nodeName: z.string().min(1),
  server: z.string().min(1),
  labels: z.record(z.string(), z.string()),
  containerRuntimeEndpoint: z.string().optional(),
  metricsBindAddress: z.string().optional(),
  podCidr: z.string().optional(),
  assignedPodCidr: z.string().optional(),
  nodeIp: z.string().optional(),
  cniBridge: z.string().optional(),
  joinedAt: z.string(),
});

const files = {
  dir: 'identity',
  settings: 'agent.json',
  ca: 'ca.crt',
  cert: 'node.crt',
  key: 'node.key',
  nkey: 'node.nk',
} as const;

export const identityDir = (dataDir: string) => join(dataDir, files.dir);

export function isJoined(dataDir: string): boolean {
  return existsSync(join(identityDir(dataDir), files.settings));
}

/** Writes the identity to a new directory and swaps it in, so a crash never leaves half an identity. */
export async function saveIdentity(dataDir: string, id: AgentIdentity): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const final = identityDir(dataDir);
  const tmp = `${final}.new`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { mode: 0o700 });
  const { caPem, certPem, keyPem, nkeySeed, ...settings } = id;
  const contents: [string, string][] = [
    [files.ca, caPem],
    [files.cert, certPem],
    [files.key, keyPem],
    [files.nkey, `${nkeySeed}\n`],
    [files.settings, `${JSON.stringify(settings, null, 2)}\n`],
  ];
  for (const [name, text] of contents) {
    await writeFile(join(tmp, name), text, { mode: 0o600 });
    await chmod(join(tmp, name), 0o600);
  }
  await rm(final, { recursive: true, force: true });
  await rename(tmp, final);
}

export async function loadIdentity(dataDir: string): Promise<AgentIdentity> {
  const dir = identityDir(dataDir);
  if (!existsSync(join(dir, files.settings))) {
    throw new Error(`this node has not joined a cluster: no identity in ${dir}; run 'ctl join NATS_URL --token TOKEN --discovery-token-ca-cert-hash sha256:HASH' first (or pass --data-dir)`);
  }
  const read = (name: string) =>
    readFile(join(dir, name), 'utf8').catch((e: Error) => {
      throw new Error(`the node identity in ${dir} is incomplete (${name}: ${e.message}); run 'ctl reset' and join again`);
    });
  let settings: AgentSettings;
  try {
    settings = settingsSchema.parse(JSON.parse(await read(files.settings)));
  } catch (e) {
    throw new Error(`the node identity in ${dir} is damaged (${files.settings}: ${(e as Error).message}); run 'ctl reset' and join again`);
  }
  return {
    ...settings,
    caPem: await read(files.ca),
    certPem: await read(files.cert),
    keyPem: await read(files.key),
    nkeySeed: (await read(files.nkey)).trim(),
  };
}

/** Rewrites only the settings file (for example new --labels given to `ctl agent`). */
export async function saveSettings(dataDir: string, settings: AgentSettings): Promise<void> {
  const path = join(identityDir(dataDir), files.settings);
  await writeFile(`${path}.tmp`, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}
