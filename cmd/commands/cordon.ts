import { Command } from 'commander';
import { runCordon } from '../../src/cli/cordon.js';
import { processIo } from '../../src/cli/io.js';
import { runCommand, withContext } from '../../src/cli/run.js';

function nodeSchedulingCommand(name: 'cordon' | 'uncordon', unschedulable: boolean, description: string): Command {
  return new Command(name)
    .description(description)
    .argument('<node...>', 'node names')
    .action(async (names: string[], _opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, () => withContext(o, (ctx) => runCordon(ctx.client, processIo, names, unschedulable)));
    });
}

export function cordonCommand(): Command {
  return nodeSchedulingCommand('cordon', true, 'Mark a node as unschedulable: new pods are not placed on it, running ones stay');
}

export function uncordonCommand(): Command {
  return nodeSchedulingCommand('uncordon', false, 'Mark a node as schedulable again');
}
