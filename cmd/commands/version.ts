import { Command } from 'commander';
import { CliError } from '../../src/cli/errors.js';
import { processIo } from '../../src/cli/io.js';
import { runCommand, withContext } from '../../src/cli/run.js';
import { runVersion } from '../../src/cli/version.js';

export function versionCommand(): Command {
  return new Command('version')
    .description('Print the client and server versions')
    .option('--client', 'client version only; needs no server')
    .option('-o, --output <format>', 'json or yaml')
    .action(async (_opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, async () => {
        if (o.output !== undefined && o.output !== 'json' && o.output !== 'yaml') {
          throw new CliError(`unsupported output format ${JSON.stringify(o.output)}: use json or yaml`);
        }
        const serverVersion = o.client ? undefined : () => withContext(o, (ctx) => ctx.client.version());
        return runVersion(serverVersion, processIo, { output: o.output });
      });
    });
}
