import os from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { SimulatedNodes } from '../../src/agent/simulated-nodes.js';
import { clientVersion } from '../../src/cli/version.js';
import { parseNodeLabels } from '../../src/agent/labels.js';
import { joinCluster } from '../../src/agent/join.js';
import { nodeJoinCrypto } from '../../src/agent/node-key.js';
import { CliError } from '../../src/cli/errors.js';
import { processIo } from '../../src/cli/io.js';
import { runCommand } from '../../src/cli/run.js';
import { logger } from '../../src/log/logger.js';
import { addAgentFlags, runAgentForeground, runtimeSettings, type AgentFlags } from './agent.js';

// `ctl join NATS_URL --token T --discovery-token-ca-cert-hash sha256:H`: kubeadm join's
// checks, then the agent in the foreground.

interface JoinFlags extends AgentFlags {
  token?: string;
  discoveryTokenCaCertHash?: string;
  nodeName: string;
  joinOnly?: boolean;
  simulate?: number;
}

function nodeCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 10_000) throw new InvalidArgumentError(`--simulate ${JSON.stringify(value)} is not a node count (1-10000)`);
  return n;
}

/** `--simulate N`: N nodes with a fake runtime in this process, until SIGINT or SIGTERM. */
async function runSimulated(url: string, flags: JoinFlags, labels: Record<string, string>): Promise<void> {
  const nodes = new SimulatedNodes({
    server: url,
    token: flags.token!,
    caCertHash: flags.discoveryTokenCaCertHash!,
    count: flags.simulate!,
    namePrefix: flags.nodeName,
    dataDir: flags.dataDir,
    version: clientVersion().gitVersion ?? 'v0.0.0',
    labels,
    heartbeatIntervalMs: flags.nodeStatusUpdateFrequency,
    log: logger('simulated-nodes'),
    onStarted: (n, total) => n % 100 === 0 && n < total && processIo.err(`${n}/${total} simulated nodes started\n`),
  });
  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await Promise.race([nodes.start(), stop]);
  processIo.err(`${nodes.started} simulated nodes ${flags.nodeName}-0… are running (identities in ${flags.dataDir}); Ctrl-C stops them\n`);
  await stop;
  await nodes.stop();
}

export function joinCommand(): Command {
  return addAgentFlags(
    new Command('join')
      .description('Join this machine to a cluster as a node, then run its agent')
      .argument('<nats-url>', "the control plane's NATS address, like nats://10.0.0.2:4222")
      .option('--token <token>', 'bootstrap token from ctl token create (id.secret)')
      .option('--discovery-token-ca-cert-hash <sha256:hex>', "the cluster CA's public key hash, from ctl token create --print-join-command")
      .option('--node-name <name>', 'name of the Node object', os.hostname().toLowerCase())
      .option('--join-only', "save the node's identity and exit without running the agent; 'ctl agent' (the skiff-agent service) runs it")

      .addOption(
        new Option('--simulate <count>', 'join COUNT simulated nodes named NODE-NAME-0, NODE-NAME-1, … with a fake runtime that reports every pod Running (scale tests, like kwok); started again with the same flags they reuse their identities')
          .argParser(nodeCount),
      ),
  ).action(async (url: string, flags: JoinFlags) => {
    await runCommand(processIo, async () => {
      const missing = [!flags.token && '--token', !flags.discoveryTokenCaCertHash && '--discovery-token-ca-cert-hash'].filter(Boolean);
      if (missing.length) {
        throw new CliError(`${missing.join(' and ')} required: run 'ctl token create --print-join-command' on the control plane and paste the command it prints`);
      }
      const labels = parseNodeLabels(flags.labels);
      if (labels.errors.length) throw new CliError(labels.errors.join('\n'));
      if (flags.simulate) {
        await runSimulated(url, flags, labels.labels);
        process.exit(0);
      }
      const identity = await joinCluster({
        server: url,
        token: flags.token!,
        caCertHash: flags.discoveryTokenCaCertHash!,
        nodeName: flags.nodeName,
        dataDir: flags.dataDir,
        labels: labels.labels,
        containerRuntimeEndpoint: flags.containerRuntimeEndpoint,
        metricsBindAddress: flags.metricsBindAddress,
        crypto: nodeJoinCrypto,
        log: logger('join'),
      });
      processIo.err(`This node has joined the cluster as "${identity.nodeName}". Its identity is in ${flags.dataDir}; 'ctl agent' restarts it later.\n`);
      if (flags.joinOnly) {
        await runtimeSettings(flags, identity);
        return 0;
      }
      await runAgentForeground({ ...flags, labels: undefined }, identity);
      process.exit(0);
    });
  });
}
