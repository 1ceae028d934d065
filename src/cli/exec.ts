import type { Pod } from '../api/types.js';
import { resolveResource } from './kinds.js';
import type { Io } from './io.js';
import type { RestClient } from './rest-client.js';

// `ctl exec POD [-c C] -- CMD...` without a terminal: the API server has the pod's node run the
// command (CRI ExecSync) and answers with its output and exit code, which become ours, as
// kubectl's are.

export interface ExecOptions {
  namespace: string;
  container?: string;
  command: string[];
}

interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  truncated: boolean;
}

/** As kubectl: the pod's default-container annotation, else its first container. */
async function defaultContainer(client: RestClient, io: Io, namespace: string, name: string): Promise<string> {
  const pod = (await client.get(resolveResource('pods'), namespace, name)) as Pod;
  const names = pod.spec.containers.map((c) => c.name);
  const annotated = pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'];
  if (annotated && names.includes(annotated)) return annotated;
  if (names.length > 1) io.err(`Defaulted container "${names[0]}" out of: ${names.join(', ')}\n`);
  return names[0];
}

export async function runExec(client: RestClient, io: Io, pod: string, opts: ExecOptions): Promise<number> {
  const container = opts.container ?? (await defaultContainer(client, io, opts.namespace, pod));
  const qs = new URLSearchParams({ container });
  for (const arg of opts.command) qs.append('command', arg);
  const path = `/api/v1/namespaces/${encodeURIComponent(opts.namespace)}/pods/${encodeURIComponent(pod)}/exec?${qs}`;
  // Read as a stream: a command may run longer than the client's idle timeout before answering.
  const chunks: Buffer[] = [];
  for await (const chunk of client.getStream(path, {})) chunks.push(chunk);
  const result = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExecResult;
  const stdout = Buffer.from(result.stdout, 'base64').toString('utf8');
  const stderr = Buffer.from(result.stderr, 'base64').toString('utf8');
  if (stdout) io.out(stdout);
  if (stderr) io.err(stderr);
  if (result.truncated) io.err('(output cut: it exceeded what one exec answer may carry)\n');
  if (result.exitCode !== 0) io.err(`command terminated with exit code ${result.exitCode}\n`);
  return result.exitCode;
}
