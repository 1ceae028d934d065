import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { Node } from '../../src/api/types.js';
import { importImage } from '../../src/cri/image-import.js';
import { testImages } from '../../src/cri/local-images.js';
import { writeOciArchive } from '../../src/cri/oci-image.js';
import { freePort, repoRoot, sleep, stopProcess, TestCluster, type CtlProcess } from './harness.js';

// Metrics end to end: `ctl server` and two agents joined with `ctl join`, each on its own
// containerd, and a real Prometheus started with deploy/prometheus.yml (its discovery URL pointed
// at this server, a 1 s scrape interval). Prometheus must find both nodes and the control plane
// through /sd and scrape them; `ctl top` must print numbers read from the nodes.

const nodes = ['metrics-a', 'metrics-b'];
const bridges = nodes.map(() => `sk${randomBytes(4).toString('hex')}`);
let cluster: TestCluster;
const agents: CtlProcess[] = [];
let prometheus: ChildProcess | undefined;
let promUrl = '';
let metricsPort = 0;
let promLog = '';

async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(500);
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what} (last error: ${(last as Error)?.message})\nserver:\n${cluster.log.slice(-2000)}\nagents:\n${agents.map((a) => a.stderr.slice(-1500)).join('\n')}\nprometheus:\n${promLog.slice(-2000)}`,
  );
}

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(q: string): Promise<PromSample[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await res.json()) as { status: string; data?: { result: PromSample[] }; error?: string };
  assert.equal(body.status, 'success', `Prometheus query ${q} failed: ${body.error}`);
  return body.data!.result;
}

before(async () => {
  metricsPort = await freePort();
  cluster = await TestCluster.start({ serverArgs: ['--nats-port', String(await freePort()), '--metrics-port', String(metricsPort)] });
  const token = await cluster.ctl(['token', 'create', '--description', 'e2e metrics', '--print-join-command']);
  assert.equal(token.code, 0, token.stderr);
  const archive = join(cluster.tempDir('metrics-images'), 'images.tar');
  await writeOciArchive(await testImages(), archive);
  for (const [i, name] of nodes.entries()) {
    const dataDir = cluster.tempDir(`agent-${name}`);
    agents.push(
      cluster.spawnCtl([
        ...token.stdout.trim().split(' ').slice(1),
        ...['--node-name', name, '--data-dir', dataDir, '--node-status-update-frequency', '500ms'],
        ...['--cni-bridge', bridges[i], '--pod-cidr', `10.88.${randomInt(0, 256)}.0/24`],
      ]),
    );
    await waitFor(`${name} Ready`, 60_000, async () => /\sReady\s/.test((await cluster.ctl(['get', 'node', name, '--no-headers'])).stdout));
    const config = readFileSync(join(dataDir, 'containerd', 'config.toml'), 'utf8');
    const snapshotter = /^\s*snapshotter\s*=\s*"([^"]+)"/m.exec(config)?.[1] ?? 'overlayfs';
    await importImage(join(dataDir, 'containerd', 'containerd.sock'), archive, { snapshotter });
  }

  // deploy/prometheus.yml as shipped, with only the discovery URL and the intervals changed.
  const promDir = cluster.tempDir('prometheus');
  const config = parseYaml(readFileSync(join(repoRoot, 'deploy/prometheus.yml'), 'utf8')) as {
    global: Record<string, string>;
    scrape_configs: { http_sd_configs: { url: string; refresh_interval?: string }[] }[];
  };
  config.global.scrape_interval = '1s';
  config.global.evaluation_interval = '1s';
  for (const sd of config.scrape_configs[0].http_sd_configs) {
    sd.url = sd.url.replace('localhost:10251', `127.0.0.1:${metricsPort}`);
    sd.refresh_interval = '1s';
  }
  assert.ok(config.scrape_configs[0].http_sd_configs[0].url.endsWith(`:${metricsPort}/sd`), 'the shipped config discovers through the server on its metrics port');
  writeFileSync(join(promDir, 'prometheus.yml'), toYaml(config));
  promUrl = `http://127.0.0.1:${await freePort()}`;
  prometheus = spawn(
    '/usr/bin/prometheus',
    [`--config.file=${join(promDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(promDir, 'data')}`, `--web.listen-address=${promUrl.slice('http://'.length)}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (d: Buffer) => (promLog = (promLog + d.toString('utf8')).slice(-20_000));
  prometheus.stdout!.on('data', keep);
  prometheus.stderr!.on('data', keep);
  await waitFor('Prometheus ready', 30_000, async () => (await fetch(`${promUrl}/-/ready`)).ok);
});

after(async () => {
  if (prometheus) await stopProcess(prometheus);
  await cluster?.ctl(['delete', 'pod', 'web', '--grace-period', '1'], { timeoutMs: 60_000 }).catch(() => undefined);
  if (cluster) await waitFor('every pod to be gone', 60_000, async () => (await cluster.ctl(['get', 'pods', '--no-headers'])).stdout.trim() === '').catch(() => undefined);
  for (const a of agents) await a.stop();
  await cluster?.stop();
  for (const b of bridges) spawnSync('ip', ['link', 'del', b], { stdio: 'ignore' });
});

test('each agent reports its metrics endpoint in its Node, and discovery lists it with the node labels', { timeout: 60_000 }, async () => {
  const client = cluster.client();
  try {
    for (const name of nodes) {
      const node = await client.request<Node>('GET', `/api/v1/nodes/${name}`);
      const port = (node.status?.daemonEndpoints as { kubeletEndpoint?: { Port?: number } })?.kubeletEndpoint?.Port;
      assert.ok(port && port > 0, `${name}: daemonEndpoints.kubeletEndpoint.Port is the agent's bound metrics port`);
      assert.equal(node.metadata.annotations?.['skiff.io/metrics-endpoint'], `127.0.0.1:${port}`, `${name}: the endpoint with the address the agent bound`);
      const healthz = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(await healthz.text(), 'ok', `${name}: /healthz beside /metrics`);
    }
  } finally {
    client.close();
  }
  const groups = (await (await fetch(`http://127.0.0.1:${metricsPort}/sd`)).json()) as { targets: string[]; labels: Record<string, string> }[];
  for (const name of nodes) {
    const g = groups.find((x) => x.labels.node === name);
    assert.ok(g, `discovery lists ${name}: ${JSON.stringify(groups)}`);
    assert.equal(g.labels.job, 'skiff-nodes', 'nodes are their own job');
    assert.equal(g.labels.__meta_kubernetes_node_label_kubernetes_io_hostname, name, 'node labels as kubernetes_sd-style meta labels');
  }
  assert.ok(
    groups.some((g) => g.labels.job === 'skiff-control-plane' && g.targets[0] === `127.0.0.1:${metricsPort}`),
    `the control plane lists itself: ${JSON.stringify(groups)}`,
  );
});

