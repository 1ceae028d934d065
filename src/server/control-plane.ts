import { constants } from 'node:fs';
import { access, chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildKubeconfig } from '../api/kubeconfig.js';
import { caCertHash } from '../bus/ca-hash.js';
import type { Node } from '../api/types.js';
import { logger, type Logger } from '../log/logger.js';
import { ControlPlaneMetrics } from '../metrics/control-plane.js';
import { startMetricsServer } from '../metrics/http.js';
import { ensureClusterPki, type ClusterPki } from '../pki/cluster-pki.js';
import { startControllers } from '../controllers/index.js';
import { NamespaceLocks } from '../controllers/resource-quota.js';
import { resourceByKind } from '../api/resources.js';
import type { KObject } from '../api/types.js';
import { startScheduler } from '../scheduler/scheduler.js';
import { openLevelStore } from '../store/level-store.js';
import type { Store } from '../store/store.js';
import { AdmissionChain, defaultTolerationSeconds, limitRanger, resourceQuotaAdmission } from './admission.js';
import { ApiServer } from './api-server.js';
import { instrumentStore } from './instrumented-store.js';
import { CleanupStack } from './cleanup-stack.js';
import { qosClassOf } from './handlers.js';
import { namespaceLifecycle } from './namespace-lifecycle.js';
import { natsPlanePki } from './nats-pki.js';
import { startNatsPlane, type NatsPlane } from './nats-plane.js';
import { startPodDispatch } from './pod-dispatch.js';
import { startMirrorPods } from './mirror-pods.js';
import { listNodeImages, loadImageToNode } from './node-images.js';
import { execInPod } from './pod-exec.js';
import { openExecSession } from './pod-exec-session.js';
import { servePodLogs } from './pod-logs.js';
import { prometheusTargets } from './prometheus-sd.js';
import { serveResourceMetrics } from './resource-metrics.js';

// `ctl server`'s process: PKI, store, the HTTPS API and the admin kubeconfig, started in that
// order and closed in reverse. Later parts of the control plane (the NATS plane, scheduler,
// controllers) start between the store and the kubeconfig: the kubeconfig appearing is what
// tells scripts and tests the control plane is up.

export interface ControlPlaneOptions {
  dataDir: string;
  bindAddress: string;
  /** 0 picks a free port (tests). */
  apiPort: number;
  /** The address clients use, written into admin.kubeconfig and the serving certificate. */
  advertiseAddress?: string;
  natsPort: number;
  /** The nats-server binary; default: found on PATH. */
  natsServerPath?: string;
  natsMonitorPort?: number;
  /** A node whose lease is older than this turns NotReady. */
  nodeMonitorGracePeriodMs: number;
  /** --cluster-cidr: pod subnets are /24s of it. Default 10.42.0.0/16. */
  clusterCidr?: string;
  /** How long new pods tolerate the not-ready and unreachable NoExecute taints (DefaultTolerationSeconds). Default 10 each. */
  defaultNotReadyTolerationSeconds?: number;
  defaultUnreachableTolerationSeconds?: number;
  /** Default true. Off only for tests of the API alone, which need pods no scheduler writes to. */
  scheduler?: boolean;
  /** Default true. Off only for tests of the API alone, like `scheduler`. */
  controllers?: boolean;
  /** Plain-HTTP port (on bindAddress) of /metrics and /sd (Prometheus discovery); absent: not served. */
  metricsPort?: number;
  /** Bearer token /metrics and /sd then ask for. */
  metricsToken?: string;
  log?: Logger;
}

export interface ControlPlane {
  /** `https://HOST:PORT`, as written into admin.kubeconfig. */
  readonly url: string;
  readonly port: number;
  readonly caHash: string;
  readonly store: Store;
  readonly pki: ClusterPki;
  readonly api: ApiServer;
  readonly kubeconfigPath: string;
  readonly nats: NatsPlane;
  /** The bound port of /metrics and /sd, when served. */
  readonly metricsPort?: number;
  close(): Promise<void>;
}

const wildcard = (addr: string) => addr === '0.0.0.0' || addr === '::' || addr === '';
const urlHost = (addr: string) => (addr.includes(':') ? `[${addr}]` : addr);

