import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { resolveKubeconfig, type ResolvedClientConfig } from '../api/kubeconfig.js';
import { CliError } from './errors.js';

// Which kubeconfig the client uses: --kubeconfig, else $KUBECONFIG (its first entry), else the
// admin kubeconfig `ctl server` writes on this machine.

export const defaultKubeconfigPath = '/var/lib/skiff/server/admin.kubeconfig';

export interface ConfigSource {
  flag?: string;
  env?: Record<string, string | undefined>;
}

export interface LoadedClientConfig extends ResolvedClientConfig {
  /** The file the configuration came from, for messages. */
  path: string;
}

export function kubeconfigPath(src: ConfigSource): { path: string; from: string } {
  if (src.flag) return { path: src.flag, from: '--kubeconfig' };
  const env = (src.env ?? process.env).KUBECONFIG;
  const first = env?.split(':').find((p) => p !== '');
  if (first) return { path: first, from: '$KUBECONFIG' };
  return { path: defaultKubeconfigPath, from: 'the default location' };
}

export function loadClientConfig(src: ConfigSource): LoadedClientConfig {
  const { path, from } = kubeconfigPath(src);
  if (!existsSync(path)) {
    throw new CliError(
      `no kubeconfig at ${path} (from ${from}): start the control plane with 'ctl server', which writes ` +
        `DATA_DIR/admin.kubeconfig, then pass --kubeconfig PATH or set KUBECONFIG=PATH`,
    );
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read kubeconfig ${path} (from ${from}): ${(e as Error).message}`);
  }
  const base = dirname(resolve(path));
  try {
    const cfg = resolveKubeconfig(text, path, (file) => readFileSync(resolve(base, file), 'utf8'));
    return { ...cfg, path };
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}
