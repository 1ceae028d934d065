import { readFile } from 'node:fs/promises';
import { CliError } from '../../src/cli/errors.js';

/** The bearer token of --metrics-token-file (agent and server), trimmed; a clear error if unusable. */
export async function readMetricsToken(file: string): Promise<string> {
  const token = await readFile(file, 'utf8').then(
    (t) => t.trim(),
    (e: NodeJS.ErrnoException) => {
      throw new CliError(`cannot read --metrics-token-file ${file} (${e.code ?? e.message}): give a readable file holding the token`);
    },
  );
  if (!token) throw new CliError(`--metrics-token-file ${file} is empty: put the bearer token Prometheus sends in it`);
  return token;
}
