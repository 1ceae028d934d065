import { Command } from 'commander';
import { processIo } from '../../src/cli/io.js';
import { runLabel } from '../../src/cli/label.js';
import { runCommand, withContext } from '../../src/cli/run.js';

export function labelCommand(): Command {
  return new Command('label')
    .description('Add, change or remove labels of an object: KEY=VALUE sets, KEY- removes')
    .argument('<args...>', 'KIND NAME KEY=VALUE... KEY-..., or KIND/NAME KEY=VALUE...')
    .option('--overwrite', 'allow changing the value of a label that is already set')
    .action(async (args: string[], _opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, () =>
        withContext(o, (ctx) => runLabel(ctx.client, processIo, args, { namespace: ctx.namespace, overwrite: Boolean(o.overwrite) })),
      );
    });
}
