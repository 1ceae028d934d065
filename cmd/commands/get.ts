import { Command } from 'commander';
import { runGet, runGetWatch } from '../../src/cli/get.js';
import { processIo } from '../../src/cli/io.js';
import { CliError } from '../../src/cli/errors.js';
import { parseTargets } from '../../src/cli/kinds.js';
import { parseOutputFormat } from '../../src/cli/printers/output.js';
import { runCommand, withContext } from '../../src/cli/run.js';

export function getCommand(): Command {
  return new Command('get')
    .description('Display one or many resources')
    .argument('<resource...>', 'KIND [NAME...], KIND1,KIND2, or KIND/NAME...')
    .option('-o, --output <format>', 'output format: wide, json, yaml or name')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .option('--field-selector <selector>', 'field selector, e.g. status.phase=Running')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option('-w, --watch', 'after listing, print a line for every change')
    .option('--watch-only', 'print changes only, without the initial list')
    .option('--no-headers', 'omit the table header')
    .option('--show-labels', 'add a LABELS column')
    .action(async (args: string[], _opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, () => {
        const targets = parseTargets(args);
        const output = parseOutputFormat(o.output);
        return withContext(o, async (ctx) => {
          const opts = {
            namespace: ctx.namespace.namespace,
            allNamespaces: Boolean(o.allNamespaces),
            labelSelector: o.selector,
            fieldSelector: o.fieldSelector,
            output,
            noHeaders: o.headers === false,
            showLabels: Boolean(o.showLabels),
          };
          if (!o.watch && !o.watchOnly) return runGet(ctx.client, processIo, targets, opts);
          if (targets.length !== 1) throw new CliError('you may only watch a single kind of resource at a time');
          const stop = new AbortController();
          const onSignal = () => stop.abort();
          process.once('SIGINT', onSignal);
          process.once('SIGTERM', onSignal);
          try {
            return await runGetWatch(ctx.client, processIo, targets[0], { ...opts, watchOnly: Boolean(o.watchOnly) }, stop.signal);
          } finally {
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
          }
        });
      });
    });
}
