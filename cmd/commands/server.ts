import { Command, InvalidArgumentError, Option } from 'commander';
import { processIo } from '../../src/cli/io.js';
import { runCommand } from '../../src/cli/run.js';
import { flushLogs, logger } from '../../src/log/logger.js';
import { startControlPlane } from '../../src/server/control-plane.js';
import { parseDurationMs } from './duration.js';
import { readMetricsToken } from './metrics-token.js';

// `ctl server`: the control plane in the foreground until SIGTERM or SIGINT, then a clean stop.

interface ServerFlags {
  dataDir: string;
  bindAddress: string;
  apiPort: string;
  advertiseAddress?: string;
  natsPort: string;
  natsServerPath: string;
  natsMonitorPort?: string;
  nodeMonitorGracePeriod: number;
  metricsPort: string;
  metricsTokenFile?: string;
  clusterCidr: string;
  defaultNotReadyTolerationSeconds: number;
  defaultUnreachableTolerationSeconds: number;
}

function seconds(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${flag} ${JSON.stringify(value)} is not a whole number of seconds (0 or more)`);
    return n;
  };
}

function portNumber(flag: string, value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${flag} ${JSON.stringify(value)} is not a port number (0-65535)`);
  return port;
}

export function serverCommand(): Command {
  return new Command('server')
    .description('Run the control plane: the API server, its store and PKI (writes DATA_DIR/admin.kubeconfig)')
    .option('--data-dir <dir>', 'where the store, the cluster CA and admin.kubeconfig live', '/var/lib/skiff/server')
    .option('--bind-address <addr>', 'address the API server listens on', '0.0.0.0')
    .option('--api-port <port>', 'HTTPS port of the API server', '6443')
    .option('--advertise-address <addr>', 'address clients use to reach this server (default: the bind address, or 127.0.0.1 when bound to all)')
    .option('--nats-port <port>', 'port of the NATS server that agents connect to (TLS)', '4222')
    .option('--nats-server-path <path>', 'the nats-server binary the control plane starts and supervises', 'nats-server')
    .option('--nats-monitor-port <port>', "nats-server's HTTP monitoring port on loopback (off unless given)")
    .option('--metrics-port <port>', 'plain-HTTP port of /metrics and /sd (Prometheus http_sd_configs discovery of every node), on --bind-address; 0 turns it off', '10251')
    .option('--metrics-token-file <file>', 'a file holding a bearer token that /metrics and /sd then ask for')
    .option('--cluster-cidr <cidr>', 'IPv4 range pod IPs come from; each node gets a /24 of it', '10.42.0.0/16')
    .addOption(
      new Option('--node-monitor-grace-period <duration>', 'how long a node may miss lease renewals before it is NotReady')
        .argParser(parseDurationMs)
        .default(15_000, '15s'),
    )
    .addOption(
      new Option('--default-not-ready-toleration-seconds <seconds>', 'how long new pods stay on a node whose Ready is False before they are evicted (added to pods that do not say)')
        .argParser(seconds('--default-not-ready-toleration-seconds'))
        .default(10),
    )
    .addOption(
      new Option('--default-unreachable-toleration-seconds <seconds>', 'how long new pods stay on a node that stopped renewing its lease before they are evicted (added to pods that do not say)')
        .argParser(seconds('--default-unreachable-toleration-seconds'))
        .default(10),
    )
    .action(async (flags: ServerFlags) => {
      await runCommand(processIo, async () => {
        const log = logger('control-plane');
        const metricsPort = portNumber('--metrics-port', flags.metricsPort);
        const metricsToken = flags.metricsTokenFile ? await readMetricsToken(flags.metricsTokenFile) : undefined;
        const cp = await startControlPlane({
          dataDir: flags.dataDir,
          bindAddress: flags.bindAddress,
          apiPort: portNumber('--api-port', flags.apiPort),
          advertiseAddress: flags.advertiseAddress,
          natsPort: portNumber('--nats-port', flags.natsPort),
          natsServerPath: flags.natsServerPath,
          natsMonitorPort: flags.natsMonitorPort === undefined ? undefined : portNumber('--nats-monitor-port', flags.natsMonitorPort),
          nodeMonitorGracePeriodMs: flags.nodeMonitorGracePeriod,
          metricsPort: metricsPort === 0 ? undefined : metricsPort,
          metricsToken,
          clusterCidr: flags.clusterCidr,
          defaultNotReadyTolerationSeconds: flags.defaultNotReadyTolerationSeconds,
          defaultUnreachableTolerationSeconds: flags.defaultUnreachableTolerationSeconds,
          log,
        });
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
