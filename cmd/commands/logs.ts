import { Command, InvalidArgumentError } from 'commander';
import { processIo } from '../../src/cli/io.js';
import { runLogs } from '../../src/cli/logs.js';
import { runCommand, withContext } from '../../src/cli/run.js';

function lineCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < -1) throw new InvalidArgumentError('must be a whole number (-1 for every line)');
  return n;
}

export function logsCommand(): Command {
  return new Command('logs')
    .description("Print a container's log (read on the pod's node)")
    .argument('<pod>', 'pod name (or pod/NAME)')
    .option('-c, --container <name>', 'which container; needed when the pod has more than one')
    .option('-f, --follow', 'keep printing new lines until the container stops')
    .option('-p, --previous', "the previous instance's log, after a restart")
    .option('--tail <lines>', 'only the last N lines (-1: all)', lineCount, -1)
    .option('--timestamps', 'prefix each line with its RFC 3339 timestamp')
    .action(async (pod: string, _opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, () =>
        withContext(o, (ctx) => {
          const abort = new AbortController();
          process.once('SIGINT', () => abort.abort());
          return runLogs(
            ctx.client,
            processIo,
            pod.replace(/^(pods?|po)\//, ''),
            {
              namespace: ctx.namespace.namespace,
              container: o.container,
              tailLines: o.tail >= 0 ? o.tail : undefined,
              timestamps: Boolean(o.timestamps),
              previous: Boolean(o.previous),
              follow: Boolean(o.follow),
            },
            abort.signal,
          );
        }),
      );
    });
}
