import { Command } from 'commander';
import { formatApiResources } from '../../src/cli/api-resources.js';
import { CliError } from '../../src/cli/errors.js';
import { processIo } from '../../src/cli/io.js';
import { runCommand } from '../../src/cli/run.js';

export function apiResourcesCommand(): Command {
  return new Command('api-resources')
    .description('List the kinds of resources the cluster serves')
    .option('--namespaced <bool>', 'true: only namespaced kinds; false: only cluster-scoped ones')
    .option('--api-group <group>', "only this API group ('' for the core group)")
    .option('-o, --output <format>', 'wide (adds VERBS) or name')
    .option('--no-headers', 'omit the table header')
    .action(async (o) => {
      await runCommand(processIo, async () => {
        if (o.output !== undefined && o.output !== 'wide' && o.output !== 'name') {
          throw new CliError(`unsupported output format ${JSON.stringify(o.output)}: use wide or name`);
        }
        if (o.namespaced !== undefined && o.namespaced !== 'true' && o.namespaced !== 'false') {
          throw new CliError(`--namespaced must be true or false, not ${JSON.stringify(o.namespaced)}`);
        }
        processIo.out(
          formatApiResources({
            namespaced: o.namespaced === undefined ? undefined : o.namespaced === 'true',
            apiGroup: o.apiGroup,
            output: o.output,
            noHeaders: o.headers === false,
          }),
        );
      });
    });
}
