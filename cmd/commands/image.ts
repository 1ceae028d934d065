import { Command } from 'commander';
import { runImageList, runImageLoad } from '../../src/cli/images.js';
import { processIo } from '../../src/cli/io.js';
import { runCommand, withContext } from '../../src/cli/run.js';

export function imageCommand(): Command {
  const image = new Command('image').description("Manage the container images on nodes (for nodes that cannot reach a registry)");
  image
    .command('load')
    .description("Load an image archive (OCI layout or docker save .tar) into nodes' containerd (k8s.io namespace)")
    .argument('<file>', 'the image archive')
    .option('--node <name>', 'the node to load it on')
    .option('--all', 'every Ready node, several at once')
    .action(async (file: string, _opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, () =>
        withContext(o, (ctx) => runImageLoad(ctx.client, processIo, { file, node: o.node, all: Boolean(o.all), tty: Boolean(process.stdout.isTTY) })),
      );
    });
  image
    .command('ls')
    .alias('list')
    .description('List the images on every Ready node, or on one')
    .option('--node <name>', 'only this node')
    .action(async (_opts, cmd: Command) => {
      const o = cmd.optsWithGlobals();
      await runCommand(processIo, () => withContext(o, (ctx) => runImageList(ctx.client, processIo, { node: o.node })));
    });
  return image;
}