test('Prometheus discovers and scrapes both nodes and the control plane; node, container and control-plane series arrive', { timeout: 240_000 }, async () => {
  const manifest = join(cluster.tempDir('metrics-manifests'), 'web.yaml');
  writeFileSync(
    manifest,
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: main\n    image: docker.io/library/busybox:1.36\n    imagePullPolicy: Never\n    command: ['sleep', '3600']\n    readinessProbe:\n      exec:\n        command: ['true']\n      periodSeconds: 1\n`,
  );
  const applied = await cluster.ctl(['apply', '-f', manifest]);
  assert.equal(applied.code, 0, applied.stderr);
  await waitFor('pod web Running', 90_000, async () => / Running /.test((await cluster.ctl(['get', 'pod', 'web', '--no-headers'])).stdout));

  const up = await waitFor('up == 1 for both nodes and the control plane', 90_000, async () => {
    const samples = await query('up');
    const ok = (pred: (m: Record<string, string>) => boolean) => samples.some((s) => pred(s.metric) && s.value[1] === '1');
    return nodes.every((n) => ok((m) => m.job === 'skiff-nodes' && m.node === n)) && ok((m) => m.job === 'skiff-control-plane') && samples;
  });
  assert.ok(up.length >= 3, 'three targets scraped');

  for (const name of nodes) {
    const mem = await waitFor(`node_memory_MemAvailable_bytes of ${name}`, 30_000, async () => {
      const s = await query(`node_memory_MemAvailable_bytes{node="${name}"}`);
      return s.length > 0 && s;
    });
    assert.ok(Number(mem[0].value[1]) > 0, `${name}: available memory is a positive number of bytes`);
  }
  const cpu = await query('node_cpu_seconds_total{mode="idle"}');
  assert.ok(cpu.length >= 2, 'idle CPU seconds per CPU per node');

  const ws = await waitFor('container_memory_working_set_bytes of pod web', 60_000, async () => {
    const s = await query('container_memory_working_set_bytes{namespace="default",pod="web",container="main"}');
    return s.length > 0 && s;
  });
  assert.ok(Number(ws[0].value[1]) > 0, 'the running container uses some memory');
  const started = await query('container_start_time_seconds{pod="web"}');
  assert.ok(started.length === 1 && Number(started[0].value[1]) > 1.7e9, 'the container start time is an epoch in seconds');
  const running = await query('sum(kubelet_running_pods)');
  assert.ok(running.length === 1 && Number(running[0].value[1]) >= 1, 'the pod counts as running');
  const startLatency = await waitFor('a pod start latency observation', 30_000, async () => {
    const s = await query('sum(kubelet_pod_start_duration_seconds_count)');
    return s.length === 1 && Number(s[0].value[1]) >= 1 && s;
  });
  assert.ok(Number(startLatency[0].value[1]) >= 1, 'the start of web was timed');
  const probes = 'sum(prober_probe_total{namespace="default",pod="web",container="main",probe_type="Readiness",result="successful"})';
  const first = await waitFor('a readiness probe attempt counted', 60_000, async () => {
    const s = await query(probes);
    return s.length === 1 && Number(s[0].value[1]) >= 1 && Number(s[0].value[1]);
  });
  await waitFor('prober_probe_total to grow', 60_000, async () => {
    const s = await query(probes);
    return s.length === 1 && Number(s[0].value[1]) > first;
  });

  const requests = await waitFor('apiserver_request_total for pods', 30_000, async () => {
    const s = await query('apiserver_request_total{resource="pods",code="201",verb="POST"}');
    return s.length > 0 && s;
  });
  assert.ok(Number(requests[0].value[1]) >= 1, 'the pod create was counted');
  const attempts = await query('scheduler_schedule_attempts_total{result="scheduled"}');
  assert.ok(attempts.length === 1 && Number(attempts[0].value[1]) >= 1, 'the scheduling of web was counted');
  const ready = await query('kube_node_status_condition{condition="Ready",status="true"}');
  assert.equal(ready.filter((s) => s.value[1] === '1').length, 2, 'both nodes Ready');
  const nats = await query('skiff_nats_connected');
  assert.ok(nats.length === 1 && nats[0].value[1] === '1', 'the control plane is connected to NATS');
  const store = await query('skiff_store_request_duration_seconds_count{operation="create",resource="pods"}');
  assert.ok(store.length === 1 && Number(store[0].value[1]) >= 1, 'store writes are timed');
});

test('the agent exports the probe counter the prober feeds', { timeout: 30_000 }, async () => {
  const groups = (await (await fetch(`http://127.0.0.1:${metricsPort}/sd`)).json()) as { targets: string[]; labels: Record<string, string> }[];
  const target = groups.find((g) => g.labels.node === nodes[0])!.targets[0];
  const text = await (await fetch(`http://${target}/metrics`)).text();
  assert.match(text, /^# TYPE prober_probe_total counter$/m, 'prober_probe_total is registered');
  assert.match(text, /^# TYPE kube_pod_container_status_restarts_total counter$/m, 'restart counts are registered');
  assert.match(text, /^process_resident_memory_bytes \d+/m, 'default process metrics');
});

test('ctl top nodes and ctl top pods print usage read from the nodes', { timeout: 60_000 }, async () => {
  const tn = await cluster.ctl(['top', 'nodes']);
  assert.equal(tn.code, 0, tn.stderr);
  assert.match(tn.stdout, /^NAME\s+CPU\(cores\)\s+CPU%\s+MEMORY\(bytes\)\s+MEMORY%$/m, `kubectl's columns:\n${tn.stdout}`);
  for (const name of nodes) assert.match(tn.stdout, new RegExp(`^${name}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%$`, 'm'), `a line of numbers for ${name}:\n${tn.stdout}`);

  const tp = await cluster.ctl(['top', 'pods']);
  assert.equal(tp.code, 0, tp.stderr);
  assert.match(tp.stdout, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)$/m, `kubectl's columns:\n${tp.stdout}`);
  const line = /^web\s+(\d+)m\s+(\d+)Mi$/m.exec(tp.stdout);
  assert.ok(line, `a line for web:\n${tp.stdout}`);

  const all = await cluster.ctl(['top', 'pods', '-A']);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /^default\s+web\s+\d+m\s+\d+Mi$/m, `-A adds the namespace:\n${all.stdout}`);

  const none = await cluster.ctl(['top', 'pods', '-n', 'kube-system']);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stderr, /No resources found in kube-system namespace/, 'an empty namespace says so');
});
