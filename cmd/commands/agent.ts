import { Command, Option } from 'commander';
import os from 'node:os';
import { join } from 'node:path';
import { parseNodeLabels } from '../../src/agent/labels.js';
import { defaultAgentDataDir, loadIdentity, saveSettings, type AgentIdentity } from '../../src/agent/identity.js';
import { AgentMetrics, UsageSummary } from '../../src/agent/metrics.js';
import { internalIp } from '../../src/agent/node-info.js';
import { ImageReceiver } from '../../src/agent/images.js';
import { CriPodManager } from '../../src/agent/pods/manager.js';
import { DEFAULT_CNI_BRIDGE, defaultPodCidr, startNodeRuntime } from '../../src/agent/pods/node-runtime.js';
import { IpRouteTable, PodRoutes } from '../../src/agent/pod-routes.js';
import { removeAgentPid, runningAgentPid, writeAgentPid } from '../../src/agent/node-reset.js';
import { DEFAULT_REGISTRIES_FILE, loadRegistries } from '../../src/agent/registries-file.js';
import { runAgent } from '../../src/agent/run.js';
import { StaticPodSource } from '../../src/agent/static-pods.js';
import { CliError } from '../../src/cli/errors.js';
import { processIo } from '../../src/cli/io.js';
import { runCommand } from '../../src/cli/run.js';
import { clientVersion } from '../../src/cli/version.js';
import { importImage } from '../../src/cri/image-import.js';
import { flushLogs, logger } from '../../src/log/logger.js';
import { parseBindAddress, startMetricsServer } from '../../src/metrics/http.js';
import { parseDurationMs } from './duration.js';
import { readMetricsToken } from './metrics-token.js';

// `ctl agent`: runs an already-joined node (what the systemd unit starts). No token needed:
// the node's identity from `ctl join` is in its data dir.

export interface AgentFlags {
  dataDir: string;
  labels?: string;
  nodeStatusUpdateFrequency: number;
  containerRuntimeEndpoint?: string;
  podCidr?: string;
  cniBridge?: string;
  privateRegistry?: string;
  podManifestPath?: string;
  metricsBindAddress?: string;
  metricsTokenFile?: string;
  nodeIp?: string;
}

export const DEFAULT_AGENT_METRICS_BIND_ADDRESS = '0.0.0.0:10249';

export function addAgentFlags(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', "the node's identity and local state", defaultAgentDataDir)
    .option('--labels <k=v,...>', 'labels for this Node (kubelet --node-labels); given to ctl agent, they replace those given at join')
    .addOption(
      new Option('--node-status-update-frequency <duration>', 'how often the node renews its lease with the control plane').argParser(parseDurationMs).default(4000, '4s'),
    )
    .option('--container-runtime-endpoint <endpoint>', "CRI socket of an existing runtime (unix:///run/containerd/containerd.sock); default: the agent runs its own containerd under --data-dir")
    .option('--pod-cidr <cidr>', "pod subnet of the agent's own containerd; default: the one the control plane assigned (Node spec.podCIDR)")
    .option('--node-ip <ip>', 'IPv4 address of this node that other nodes route pod traffic to (default: the first non-loopback address)')
    .option('--cni-bridge <name>', `Linux bridge of the agent's own containerd (default ${DEFAULT_CNI_BRIDGE})`)
    .option('--private-registry <file>', `registry mirrors, TLS and credentials in k3s's registries.yaml format (default ${DEFAULT_REGISTRIES_FILE} when it exists)`)
    .option('--pod-manifest-path <dir>', 'directory of static pod manifests this node runs by itself (kubelet staticPodPath); default DATA_DIR/manifests')
    .option('--metrics-bind-address <host:port>', `where the agent serves Prometheus /metrics and /healthz (default ${DEFAULT_AGENT_METRICS_BIND_ADDRESS}); port 0 picks a free one`)
    .option('--metrics-token-file <file>', 'a file holding a bearer token /metrics then asks for (Prometheus: authorization.credentials_file)');
}

/** Runtime flags given now replace those saved; the saved ones apply when none are given. */
export async function runtimeSettings(flags: AgentFlags, identity: AgentIdentity): Promise<AgentIdentity> {
  const next = {
    ...identity,
    ...(flags.containerRuntimeEndpoint !== undefined ? { containerRuntimeEndpoint: flags.containerRuntimeEndpoint } : {}),
    ...(flags.podCidr !== undefined ? { podCidr: flags.podCidr } : {}),
    ...(flags.cniBridge !== undefined ? { cniBridge: flags.cniBridge } : {}),
    ...(flags.metricsBindAddress !== undefined ? { metricsBindAddress: flags.metricsBindAddress } : {}),
    ...(flags.nodeIp !== undefined ? { nodeIp: flags.nodeIp } : {}),
  };
  if (
    next.containerRuntimeEndpoint !== identity.containerRuntimeEndpoint ||
    next.podCidr !== identity.podCidr ||
    next.cniBridge !== identity.cniBridge ||
    next.metricsBindAddress !== identity.metricsBindAddress ||
    next.nodeIp !== identity.nodeIp
  ) {
    const { caPem: _ca, certPem: _cert, keyPem: _key, nkeySeed: _seed, ...settings } = next;
    await saveSettings(flags.dataDir, settings);
  }
  return next;
}

