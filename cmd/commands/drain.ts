import { Command, InvalidArgumentError } from 'commander';
import { runDrain } from '../../src/cli/drain.js';
import { processIo } from '../../src/cli/io.js';
import { runCommand, withContext } from '../../src/cli/run.js';
import { parseDurationMs } from './duration.js';

function gracePeriod(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number of seconds (-1: each pod\'s own)');
  return Number(value);
}

export function drainCommand(): Command {
  return new Command('drain')
    .description('Cordon a node, then delete its pods and wait until they are gone, to prepare it for maintenance')
    .argument('<node>', 'node name')
    .option('--force', 'also delete pods that no controller owns (they are not recreated anywhere)')
    .option('--ignore-daemonsets', 'skip DaemonSet-managed pods instead of refusing to drain')
    .option('--delete-emptydir-data', 'also delete pods with emptyDir volumes (their data is lost)')
    .option('--grace-period <seconds>', "seconds each pod gets to terminate; -1: the pod's own; 0: remove at once", gracePeriod, -1)
    .option('--timeout <duration>', 'give up waiting after this long, e.g. 90s (0: no limit)', parseDurationMs, 0)
    .action(async (node: string, _opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, () =>
        withContext(o, (ctx) =>
          runDrain(ctx.client, processIo, node, {
            force: Boolean(o.force),
            ignoreDaemonSets: Boolean(o.ignoreDaemonsets),
            deleteEmptyDirData: Boolean(o.deleteEmptydirData),
            gracePeriodSeconds: o.gracePeriod >= 0 ? o.gracePeriod : undefined,
            timeoutMs: o.timeout,
          }),
        ),
      );
    });
}