async function prepareDataDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await access(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new Error(`cannot write the data dir ${dir} (${code}): run ctl server as a user who can write it (root for the default /var/lib/skiff/server) or pass --data-dir DIR`, { cause: e });
  }
}

async function writePrivate(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const log = opts.log ?? logger('control-plane');
  const cleanups = new CleanupStack(log, 'the control plane');
  const close = cleanups.close;

  try {
    await prepareDataDir(opts.dataDir);
    const extraSans = [opts.advertiseAddress, wildcard(opts.bindAddress) ? undefined : opts.bindAddress].filter((s): s is string => !!s);
    const pki = await ensureClusterPki(join(opts.dataDir, 'pki'), { extraSans });

    const levelStore = await openLevelStore(join(opts.dataDir, 'store'));
    cleanups.push(() => levelStore.close());
    const metrics = new ControlPlaneMetrics();
    const store = instrumentStore(levelStore, metrics);

    // Quota admission and the quota controller take turns per namespace.
    const quotaLocks = new NamespaceLocks();
    const admission = new AdmissionChain([
      namespaceLifecycle(store),
      defaultTolerationSeconds({ notReadySeconds: opts.defaultNotReadyTolerationSeconds ?? 10, unreachableSeconds: opts.defaultUnreachableTolerationSeconds ?? 10 }),
      limitRanger(store),
      resourceQuotaAdmission(store, quotaLocks),
    ]);
    let ready = false;
    const api = new ApiServer({ tls: { caPem: pki.ca.certPem, certPem: pki.server.certPem, keyPem: pki.server.keyPem }, store, admission, log: logger('api-server'), ready: () => ready, metrics });
    metrics.sources.watchers = () => api.watchCount;
    metrics.sources.nodes = async () => (await store.list('nodes')).items as Node[];
    await api.handlers.ensureSystemNamespaces();

    let port: number;
    try {
      port = await api.listen(opts.apiPort, opts.bindAddress);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') {
        throw new Error(`port ${opts.apiPort} on ${opts.bindAddress} is already in use (another ctl server?): stop what listens there or pass --api-port PORT`, { cause: e });
      }
      if (code === 'EACCES') {
        throw new Error(`not allowed to listen on port ${opts.apiPort} on ${opts.bindAddress}: ports below 1024 need root; pass --api-port PORT`, { cause: e });
      }
      if (code === 'EADDRNOTAVAIL') {
        throw new Error(`${opts.bindAddress} is not an address of this machine: pass a local address to --bind-address, or 0.0.0.0 for all`, { cause: e });
      }
      throw e;
    }
    cleanups.push(() => api.close());

    // Agents reach the control plane only over NATS: join, leases, their pod lists and status.
    const nats = await startNatsPlane({
      dataDir: opts.dataDir,
      bindAddress: opts.bindAddress,
      natsPort: opts.natsPort,
      natsServerPath: opts.natsServerPath ?? 'nats-server',
      natsMonitorPort: opts.natsMonitorPort,
      nodeMonitorGracePeriodMs: opts.nodeMonitorGracePeriodMs,
      clusterCidr: opts.clusterCidr,
      store,
      pki: await natsPlanePki(pki.ca),
      log: logger('nats-plane'),
    });
    cleanups.push(() => nats.close());
    let reconnecting = false;
    metrics.sources.nats = () => ({ connected: !nats.nc.isClosed() && !reconnecting, ...nats.nc.stats() });
    void (async () => {
      for await (const st of nats.nc.status()) {
        if (st.type === 'disconnect' || st.type === 'reconnecting') reconnecting = true;
        else if (st.type === 'reconnect') reconnecting = false;
      }
    })();
    api.setTokenApi({ tokens: nats.tokens, joinCommand: (token) => nats.joinCommand(token) });

    const dispatch = await startPodDispatch({ nc: nats.nc, store, log: logger('pod-dispatch') });
    cleanups.push(() => dispatch.close());
    const mirrors = await startMirrorPods({ nc: nats.nc, store, log: logger('mirror-pods') });
    cleanups.push(() => mirrors.close());
    const podLogDeps = { nc: nats.nc, store, log: logger('pod-logs') };
    api.setPodLogServer((res, namespace, name, query) => servePodLogs(podLogDeps, res, namespace, name, query));
    cleanups.push(() => api.setPodLogServer(undefined));
    api.setPodExecServer((namespace, name, query) => execInPod({ nc: nats.nc, store }, namespace, name, query));
    cleanups.push(() => api.setPodExecServer(undefined));
    api.setExecSessionServer((namespace, name, query) => openExecSession({ nc: nats.nc, store, log: logger('exec') }, namespace, name, query));
    cleanups.push(() => api.setExecSessionServer(undefined));
    const imageDeps = { nc: nats.nc, store, log: logger('node-images') };
    api.setNodeImageServer({
      load: (node, body) => loadImageToNode(imageDeps, node, body),
      list: async (node) => ({ node, images: await listNodeImages(imageDeps, node) }),
    });
    cleanups.push(() => api.setNodeImageServer(undefined));
    const usageDeps = { nc: nats.nc, store, log: logger('resource-metrics') };
    api.setResourceMetricsServer((route) => serveResourceMetrics(usageDeps, route));
    cleanups.push(() => api.setResourceMetricsServer(undefined));

    if (opts.scheduler !== false) {
      const scheduler = startScheduler(store, { log: logger('scheduler'), metrics });
      cleanups.push(() => scheduler.stop());
      metrics.sources.pendingPods = () => scheduler.stats().queue;
      await scheduler.ready;
    }

    if (opts.controllers !== false) {
      // What a controller creates passes the admission an API create would, as the controller's service account.
      const admitAs = (kind: string, controller: string) => {
        const info = resourceByKind(kind)!;
        const user = { name: `system:serviceaccount:kube-system:${controller}`, groups: ['system:serviceaccounts'] };
        return (obj: KObject) => admission.admit({ operation: 'CREATE', info, namespace: obj.metadata.namespace!, name: obj.metadata.name!, object: obj, user });
      };
      const admitPodObject = admitAs('Pod', 'replicaset-controller');
      const admitPod = async (pod: KObject) => {
        const release = await admitPodObject(pod);
        (pod.status as Record<string, unknown>).qosClass = qosClassOf(pod.spec);
        return release;
      };
      const admitReplicaSet = admitAs('ReplicaSet', 'deployment-controller');
      const controllers = startControllers(store, logger('controllers'), { admitPod, admitReplicaSet, quotaLocks });
      cleanups.push(() => controllers.stop());
      await controllers.ready;
    }

    const host = opts.advertiseAddress ?? (wildcard(opts.bindAddress) ? '127.0.0.1' : opts.bindAddress);
    let metricsPort: number | undefined;
    if (opts.metricsPort !== undefined) {
      // Discovery names the control plane's own target by the address clients use, like the kubeconfig.
      const served = await startMetricsServer({
        registry: metrics.registry,
        bindAddress: `${urlHost(opts.bindAddress)}:${opts.metricsPort}`,
        token: opts.metricsToken,
        jsonRoutes: { '/sd': async () => prometheusTargets((await store.list('nodes')).items as Node[], { target: `${urlHost(host)}:${metricsPort}` }) },
        log: logger('metrics'),
      }).catch((e: Error) => {
        throw new Error(e.message.replace('--metrics-bind-address', '--metrics-port'), { cause: e });
      });
      metricsPort = served.port;
      cleanups.push(() => served.close());
    }
    const url = `https://${urlHost(host)}:${port}`;
    const kubeconfigPath = join(opts.dataDir, 'admin.kubeconfig');
    await writePrivate(
      kubeconfigPath,
      buildKubeconfig({ clusterName: 'skiff', server: url, caPem: pki.ca.certPem, userName: 'admin', certPem: pki.admin.certPem, keyPem: pki.admin.keyPem }),
    );
    ready = true;
    const caHash = caCertHash(pki.ca.certPem);
    log.info({ url, caCertHash: caHash, kubeconfig: kubeconfigPath, dataDir: opts.dataDir }, `control plane ready at ${url}; admin kubeconfig: ${kubeconfigPath}`);
    return { url, port, caHash, store, pki, api, kubeconfigPath, nats, metricsPort, close };
  } catch (e) {
    await close();
    throw e;
  }
}
