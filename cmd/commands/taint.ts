import { Command } from 'commander';
import { processIo } from '../../src/cli/io.js';
import { runCommand, withContext } from '../../src/cli/run.js';
import { runTaint } from '../../src/cli/taint.js';

export function taintCommand(): Command {
  return new Command('taint')
    .description('Add or remove taints of a node: key=value:Effect adds, key:Effect- or key- removes')
    .argument('<args...>', 'nodes NODE key=value:Effect... key:Effect-... key-...')
    .option('--overwrite', 'replace a taint that has the same key and effect')
    .action(async (args: string[], _opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, () => withContext(o, (ctx) => runTaint(ctx.client, processIo, args, { overwrite: Boolean(o.overwrite) })));
    });
}
