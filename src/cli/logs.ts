import type { Io } from './io.js';
import type { RestClient } from './rest-client.js';

// `ctl logs`: the log subresource of a pod, as kubectl reads it. The API server reaches the
// pod's node; this side only builds the request and copies the body out as it arrives.

export interface LogsOptions {
  namespace: string;
  container?: string;
  tailLines?: number;
  timestamps: boolean;
  previous: boolean;
  follow: boolean;
}

export function podLogPath(namespace: string, name: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/log`;
}

export async function runLogs(client: RestClient, io: Io, pod: string, opts: LogsOptions, signal?: AbortSignal): Promise<number> {
  const query = {
    container: opts.container,
    tailLines: opts.tailLines,
    timestamps: opts.timestamps || undefined,
    previous: opts.previous || undefined,
    follow: opts.follow || undefined,
  };
  const decoder = new TextDecoder();
  for await (const chunk of client.getStream(podLogPath(opts.namespace, pod), query, signal)) io.out(decoder.decode(chunk, { stream: true }));
  const rest = decoder.decode();
  if (rest) io.out(rest);
  return 0;
}
