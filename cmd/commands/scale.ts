import { Command, InvalidArgumentError } from 'commander';
import { processIo } from '../../src/cli/io.js';
import { parseTargets } from '../../src/cli/kinds.js';
import { runCommand, withContext } from '../../src/cli/run.js';
import { runScale } from '../../src/cli/scale.js';

export function count(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return Number(value);
}

export function scaleCommand(): Command {
  return new Command('scale')
    .description('Set a new size for a deployment, replica set or replication controller')
    .argument('<resource...>', 'KIND/NAME..., or KIND NAME...')
    .requiredOption('--replicas <count>', 'the new number of replicas', count)
    .option('--current-replicas <count>', 'scale only if the current number of replicas is this', count)
    .option('--resource-version <version>', 'scale only if the object is still at this resourceVersion')
    .action(async (args: string[], _opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, () => {
        const targets = parseTargets(args);
        return withContext(o, (ctx) =>
          runScale(ctx.client, processIo, targets, {
            namespace: ctx.namespace.namespace,
            replicas: o.replicas,
            currentReplicas: o.currentReplicas,
            resourceVersion: o.resourceVersion,
          }),
        );
      });
    });
}
