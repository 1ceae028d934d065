import { z } from 'zod';

// Registry mirrors and credentials for the agent's own containerd, in k3s's registries.yaml
// shape (users already have these files). Mirrors and TLS become containerd's hosts.toml files
// (one directory per registry under `config_path`); credentials go to the CRI plugin's
// `registry.configs.<host>.auth`, which hosts.toml has no place for.

const hostName = z.string().regex(/^(\*|[A-Za-z0-9.-]+(:\d{1,5})?)$/, 'must be a registry host such as docker.io or registry.local:5000, or *');
const endpoint = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL such as https://mirror.local:5000' });

export const registriesSchema = z
  .object({
    mirrors: z.record(hostName, z.object({ endpoint: z.array(endpoint).min(1, 'list at least one mirror URL') }).strict()).optional(),
    configs: z
      .record(
        hostName,
        z
          .object({
            auth: z
              .object({ username: z.string().optional(), password: z.string().optional(), auth: z.string().optional(), identitytoken: z.string().optional() })
              .strict()
              .optional(),
            tls: z
              .object({ ca_file: z.string().optional(), cert_file: z.string().optional(), key_file: z.string().optional(), insecure_skip_verify: z.boolean().optional() })
              .strict()
              .refine((t) => Boolean(t.cert_file) === Boolean(t.key_file), 'cert_file and key_file go together')
              .optional(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();
export type Registries = z.infer<typeof registriesSchema>;

/** docker.io is served from registry-1.docker.io, as every Docker client knows. */
function upstreamOf(registry: string): string | undefined {
  if (registry === '*') return undefined;
  return registry === 'docker.io' ? 'https://registry-1.docker.io' : `https://${registry}`;
}

const hostOfUrl = (url: string): string => new URL(url).host;
const q = (s: string): string => JSON.stringify(s);

function tlsLines(reg: Registries, host: string): string[] {
  const tls = reg.configs?.[host]?.tls;
  if (!tls) return [];
  return [
    ...(tls.ca_file ? [`  ca = ${q(tls.ca_file)}`] : []),
    ...(tls.cert_file && tls.key_file ? [`  client = [[${q(tls.cert_file)}, ${q(tls.key_file)}]]`] : []),
    ...(tls.insecure_skip_verify ? ['  skip_verify = true'] : []),
  ];
}

/**
 * hosts.toml per registry directory name (`docker.io`, `registry.local_5000`... as containerd
 * names them: `host:port` with the colon kept, `*` as `_default`).
 */
export function registryHostsFiles(reg: Registries): Map<string, string> {
  const files = new Map<string, string>();
  const registries = new Set([...Object.keys(reg.mirrors ?? {}), ...Object.keys(reg.configs ?? {})]);
  for (const registry of registries) {
    const upstream = upstreamOf(registry);
    const lines = upstream ? [`server = ${q(upstream)}`, ''] : [];
    for (const url of reg.mirrors?.[registry]?.endpoint ?? []) {
      lines.push(`[host.${q(url)}]`, '  capabilities = ["pull", "resolve"]', ...tlsLines(reg, hostOfUrl(url)), '');
    }
    // TLS settings for the registry itself (no mirror, or after its mirrors fail).
    const own = tlsLines(reg, registry);
    if (upstream && own.length) lines.push(`[host.${q(upstream)}]`, '  capabilities = ["pull", "resolve", "push"]', ...own, '');
    if (lines.length) files.set(registry === '*' ? '_default' : registry, lines.join('\n'));
  }
  return files;
}

/** The CRI plugin's credential sections, one per host with an `auth`. */
export function registryAuthToml(reg: Registries, criSection: string): string[] {
  const out: string[] = [];
  for (const [host, cfg] of Object.entries(reg.configs ?? {})) {
    const a = cfg.auth;
    if (!a) continue;
    out.push(`  [${criSection}.registry.configs.${q(host)}.auth]`);
    for (const key of ['username', 'password', 'auth', 'identitytoken'] as const) if (a[key] !== undefined) out.push(`    ${key} = ${q(a[key])}`);
  }
  return out;
}
