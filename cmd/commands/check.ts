import { Command, Option } from 'commander';
import { defaultAgentDataDir } from '../../src/agent/identity.js';
import { formatResults, ignoreFailures, realHost, runPreflight, type Role } from '../../src/agent/preflight.js';
import { CliError } from '../../src/cli/errors.js';
import { processIo } from '../../src/cli/io.js';
import { runCommand } from '../../src/cli/run.js';

// `ctl check`: the preflight for a server or an agent machine; exits 1 if a required check fails.

interface CheckFlags {
  role: Role;
  dataDir?: string;
  containerRuntimeEndpoint?: string;
  apiPort: string;
  natsPort: string;
  ignore?: string;
}

function port(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new CliError(`${flag} ${JSON.stringify(value)} is not a port number (1-65535)`);
  return n;
}

export function checkCommand(): Command {
  return new Command('check')
    .description('Check that this machine can run a Skiff server or agent; prints the fix for anything missing')
    .addOption(new Option('--role <role>', 'what this machine will run').choices(['server', 'agent']).default('agent'))
    .option('--data-dir <dir>', 'where Skiff will keep its state (default: /var/lib/skiff/server or /var/lib/skiff/agent)')
    .option('--container-runtime-endpoint <endpoint>', 'the CRI socket the agent will use, if not its own containerd')
    .option('--api-port <port>', "the server's API port", '6443')
    .option('--nats-port <port>', "the server's NATS port", '4222')
    .option('--ignore <checks>', 'comma-separated check names whose failure only warns, or "all"')
    .action(async (flags: CheckFlags) => {
      await runCommand(processIo, async () => {
        const results = ignoreFailures(
          await runPreflight(realHost, {
            role: flags.role,
            dataDir: flags.dataDir ?? (flags.role === 'server' ? '/var/lib/skiff/server' : defaultAgentDataDir),
            containerRuntimeEndpoint: flags.containerRuntimeEndpoint,
            apiPort: port('--api-port', flags.apiPort),
            natsPort: port('--nats-port', flags.natsPort),
          }),
          (flags.ignore ?? '').split(',').map((s) => s.trim()).filter(Boolean),
        );
        processIo.out(formatResults(results));
        const failed = results.filter((r) => r.status === 'fail');
        if (failed.length) throw new CliError(`${failed.length} required check(s) failed: ${failed.map((r) => r.name).join(', ')}; fix them and run 'ctl check' again`);
        return 0;
      });
    });
}
