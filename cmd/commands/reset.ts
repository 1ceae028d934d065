import { Command } from 'commander';
import { defaultAgentDataDir, resetNode } from '../../src/agent/identity.js';
import { processIo } from '../../src/cli/io.js';
import { runCommand } from '../../src/cli/run.js';

// `ctl reset`: forgets this node's membership, like `kubeadm reset`. The control plane keeps
// the Node object (and the node's NATS user) until someone deletes the node there.

export function resetCommand(): Command {
  return new Command('reset')
    .description("Remove this node's identity and local state (undo ctl join); stop the agent first")
    .option('--data-dir <dir>', "the node's data dir", defaultAgentDataDir)
    .action(async (flags: { dataDir: string }) => {
      await runCommand(processIo, async () => {
        const { nodeName, removed } = await resetNode(flags.dataDir);
        if (removed.length === 0) {
          processIo.out(`nothing to reset: no node identity in ${flags.dataDir}\n`);
          return;
        }
        processIo.out(`removed ${removed.join(', ')}\n`);
        const name = nodeName ?? 'NODE';
        processIo.out(
          `The Node object "${name}" stays in the cluster (NotReady) until you delete it on the control plane: ctl delete node ${name}\n`,
        );
      });
    });
}
