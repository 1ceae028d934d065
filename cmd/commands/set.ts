import { Command } from 'commander';
import { processIo } from '../../src/cli/io.js';
import { runCommand, withContext } from '../../src/cli/run.js';
import { runSetImage } from '../../src/cli/set-image.js';

export function setCommand(): Command {
  return new Command('set')
    .description('Set specific features on objects')
    .addCommand(
      new Command('image')
        .description("Update the image of a pod or of a workload's pod template: CONTAINER=IMAGE, or *=IMAGE for every container")
        .argument('<args...>', 'KIND/NAME CONTAINER=IMAGE..., or KIND NAME CONTAINER=IMAGE...')
        .action(async (args: string[], _opts, cmd: Command) => {
          const o = cmd.optsWithGlobals();
          await runCommand(processIo, () => withContext(o, (ctx) => runSetImage(ctx.client, processIo, args, { namespace: ctx.namespace.namespace })));
        }),
    );
}
