import { Command } from 'commander';
import { defaultAgentDataDir } from '../../src/agent/identity.js';
import { resetNode } from '../../src/agent/node-reset.js';
import { processIo } from '../../src/cli/io.js';
import { runCommand } from '../../src/cli/run.js';
import { logger } from '../../src/log/logger.js';

// `ctl reset`: undoes `ctl join` on this machine, like `kubeadm reset`: the node's pods and
// containers, its containerd, pod bridge and routes, and its data dir. The control plane keeps
// the Node object (and the node's NATS user) until someone deletes the node there.

export function resetCommand(): Command {
  return new Command('reset')
    .description("Remove this node's pods, containers, pod network state, identity and data dir (undo ctl join); stop the agent first")
    .option('--data-dir <dir>', "the node's data dir", defaultAgentDataDir)
    .option('--force', 'reset even while an agent runs on the data dir')
    .action(async (flags: { dataDir: string; force?: boolean }) => {
      await runCommand(processIo, async () => {
        const r = await resetNode(flags.dataDir, { force: flags.force, log: logger('reset') });
        for (const step of r.steps) processIo.out(`${step}\n`);
        if (r.removed.length === 0 && r.steps.length === 0) {
          processIo.out(`nothing to reset: no node identity in ${flags.dataDir}\n`);
          return;
        }
        if (r.removedContainers || r.removedPods) processIo.out(`removed ${r.removedPods} pod sandbox(es) and ${r.removedContainers} container(s)\n`);
        if (r.removed.length) processIo.out(`removed ${r.removed.join(', ')}\n`);
        if (r.nodeName) {
          processIo.out(`The Node object "${r.nodeName}" stays in the cluster (NotReady) until you delete it on the control plane: ctl delete node ${r.nodeName}\n`);
        }
      });
    });
}
