import { Command } from 'commander';
import { runCreate } from '../../src/cli/apply.js';
import { processIo } from '../../src/cli/io.js';
import { readManifests } from '../../src/cli/manifests.js';
import { parseOutputFormat } from '../../src/cli/printers/output.js';
import { runCommand, withContext } from '../../src/cli/run.js';
import { collect } from './apply.js';

export function createCommand(): Command {
  return new Command('create')
    .description('Create objects from files; an object that already exists is an error')
    .requiredOption('-f, --filename <path>', 'file, directory, or - for stdin (repeatable)', collect)
    .option('-R, --recursive', 'read directories recursively')
    .option('--save-config', "record the configuration so a later 'ctl apply' can merge with it")
    .option('-o, --output <format>', 'name: print only kind/name')
    .action(async (_opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, async () => {
        const output = parseOutputFormat(o.output);
        const manifests = await readManifests(o.filename, { recursive: o.recursive, stdin: processIo.stdin });
        return withContext(o, (ctx) =>
          runCreate(ctx.client, processIo, manifests, ctx.namespace, { outputName: output === 'name', saveConfig: Boolean(o.saveConfig) }),
        );
      });
    });
}
