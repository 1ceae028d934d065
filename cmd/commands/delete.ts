import { Command, InvalidArgumentError } from 'commander';
import { runDeleteManifests, runDeleteTargets, type DeleteCommandOptions } from '../../src/cli/delete.js';
import { CliError } from '../../src/cli/errors.js';
import { processIo } from '../../src/cli/io.js';
import { parseTargets } from '../../src/cli/kinds.js';
import { readManifests } from '../../src/cli/manifests.js';
import { runCommand, withContext } from '../../src/cli/run.js';
import { collect } from './apply.js';

function seconds(value: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected a duration such as 30s, 2m or 0');
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!;
  return Number(m[1]) * unit;
}

/** kubectl's --cascade: background (or true), orphan (or false), foreground. */
export function cascadePolicy(value: string): 'Background' | 'Orphan' | 'Foreground' {
  const policy = ({ background: 'Background', true: 'Background', orphan: 'Orphan', false: 'Orphan', foreground: 'Foreground' } as const)[value.toLowerCase() as 'true'];
  if (!policy) throw new InvalidArgumentError('expected background, orphan or foreground');
  return policy;
}

function integer(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number of seconds');
  return Number(value);
}

export function deleteCommand(): Command {
  return new Command('delete')
    .description('Delete objects by kind and name, by selector, or those named in files')
    .argument('[resource...]', 'KIND NAME..., KIND/NAME..., or KIND with -l/--all')
    .option('-f, --filename <path>', 'delete the objects in this file, directory, or - for stdin (repeatable)', collect)
    .option('-R, --recursive', 'read directories recursively')
    .option('-l, --selector <selector>', 'delete objects matching this label selector')
    .option('--field-selector <selector>', 'delete objects matching this field selector')
    .option('--all', 'delete every object of the kind in the namespace')
    .option('-A, --all-namespaces', 'with -l or --all: across all namespaces')
    .option('--ignore-not-found', 'treat a missing object as deleted')
    .option('--grace-period <seconds>', 'seconds the object gets to terminate', integer)
    .option('--now', 'same as --grace-period=1')
    .option('--cascade <mode>', "background: the objects' dependents (a Deployment's ReplicaSets and pods) are deleted too; orphan: they are kept", cascadePolicy)
    .option('--no-wait', 'return once deletion is requested, without waiting for it to finish')
    .option('--timeout <duration>', 'give up waiting after this long (0: no limit)', seconds, 0)
    .option('-o, --output <format>', 'name: print only kind/name')
    .action(async (args: string[], _opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, async () => {
        if (o.output !== undefined && o.output !== 'name') throw new CliError(`unsupported output format ${JSON.stringify(o.output)}: only name is allowed`);
        const manifests = o.filename ? await readManifests(o.filename, { recursive: o.recursive, stdin: processIo.stdin }) : undefined;
        if (manifests && args.length) throw new CliError('give either -f or KIND NAME arguments, not both');
        const targets = manifests ? [] : parseTargets(args);
        return withContext(o, (ctx) => {
          const opts: DeleteCommandOptions = {
            namespace: ctx.namespace,
            allNamespaces: Boolean(o.allNamespaces),
            labelSelector: o.selector,
            fieldSelector: o.fieldSelector,
            all: Boolean(o.all),
            ignoreNotFound: Boolean(o.ignoreNotFound),
            gracePeriodSeconds: o.now ? 1 : o.gracePeriod,
            propagationPolicy: o.cascade,
            wait: o.wait !== false,
            timeoutMs: o.timeout,
            outputName: o.output === 'name',
          };
          if (manifests) return runDeleteManifests(ctx.client, processIo, manifests, opts);
          return runDeleteTargets(ctx.client, processIo, targets, opts);
        });
      });
    });
}
