import { Command, InvalidArgumentError } from 'commander';
import { humanDuration } from '../../src/cli/printers/age.js';
import { renderTable } from '../../src/cli/printers/table.js';
import { processIo } from '../../src/cli/io.js';
import { runCommand, withContext } from '../../src/cli/run.js';
import { parseDurationMs } from './duration.js';

// `ctl token create|list|delete`: bootstrap tokens for `ctl join`, managed through the API
// server like kubeadm's `token` commands. The secret is shown once, at creation.

const tokensPath = '/apis/bootstrap.skiff.io/v1/tokens';

interface TokenObject {
  metadata: { name: string; creationTimestamp?: string };
  spec: { description?: string; expiration?: string };
  status?: { token: string; joinCommand?: string };
}

function ttlSeconds(text: string): number {
  const ms = parseDurationMs(text);
  if (ms % 1000 !== 0) throw new InvalidArgumentError(`"${text}": a token's TTL is whole seconds`);
  return ms / 1000;
}

export function tokenCommand(): Command {
  const token = new Command('token').description('Manage bootstrap tokens that let nodes join (ctl join)');

  token
    .command('create')
    .description('Create a bootstrap token and print it (or the whole join command)')
    .option('--ttl <duration>', 'how long the token stays valid (0: never expires)', ttlSeconds, 24 * 3600)
    .option('--description <text>', 'what the token is for, shown by token list')
    .option('--print-join-command', "print the full 'ctl join' command line to run on the new node")
    .action(async (opts: { ttl: number; description?: string; printJoinCommand?: boolean }, cmd: Command) => {
      await runCommand(processIo, () =>
        withContext(cmd.optsWithGlobals(), async ({ client }) => {
          const created = await client.request<TokenObject>('POST', tokensPath, { body: { spec: { ttlSeconds: opts.ttl, description: opts.description } } });
          const line = opts.printJoinCommand ? created.status?.joinCommand : created.status?.token;
          processIo.out(`${line ?? ''}\n`);
        }),
      );
    });

  token
    .command('list')
    .description('List bootstrap tokens (never their secrets)')
    .action(async (_opts, cmd: Command) => {
      await runCommand(processIo, () =>
        withContext(cmd.optsWithGlobals(), async ({ client }) => {
          const list = await client.request<{ items: TokenObject[] }>('GET', tokensPath);
          const now = Date.now();
          const rows = list.items.map((t) => [
            t.metadata.name,
            t.spec.expiration ? humanDuration(Date.parse(t.spec.expiration) - now) : '<forever>',
            t.spec.expiration ?? '<never>',
            t.spec.description ?? '',
          ]);
          if (rows.length === 0) processIo.err('No bootstrap tokens found.\n');
          else processIo.out(`${renderTable(['TOKEN-ID', 'TTL', 'EXPIRES', 'DESCRIPTION'], rows)}\n`);
        }),
      );
    });

  token
    .command('delete')
    .description('Delete bootstrap tokens; nodes can no longer join with them')
    .argument('<id...>', 'token ids (the part before the dot), or whole tokens')
    .action(async (ids: string[], _opts, cmd: Command) => {
      await runCommand(processIo, () =>
        withContext(cmd.optsWithGlobals(), async ({ client }) => {
          for (const raw of ids) {
            const id = raw.split('.')[0];
            await client.request('DELETE', `${tokensPath}/${encodeURIComponent(id)}`);
            processIo.out(`bootstrap token "${id}" deleted\n`);
          }
        }),
      );
    });

  return token;
}
