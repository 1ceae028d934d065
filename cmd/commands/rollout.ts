import { Command, InvalidArgumentError, type OptionValues } from 'commander';
import { processIo } from '../../src/cli/io.js';
import {
  rolloutTargets,
  runRolloutHistory,
  runRolloutPause,
  runRolloutRestart,
  runRolloutStatus,
  runRolloutUndo,
  type RolloutTarget,
} from '../../src/cli/rollout.js';
import { runCommand, withContext, type CommandContext } from '../../src/cli/run.js';
import { parseDurationMs } from './duration.js';
import { count } from './scale.js';

function bool(value: string): boolean {
  if (value !== 'true' && value !== 'false') throw new InvalidArgumentError('expected true or false');
  return value === 'true';
}

/** Runs `fn` for each named deployment; the first failure ends the command. */
function eachTarget(usage: string, fn: (ctx: CommandContext, t: RolloutTarget, o: OptionValues) => Promise<number>) {
  return async (args: string[], _opts: unknown, cmd: Command) => {
    const o = cmd.optsWithGlobals();
    await runCommand(processIo, () => {
      const targets = rolloutTargets(args, usage);
      return withContext(o, async (ctx) => {
        let code = 0;
        for (const t of targets) code = Math.max(code, await fn(ctx, t, o));
        return code;
      });
    });
  };
}

export function rolloutCommand(): Command {
  const rollout = new Command('rollout').description('Manage the rollout of a deployment');
  rollout.addCommand(
    new Command('status')
      .description('Show the status of the rollout; waits until it completes (exit 0) or fails')
      .argument('<resource...>', 'deployment/NAME, or deployment NAME')
      .option('--watch <bool>', 'watch the status until the rollout finishes; --watch=false prints it once', bool, true)
      .option('--timeout <duration>', 'give up waiting after this long, e.g. 5m (0: no limit)', parseDurationMs, 0)
      .action(
        eachTarget('ctl rollout status deployment/web', async (ctx, t, o) => {
          const stop = new AbortController();
          const onSignal = () => stop.abort();
          process.once('SIGINT', onSignal);
          process.once('SIGTERM', onSignal);
          try {
            return await runRolloutStatus(ctx.client, processIo, t, { namespace: ctx.namespace.namespace, watch: o.watch !== false, timeoutMs: o.timeout }, stop.signal);
          } finally {
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
          }
        }),
      ),
  );
  rollout.addCommand(
    new Command('history')
      .description("View the rollout history: the revisions and their change-cause; --revision shows one revision's pod template")
      .argument('<resource...>', 'deployment/NAME, or deployment NAME')
      .option('--revision <n>', 'show the details of this revision', count)
      .action(eachTarget('ctl rollout history deployment/web', (ctx, t, o) => runRolloutHistory(ctx.client, processIo, t, { namespace: ctx.namespace.namespace, revision: o.revision }))),
  );
  rollout.addCommand(
    new Command('undo')
      .description('Roll back to the previous revision, or to --to-revision')
      .argument('<resource...>', 'deployment/NAME, or deployment NAME')
      .option('--to-revision <n>', 'the revision to roll back to (0: the previous one)', count, 0)
      .action(eachTarget('ctl rollout undo deployment/web', (ctx, t, o) => runRolloutUndo(ctx.client, processIo, t, { namespace: ctx.namespace.namespace, toRevision: o.toRevision }))),
  );
  rollout.addCommand(
    new Command('restart')
      .description('Restart a deployment: its pods are replaced by a rolling update')
      .argument('<resource...>', 'deployment/NAME, or deployment NAME')
      .action(eachTarget('ctl rollout restart deployment/web', (ctx, t) => runRolloutRestart(ctx.client, processIo, t, { namespace: ctx.namespace.namespace }))),
  );
  for (const pause of [true, false]) {
    const verb = pause ? 'pause' : 'resume';
    rollout.addCommand(
      new Command(verb)
        .description(pause ? 'Mark a deployment as paused: template changes do not roll out until it is resumed' : 'Resume a paused deployment')
        .argument('<resource...>', 'deployment/NAME, or deployment NAME')
        .action(eachTarget(`ctl rollout ${verb} deployment/web`, (ctx, t) => runRolloutPause(ctx.client, processIo, t, { namespace: ctx.namespace.namespace, pause }))),
    );
  }
  return rollout;
}
