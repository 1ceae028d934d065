#!/usr/bin/env node
import { Command } from 'commander';
import { apiResourcesCommand } from './commands/api-resources.js';
import { applyCommand } from './commands/apply.js';
import { createCommand } from './commands/create.js';
import { deleteCommand } from './commands/delete.js';
import { describeCommand } from './commands/describe.js';
import { getCommand } from './commands/get.js';
import { logsCommand } from './commands/logs.js';
import { execCommand } from './commands/exec.js';
import { imageCommand } from './commands/image.js';
import { versionCommand } from './commands/version.js';
import { agentCommand } from './commands/agent.js';
import { joinCommand } from './commands/join.js';
import { resetCommand } from './commands/reset.js';
import { checkCommand } from './commands/check.js';
import { tokenCommand } from './commands/token.js';
import { serverCommand } from './commands/server.js';
import { cordonCommand, uncordonCommand } from './commands/cordon.js';
import { topCommand } from './commands/top.js';
import { labelCommand } from './commands/label.js';
import { taintCommand } from './commands/taint.js';
import { drainCommand } from './commands/drain.js';
import { scaleCommand } from './commands/scale.js';
import { setCommand } from './commands/set.js';
import { rolloutCommand } from './commands/rollout.js';

const program = new Command('ctl')
  .description('Skiff: a small, Kubernetes-shaped container cluster. Client commands work like kubectl.')
  .option('--kubeconfig <path>', 'kubeconfig to use (default: $KUBECONFIG, else /var/lib/skiff/server/admin.kubeconfig)')
  .option('-n, --namespace <namespace>', "namespace to act in (default: the kubeconfig context's, else default)")
  .showHelpAfterError()
  .addCommand(getCommand())
  .addCommand(describeCommand())
  .addCommand(topCommand())
  .addCommand(applyCommand())
  .addCommand(createCommand())
  .addCommand(deleteCommand())
  .addCommand(logsCommand())
  .addCommand(execCommand())
  .addCommand(imageCommand())
  .addCommand(apiResourcesCommand())
  .addCommand(scaleCommand())
  .addCommand(setCommand())
  .addCommand(rolloutCommand())
  .addCommand(labelCommand())
  .addCommand(cordonCommand())
  .addCommand(uncordonCommand())
  .addCommand(taintCommand())
  .addCommand(drainCommand())
  .addCommand(versionCommand())
  .addCommand(tokenCommand())
  .addCommand(serverCommand())
  .addCommand(joinCommand())
  .addCommand(agentCommand())
  .addCommand(resetCommand())
  .addCommand(checkCommand());

await program.parseAsync(process.argv);
