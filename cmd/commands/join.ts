import os from 'node:os';
import { Command } from 'commander';
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
}

export function joinCommand(): Command {
  return addAgentFlags(
    new Command('join')
      .description('Join this machine to a cluster as a node, then run its agent')
      .argument('<nats-url>', "the control plane's NATS address, like nats://10.0.0.2:4222")
      .option('--token <token>', 'bootstrap token from ctl token create (id.secret)')
      .option('--discovery-token-ca-cert-hash <sha256:hex>', "the cluster CA's public key hash, from ctl token create --print-join-command")
      .option('--node-name <name>', 'name of the Node object', os.hostname().toLowerCase())
      .option('--join-only', "save the node's identity and exit without running the agent; 'ctl agent' (the skiff-agent service) runs it"),
  ).action(async (url: string, flags: JoinFlags) => {
    await runCommand(processIo, async () => {
      const missing = [!flags.token && '--token', !flags.discoveryTokenCaCertHash && '--discovery-token-ca-cert-hash'].filter(Boolean);
      if (missing.length) {
        throw new CliError(`${missing.join(' and ')} required: run 'ctl token create --print-join-command' on the control plane and paste the command it prints`);
      }
      const labels = parseNodeLabels(flags.labels);
      if (labels.errors.length) throw new CliError(labels.errors.join('\n'));
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
