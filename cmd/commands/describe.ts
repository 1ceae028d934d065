import { Command } from 'commander';
import { runDescribe } from '../../src/cli/describe/index.js';
import { processIo } from '../../src/cli/io.js';
import { parseTargets } from '../../src/cli/kinds.js';
import { runCommand, withContext } from '../../src/cli/run.js';

export function describeCommand(): Command {
  return new Command('describe')
    .description('Show details of objects, ending with their events')
    .argument('<resource...>', 'KIND [NAME or NAME-PREFIX...], or KIND/NAME...')
    .option('-l, --selector <selector>', 'describe objects matching this label selector')
    .option('-A, --all-namespaces', 'across all namespaces')
    .option('--no-show-events', 'leave out the Events section')
    .action(async (args: string[], _opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, () => {
        const targets = parseTargets(args);
        return withContext(o, (ctx) =>
          runDescribe(ctx.client, processIo, targets, {
            namespace: ctx.namespace.namespace,
            allNamespaces: Boolean(o.allNamespaces),
            labelSelector: o.selector,
            showEvents: o.showEvents !== false,
          }),
        );
      });
    });
}
