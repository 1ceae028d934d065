import { Command, Option } from 'commander';
import { parseNodeLabels } from '../../src/agent/labels.js';
import { defaultAgentDataDir } from '../../src/agent/identity.js';
import { runAgent } from '../../src/agent/run.js';
import { CliError } from '../../src/cli/errors.js';
import { processIo } from '../../src/cli/io.js';
import { runCommand } from '../../src/cli/run.js';
import { clientVersion } from '../../src/cli/version.js';
import { flushLogs, logger } from '../../src/log/logger.js';
import { parseDurationMs } from './duration.js';

// `ctl agent`: runs an already-joined node (what the systemd unit starts). No token needed:
// the node's identity from `ctl join` is in its data dir.

export interface AgentFlags {
  dataDir: string;
  labels?: string;
  nodeStatusUpdateFrequency: number;
}

export function addAgentFlags(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', "the node's identity and local state", defaultAgentDataDir)
    .option('--labels <k=v,...>', 'labels for this Node (kubelet --node-labels); given to ctl agent, they replace those given at join')
    .addOption(
      new Option('--node-status-update-frequency <duration>', 'how often the node renews its lease with the control plane').argParser(parseDurationMs).default(4000, '4s'),
    );
}

/** Runs the agent until SIGINT/SIGTERM; shared by `ctl agent` and `ctl join`. */
export async function runAgentForeground(flags: AgentFlags, identity?: Parameters<typeof runAgent>[0]['identity']): Promise<void> {
  const parsed = flags.labels !== undefined ? parseNodeLabels(flags.labels) : undefined;
  if (parsed?.errors.length) throw new CliError(parsed.errors.join('\n'));
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await runAgent({
      dataDir: flags.dataDir,
      version: clientVersion().gitVersion ?? 'v0.0.0',
      log: logger('agent'),
      labels: parsed?.labels,
      heartbeatIntervalMs: flags.nodeStatusUpdateFrequency,
      identity,
      signal: ac.signal,
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    flushLogs();
  }
}

export function agentCommand(): Command {
  return addAgentFlags(new Command('agent').description('Run the node agent of a node that has joined (ctl join) the cluster')).action(
    async (flags: AgentFlags) => {
      await runCommand(processIo, async () => {
        await runAgentForeground(flags);
        // The NATS client may still hold timers while it closes; the agent is done.
        process.exit(0);
      });
    },
  );
}