/** Runs the agent until SIGINT/SIGTERM; shared by `ctl agent` and `ctl join`. */
export async function runAgentForeground(flags: AgentFlags, identity?: Parameters<typeof runAgent>[0]['identity']): Promise<void> {
  const parsed = flags.labels !== undefined ? parseNodeLabels(flags.labels) : undefined;
  if (parsed?.errors.length) throw new CliError(parsed.errors.join('\n'));
  if (flags.metricsBindAddress !== undefined) parseBindAddress(flags.metricsBindAddress);
  const metricsToken = flags.metricsTokenFile ? await readMetricsToken(flags.metricsTokenFile) : undefined;
  const registries = loadRegistries(flags.privateRegistry);
  const id = await runtimeSettings(flags, identity ?? (await loadIdentity(flags.dataDir)));
  const other = runningAgentPid(flags.dataDir);
  if (other !== undefined) throw new CliError(`another agent (pid ${other}) is running on ${flags.dataDir}: stop it first (sudo systemctl stop skiff-agent)`);
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // Recorded for `ctl reset`, which refuses while an agent runs.
  await writeAgentPid(flags.dataDir);
  try {
    const node = await startNodeRuntime({
      dataDir: flags.dataDir,
      nodeName: id.nodeName,
      containerRuntimeEndpoint: id.containerRuntimeEndpoint,
      podCidr: id.podCidr ?? id.assignedPodCidr,
      cniBridge: id.cniBridge,
      registries,
      log: logger('node-runtime'),
    });
    const runtimeName = (await node.version()).split('://')[0];
    // `ctl image load` imports into the containerd the pods run on: the agent's own, or the one
    // --container-runtime-endpoint names (ctr speaks containerd's API on that same socket).
    const images = new ImageReceiver({
      dataDir: flags.dataDir,
      runtime: node.runtime,
      importArchive: (path) => importImage(node.managed?.address ?? node.runtime.endpoint, path, { snapshotter: node.managed?.snapshotter }),
      log: logger('images'),
    });
    await images.cleanLeftovers();
    const metrics = new AgentMetrics({ runtime: node.runtime, dataDir: flags.dataDir, log: logger('metrics') });
    const podManager = new CriPodManager({
      runtime: node.runtime,
      dataDir: flags.dataDir,
      nodeName: id.nodeName,
      hostIP: id.nodeIp ?? internalIp(os.networkInterfaces()),
      runtimeName,
      images,
      containerd: node.containerd,
      staticPods: new StaticPodSource({ dir: flags.podManifestPath ?? join(flags.dataDir, 'manifests'), nodeName: id.nodeName, log: logger('static-pods') }),
      log: logger('pods'),
      onPodSeen: metrics.podSeen,
      onProbeResult: metrics.onProbeResult,
    });
    podManager.onStatus(metrics.podStatus);
    const usage = new UsageSummary({ runtime: node.runtime, nodeName: id.nodeName });
    let metricsServer: Awaited<ReturnType<typeof startMetricsServer>>;
    try {
      metricsServer = await startMetricsServer({ registry: metrics.registry, bindAddress: id.metricsBindAddress ?? DEFAULT_AGENT_METRICS_BIND_ADDRESS, token: metricsToken, log: logger('metrics') });
    } catch (e) {
      await node.close();
      throw new CliError((e as Error).message);
    }
    const podCidr = id.podCidr ?? id.assignedPodCidr ?? (id.containerRuntimeEndpoint ? undefined : defaultPodCidr(id.nodeName));
    const routes = new PodRoutes({ table: new IpRouteTable(), ownPodCidr: () => podCidr, log: logger('pod-routes') });
    try {
      // Pods kept on disk run (and restart) before, and without, any control plane.
      await podManager.startLocal();
      routes.start();
      await runAgent({
        dataDir: flags.dataDir,
        version: clientVersion().gitVersion ?? 'v0.0.0',
        log: logger('agent'),
        labels: parsed?.labels,
        heartbeatIntervalMs: flags.nodeStatusUpdateFrequency,
        identity: id,
        podManager,
        onNetwork: (network) => void routes.apply(network),
        containerRuntimeVersion: () => node.version(),
        metrics: { host: metricsServer.host, port: metricsServer.port },
        statsSummary: () => usage.summary(),
        signal: ac.signal,
      });
    } finally {
      routes.stop();
      await podManager.stop();
      await metricsServer.close();
      await node.close();
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await removeAgentPid(flags.dataDir);
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
