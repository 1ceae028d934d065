import { pino, type Logger } from 'pino';

export type { Logger };

// JSON by default (what log shippers want); pretty when a person is watching a terminal.
function makeRoot(): Logger {
  const level = process.env.SKIFF_LOG_LEVEL ?? 'info';
  if (process.stderr.isTTY && process.env.SKIFF_LOG_FORMAT !== 'json') {
    return pino({
      level,
      transport: { target: 'pino-pretty', options: { destination: 2, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino({ level }, pino.destination({ fd: 2, sync: false }));
}

let root: Logger | undefined;

/** A child logger carrying the `component` field every module sets. */
export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  root ??= makeRoot();
  return root.child({ component, ...bindings });
}

/** Flushes buffered log lines; call before process exit. */
export function flushLogs(): void {
  root?.flush();
}
