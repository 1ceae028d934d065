import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { connectRuntime } from '../../../src/cri/client.js';
import { CriConnectError } from '../../../src/cri/errors.js';

// Each connect check fails with its own message: a stale socket, a containerd without the CRI
// plugin, and a runtime whose network is not ready (served by a stand-in CRI server).

let dir: string;
const children: ChildProcess[] = [];
const servers: grpc.Server[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-cri-connect-'));
});

after(async () => {
  for (const s of servers) s.forceShutdown();
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await gone;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor(path: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`${path} did not appear within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function expectProblem(problem: string, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof CriConnectError, String(err));
    assert.equal(err.problem, problem);
    assert.match(err.message, message);
    return true;
  };
}

test('a socket nobody listens on is reported as unreachable', { timeout: 15_000 }, async () => {
  const socket = join(dir, 'stale.sock');
  // A listener killed outright leaves its socket file behind, as a crashed containerd does.
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)})`], { stdio: 'ignore' });
  children.push(child);
  await waitFor(socket, 5_000);
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
  await assert.rejects(connectRuntime(`unix://${socket}`, { connectTimeoutMs: 500 }),
    expectProblem('unreachable', /^cannot reach the container runtime at unix:\/\/.*stale\.sock within 500ms: .*is containerd running, or did it leave a stale socket\?$/));
});

test('a containerd with the CRI plugin disabled is told apart from one that is down', { timeout: 20_000 }, async () => {
  const socket = join(dir, 'nocri.sock');
  const config = join(dir, 'nocri.toml');
  writeFileSync(config, [
    'version = 2',
    `root = ${JSON.stringify(join(dir, 'nocri-root'))}`,
    `state = ${JSON.stringify(join(dir, 'nocri-state'))}`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = ${JSON.stringify(socket)}`,
    '[ttrpc]',
    `  address = ${JSON.stringify(`${socket}.ttrpc`)}`,
    '',
  ].join('\n'));
  const child = spawn('containerd', ['--config', config], { stdio: 'ignore' });
  children.push(child);
  await waitFor(socket, 10_000);
  await assert.rejects(connectRuntime(`unix://${socket}`),
    expectProblem('cri-disabled', /^containerd at unix:\/\/.*nocri\.sock does not serve CRI \(runtime\.v1\): enable the "cri" plugin \(remove it from disabled_plugins in config\.toml\)/));
});

test('a runtime whose network is not ready says which condition and why', { timeout: 15_000 }, async () => {
  const socket = join(dir, 'fake.sock');
  const proto = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'proto', 'runtime', 'v1', 'api.proto');
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(proto, { defaults: true })) as unknown as {
    runtime: { v1: { RuntimeService: { service: grpc.ServiceDefinition } } };
  };
  const server = new grpc.Server();
  servers.push(server);
  server.addService(pkg.runtime.v1.RuntimeService.service, {
    Version: (_call: unknown, cb: grpc.sendUnaryData<object>) =>
      cb(null, { version: '0.1.0', runtimeName: 'fake', runtimeVersion: '1', runtimeApiVersion: 'v1' }),
    Status: (_call: unknown, cb: grpc.sendUnaryData<object>) => cb(null, {
      status: {
        conditions: [
          { type: 'RuntimeReady', status: true },
          { type: 'NetworkReady', status: false, reason: 'NetworkPluginNotReady', message: 'cni plugin not initialized' },
        ],
      },
    }),
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));

  await assert.rejects(connectRuntime(`unix://${socket}`, { readyTimeoutMs: 300 }), expectProblem('not-ready',
    /^the container runtime at unix:\/\/.*fake\.sock is not ready: NetworkReady is false \(NetworkPluginNotReady: cni plugin not initialized\)$/));

  const rt = await connectRuntime(`unix://${socket}`, { requireNetworkReady: false });
  assert.equal((await rt.version()).runtimeName, 'fake');
  rt.close();
});
