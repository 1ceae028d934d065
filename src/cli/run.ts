import type { ResolvedClientConfig } from '../api/kubeconfig.js';
import { loadClientConfig } from './config.js';
import { formatError } from './errors.js';
import type { Io } from './io.js';
import type { NamespaceChoice } from './namespaces.js';
import { RestClient } from './rest-client.js';

// What every client command shares: building the client from flags, and ending with a message
// and exit code 1 instead of a stack trace.

export interface GlobalFlags {
  kubeconfig?: string;
  namespace?: string;
}

export interface CommandContext {
  client: RestClient;
  config: ResolvedClientConfig;
  namespace: NamespaceChoice;
}

export function commandContext(flags: GlobalFlags): CommandContext {
  const config = loadClientConfig({ flag: flags.kubeconfig });
  const client = new RestClient(config);
  return {
    client,
    config,
    namespace: flags.namespace ? { namespace: flags.namespace, explicit: true } : { namespace: config.namespace, explicit: false },
  };
}

/** Builds the context, runs `fn` with it, and releases the client's connections afterwards. */
export async function withContext<T>(flags: GlobalFlags, fn: (ctx: CommandContext) => Promise<T>): Promise<T> {
  const ctx = commandContext(flags);
  try {
    return await fn(ctx);
  } finally {
    ctx.client.close();
  }
}

/** Runs a command body; its result (or 1 on error) becomes the process exit code. */
export async function runCommand(io: Io, body: () => Promise<number | void>): Promise<void> {
  try {
    const code = await body();
    process.exitCode = code ?? 0;
  } catch (e) {
    io.err(`${formatError(e)}\n`);
    process.exitCode = 1;
  }
}
