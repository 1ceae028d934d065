import { Command } from 'commander';
import { processIo } from '../../src/cli/io.js';
import { runCommand, withContext } from '../../src/cli/run.js';
import { runTopNodes, runTopPods } from '../../src/cli/top.js';

export function topCommand(): Command {
  const top = new Command('top').description('Display resource (CPU/memory) usage of nodes or pods');
  top
    .command('nodes')
    .alias('node')
    .description('Display CPU and memory usage of nodes')
    .argument('[name]', 'one node')
    .option('--no-headers', 'omit the table header')
    .action(async (name: string | undefined, _opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, () => withContext(o, (ctx) => runTopNodes(ctx.client, processIo, { name, noHeaders: o.headers === false })));
    });
  top
    .command('pods')
    .alias('pod')
    .description('Display CPU and memory usage of pods')
    .argument('[name]', 'one pod')
    .option('-A, --all-namespaces', 'across all namespaces')
    .option('--containers', 'one line per container')
    .option('--no-headers', 'omit the table header')
    .action(async (name: string | undefined, _opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, () =>
        withContext(o, (ctx) =>
          runTopPods(ctx.client, processIo, { namespace: ctx.namespace.namespace, allNamespaces: Boolean(o.allNamespaces), name, containers: Boolean(o.containers), noHeaders: o.headers === false }),
        ),
      );
    });
  return top;
}
