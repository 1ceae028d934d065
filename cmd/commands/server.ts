import { Command } from 'commander';
import { processIo } from '../../src/cli/io.js';
import { runCommand } from '../../src/cli/run.js';
import { flushLogs, logger } from '../../src/log/logger.js';
import { startControlPlane } from '../../src/server/control-plane.js';

// `ctl server`: the control plane in the foreground until SIGTERM or SIGINT, then a clean stop.

interface ServerFlags {
  dataDir: string;
  bindAddress: string;
  apiPort: string;
  advertiseAddress?: string;
}

export function serverCommand(): Command {
  return new Command('server')
    .description('Run the control plane: the API server, its store and PKI (writes DATA_DIR/admin.kubeconfig)')
    .option('--data-dir <dir>', 'where the store, the cluster CA and admin.kubeconfig live', '/var/lib/skiff/server')
    .option('--bind-address <addr>', 'address the API server listens on', '0.0.0.0')
    .option('--api-port <port>', 'HTTPS port of the API server', '6443')
    .option('--advertise-address <addr>', 'address clients use to reach this server (default: the bind address, or 127.0.0.1 when bound to all)')
    .action(async (flags: ServerFlags) => {
      await runCommand(processIo, async () => {
        const apiPort = Number(flags.apiPort);
        if (!Number.isInteger(apiPort) || apiPort < 0 || apiPort > 65535) {
          throw new Error(`--api-port ${JSON.stringify(flags.apiPort)} is not a port number (0-65535)`);
        }
        const log = logger('control-plane');
        const cp = await startControlPlane({ dataDir: flags.dataDir, bindAddress: flags.bindAddress, apiPort, advertiseAddress: flags.advertiseAddress, log });
        await new Promise<void>((resolve) => {
          const stop = (signal: NodeJS.Signals) => {
            log.info({ signal }, 'stopping the control plane');
            resolve();
          };
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
        await cp.close();
        log.info('control plane stopped');
        flushLogs();
        return 0;
      });
      process.exit(process.exitCode ?? 0);
    });
}
