import { Command } from 'commander';
import { runApply } from '../../src/cli/apply.js';
import { processIo } from '../../src/cli/io.js';
import { readManifests } from '../../src/cli/manifests.js';
import { parseOutputFormat } from '../../src/cli/printers/output.js';
import { runCommand, withContext } from '../../src/cli/run.js';

export const collect = (value: string, previous: string[] = []) => [...previous, value];

export function applyCommand(): Command {
  return new Command('apply')
    .description('Create or update objects from files, keeping fields that controllers set (three-way merge)')
    .requiredOption('-f, --filename <path>', 'file, directory, or - for stdin (repeatable)', collect)
    .option('-R, --recursive', 'read directories recursively')
    .option('-o, --output <format>', 'name: print only kind/name')
    .action(async (_opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, async () => {
        const output = parseOutputFormat(o.output);
        const manifests = await readManifests(o.filename, { recursive: o.recursive, stdin: processIo.stdin });
        return withContext(o, (ctx) => runApply(ctx.client, processIo, manifests, ctx.namespace, { outputName: output === 'name' }));
      });
    });
}
