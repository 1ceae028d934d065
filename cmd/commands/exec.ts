import { Command } from 'commander';
import { runExec } from '../../src/cli/exec.js';
import { processIo } from '../../src/cli/io.js';
import { runCommand, withContext } from '../../src/cli/run.js';

export function execCommand(): Command {
  return new Command('exec')
    .description("Run a command in a pod's container and exit with its exit code; -it for an interactive terminal")
    .argument('<pod>', 'pod name (or pod/NAME)')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('-c, --container <name>', "which container (default: the pod's first)")
    .option('-i, --stdin', "pass stdin to the command")
    .option('-t, --tty', 'stdin is a terminal (with -i): raw mode and window size follow the local terminal')
    .action(async (pod: string, command: string[], _opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, () =>
        withContext(o, (ctx) => runExec(ctx.client, processIo, pod.replace(/^(pods?|po)\//, ''), { namespace: ctx.namespace.namespace, container: o.container, command, stdin: o.stdin, tty: o.tty })),
      );
    });
}
